import { runMain } from '@kvforge/common-http';

// Placeholder until the data-plane work (issue 13) lands.
runMain(async () => {
  process.stderr.write('memcache-cli: not built yet\n');
  process.exitCode = 1;
});
