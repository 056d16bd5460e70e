import { runMain } from '@kvforge/common-http';
import { runMemcacheCli } from '@kvforge/memcache-hybrid';

// The commands live in the package (runMemcacheCli); the binary only hands it argv and the terminal.
runMain(async () => {
  process.exitCode = await runMemcacheCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
  });
});
