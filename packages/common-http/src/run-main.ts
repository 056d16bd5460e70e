import { CommandLineError } from './command-line';
import { ConfigError } from './config';

/**
 * Runs an app's async main: a bad flag or invalid config prints its message and exits 2 before
 * anything listens; any other startup failure exits 1.
 */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (error instanceof CommandLineError || error instanceof ConfigError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(
      `fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
