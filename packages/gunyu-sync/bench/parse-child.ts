// Child process of the bench: RDB parse throughput of `<dump.rdb>` in a fresh process, so the bench's
// own heap does not slow it; prints one JSON line.
// Streaming first (parseRdb leaves ~1M promoted objects for the GC to clean up afterwards).
// - parseRdb(whole file): the goal's number; it keeps every event (1M keys → 1M entries with copied
//   key and value buffers) until the end, so GC of those objects is a large part of it;
// - RdbParser.push in 64 KiB chunks, events dropped after each chunk: what the syncer's full sync does.
import { readFileSync } from 'node:fs';
import { parseRdb, type RdbEvent, RdbParser } from '../src/core/rdb/rdb-parser';

const CHUNK = 64 * 1024;
const [path, runsText] = process.argv.slice(2);
if (!path) throw new Error('usage: parse-child <dump.rdb> [runs]');
const rdb = readFileSync(path);
const runs = Number(runsText ?? 3);
const times: number[] = [];
const streamTimes: number[] = [];
let events = 0;
for (let run = 0; run < runs; run++) {
  const started = performance.now();
  const parser = new RdbParser();
  const batch: RdbEvent[] = [];
  for (let offset = 0; offset < rdb.length && !parser.done; offset += CHUNK) {
    parser.push(rdb.subarray(offset, offset + CHUNK), batch);
    batch.length = 0;
  }
  if (!parser.done) throw new Error('streamed RDB did not end');
  streamTimes.push(performance.now() - started);
}
for (let run = 0; run < runs; run++) {
  const started = performance.now();
  events = parseRdb(rdb).length;
  times.push(performance.now() - started);
}
process.stdout.write(`${JSON.stringify({ bytes: rdb.length, events, times, streamTimes })}\n`);
