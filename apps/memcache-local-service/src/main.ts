import { runMain } from '@kvforge/common-http';

// Placeholder until the data-plane work (issue 13) lands.
runMain(async () => {
  process.stderr.write('memcache-local-service: not built yet\n');
  process.exitCode = 1;
});
