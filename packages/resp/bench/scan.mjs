// Frames/s of the scanners and decoder vs redis-parser on the same bytes (run: pnpm -F @kvforge/resp bench).
// Builds first (turbo's bench task depends on build) and measures the built dist, like users get it.
import { mkdirSync, writeFileSync } from 'node:fs';
import RedisParser from 'redis-parser';
import { encodeCommand, ReplyScanner, RequestScanner, RespDecoder } from '../dist/index.js';

const RUNS = 5;
const RUN_MILLISECONDS = 250;

function pipelineOfSets(count) {
  const value = 'v'.repeat(64);
  return Buffer.concat(
    Array.from({ length: count }, (_, index) => encodeCommand(['SET', `key:${index}`, value])),
  );
}
function repliesMix(count) {
  const parts = [];
  for (let index = 0; index < count; index++) {
    parts.push(
      index % 3 === 0 ? '+OK\r\n' : index % 3 === 1 ? `:${index}\r\n` : `$64\r\n${'x'.repeat(64)}\r\n`,
    );
  }
  return Buffer.from(parts.join(''));
}
function nestedArrays(count) {
  const element = `*100\r\n${'$8\r\nelement!\r\n'.repeat(100)}`;
  return Buffer.from(element.repeat(count));
}
function bigBulks(count) {
  const header = Buffer.from(`$${1024 * 1024}\r\n`);
  const body = Buffer.alloc(1024 * 1024, 0x61);
  const crlf = Buffer.from('\r\n');
  return Buffer.concat(Array.from({ length: count }, () => [header, body, crlf]).flat());
}

const scenarios = [
  { name: 'pipeline of SET (requests)', bytes: pipelineOfSets(10_000), frames: 10_000, kind: 'request' },
  { name: '+OK / :n / $64 replies', bytes: repliesMix(30_000), frames: 30_000, kind: 'reply' },
  { name: '100-element arrays', bytes: nestedArrays(1_000), frames: 1_000, kind: 'reply' },
  { name: '1 MB bulk strings', bytes: bigBulks(32), frames: 32, kind: 'reply' },
];

function scanRequests(bytes) {
  const scanner = new RequestScanner();
  let frames = 0;
  for (let start = 0; start < bytes.length; frames++) start = scanner.scan(bytes, start, bytes.length);
  return frames;
}
function scanReplies(bytes) {
  const scanner = new ReplyScanner();
  let frames = 0;
  for (let start = 0; start < bytes.length; frames++) start = scanner.scan(bytes, start, bytes.length);
  return frames;
}
function decodeOurs(bytes) {
  return new RespDecoder().feed(bytes).length;
}
function decodeRedisParser(bytes) {
  let frames = 0;
  const parser = new RedisParser({
    returnReply: () => frames++,
    returnError: () => frames++,
    returnBuffers: true,
  });
  parser.execute(bytes);
  return frames;
}

function framesPerSecond(run, bytes, expectedFrames) {
  const results = [];
  for (let round = 0; round < RUNS; round++) {
    let frames = 0;
    const started = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < RUN_MILLISECONDS) {
      const counted = run(bytes);
      if (counted !== expectedFrames) throw new Error(`expected ${expectedFrames} frames, got ${counted}`);
      frames += counted;
      elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    }
    results.push((frames / elapsed) * 1000);
  }
  results.sort((left, right) => left - right);
  return results[Math.floor(results.length / 2)];
}

const rows = [];
for (const scenario of scenarios) {
  const scanner = scenario.kind === 'request' ? scanRequests : scanReplies;
  const scan = framesPerSecond(scanner, scenario.bytes, scenario.frames);
  const decode = framesPerSecond(decodeOurs, scenario.bytes, scenario.frames);
  const peer = framesPerSecond(decodeRedisParser, scenario.bytes, scenario.frames);
  rows.push({
    scenario: scenario.name,
    bytesPerFrame: Math.round(scenario.bytes.length / scenario.frames),
    scannerFramesPerSecond: Math.round(scan),
    decoderFramesPerSecond: Math.round(decode),
    redisParserFramesPerSecond: Math.round(peer),
    scannerVsRedisParser: Number((scan / peer).toFixed(2)),
    decoderVsRedisParser: Number((decode / peer).toFixed(2)),
    // Bulk payloads are skipped by their declared length, so MB/s of big bulks is not a memory bandwidth.
    scannerMegabytesPerSecond: Math.round((scan * scenario.bytes.length) / scenario.frames / 1e6),
    decoderMegabytesPerSecond: Math.round((decode * scenario.bytes.length) / scenario.frames / 1e6),
    redisParserMegabytesPerSecond: Math.round((peer * scenario.bytes.length) / scenario.frames / 1e6),
  });
}

const format = (value) => value.toLocaleString('en-US');
const table = [
  `RESP scanning, median of ${RUNS} runs of ${RUN_MILLISECONDS} ms, Node ${process.version}, frames/s and MB/s (higher is better)`,
  '',
  '| scenario | bytes/frame | scanner frames/s | decoder frames/s | redis-parser frames/s | scanner MB/s | decoder MB/s | redis-parser MB/s | scanner ÷ redis-parser | decoder ÷ redis-parser |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (row) =>
      `| ${row.scenario} | ${row.bytesPerFrame} | ${format(row.scannerFramesPerSecond)} | ${format(row.decoderFramesPerSecond)} | ${format(row.redisParserFramesPerSecond)} | ${format(row.scannerMegabytesPerSecond)} | ${format(row.decoderMegabytesPerSecond)} | ${format(row.redisParserMegabytesPerSecond)} | ${row.scannerVsRedisParser}× | ${row.decoderVsRedisParser}× |`,
  ),
].join('\n');
console.log(table);
const resultsDirectory = new URL('./results/', import.meta.url);
mkdirSync(resultsDirectory, { recursive: true });
writeFileSync(
  new URL('scan.json', resultsDirectory),
  `${JSON.stringify({ node: process.version, rows }, null, 2)}\n`,
);
writeFileSync(new URL('scan.md', resultsDirectory), `${table}\n`);
