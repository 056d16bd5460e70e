/**
 * The answer of `POST /internal/batch/reads`: several forwarded GETs in one response, each kept as
 * the exact client body its owner rendered, so the forwarder passes slices through untouched.
 *
 *   `<status>:<byteLength>,<status>:<byteLength>…\n<body><body>…`
 *
 * One entry per requested key, in order. A status other than 200/404 (421: not a holder under the
 * owner's table) has an empty body and tells the forwarder to take the single-key path for that key.
 */
export function encodeReadFrame(statuses: readonly number[], bodies: readonly string[]): string {
  let head = '';
  for (let index = 0; index < statuses.length; index++) {
    if (index > 0) head += ',';
    head += `${statuses[index]}:${Buffer.byteLength(bodies[index] ?? '')}`;
  }
  return `${head}\n${bodies.join('')}`;
}

export interface ReadFrameEntry {
  statusCode: number;
  body: Buffer;
}

const NEWLINE = 0x0a;
const COMMA = 0x2c;
const COLON = 0x3a;
const ZERO = 0x30;

/** The entries of a frame, bodies as subarrays of `frame` (no copy); undefined when malformed. */
export function decodeReadFrame(frame: Buffer, expected: number): ReadFrameEntry[] | undefined {
  const entries: ReadFrameEntry[] = [];
  const end = frame.indexOf(NEWLINE);
  if (end < 0) return undefined;
  let offset = end + 1;
  let position = 0;
  while (position < end) {
    const status = readNumber(frame, position, end, COLON);
    if (status === undefined) return undefined;
    const length = readNumber(frame, status.next + 1, end, COMMA);
    if (length === undefined || offset + length.value > frame.length) return undefined;
    entries.push({ statusCode: status.value, body: frame.subarray(offset, offset + length.value) });
    offset += length.value;
    position = length.next + 1;
  }
  return entries.length === expected && offset === frame.length ? entries : undefined;
}

/** Decimal digits from `start` up to `stop` (or `end`); undefined unless at least one digit and only digits. */
function readNumber(
  frame: Buffer,
  start: number,
  end: number,
  stop: number,
): { value: number; next: number } | undefined {
  let value = 0;
  let position = start;
  for (; position < end && frame[position] !== stop; position++) {
    const digit = (frame[position] as number) - ZERO;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  if (position === start || (stop === COLON && position === end)) return undefined;
  return { value, next: position };
}
