// Child process of the bench: parses `<dump.rdb>` in memory `<runs>` times with parseRdb (CRC
// verified) in a fresh process, so the bench's own heap does not slow it; prints one JSON line.
import { readFileSync } from 'node:fs';
import { parseRdb } from '../src/core/rdb/rdb-parser';

const [path, runsText] = process.argv.slice(2);
if (!path) throw new Error('usage: parse-child <dump.rdb> [runs]');
const rdb = readFileSync(path);
const times: number[] = [];
let events = 0;
for (let run = 0; run < Number(runsText ?? 3); run++) {
  const started = performance.now();
  events = parseRdb(rdb).length;
  times.push(performance.now() - started);
}
process.stdout.write(`${JSON.stringify({ bytes: rdb.length, events, times })}\n`);
