const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const CARET = 0x5e;
const BACKSLASH = 0x5c;
const DASH = 0x2d;

/**
 * Redis's `stringmatchlen` (case-sensitive): `*`, `?`, `[abc]`, `[^a-z]`, `\x`, over raw bytes.
 * Iterative with one backtrack point for `*`, so a hostile pattern cannot blow the stack.
 */
export function globMatch(
  pattern: Uint8Array,
  subject: Uint8Array,
  start = 0,
  end = subject.length,
): boolean {
  let p = 0;
  let s = start;
  let starPattern = -1;
  let starSubject = -1;
  while (s < end) {
    if (p < pattern.length) {
      const token = pattern[p]!;
      if (token === STAR) {
        while (p < pattern.length && pattern[p] === STAR) p++;
        if (p === pattern.length) return true;
        starPattern = p;
        starSubject = s;
        continue;
      }
      const step = matchOne(pattern, p, subject[s]!);
      if (step > 0) {
        p += step;
        s++;
        continue;
      }
    }
    if (starPattern < 0) return false;
    p = starPattern;
    s = ++starSubject;
  }
  while (p < pattern.length && pattern[p] === STAR) p++;
  return p === pattern.length;
}

/** Pattern bytes consumed when `byte` matches the token at `p`; 0 when it does not. */
function matchOne(pattern: Uint8Array, p: number, byte: number): number {
  const token = pattern[p]!;
  if (token === QUESTION) return 1;
  if (token === BACKSLASH && p + 1 < pattern.length) return pattern[p + 1] === byte ? 2 : 0;
  if (token !== OPEN) return token === byte ? 1 : 0;
  let index = p + 1;
  const negate = pattern[index] === CARET;
  if (negate) index++;
  let matched = false;
  while (index < pattern.length && pattern[index] !== CLOSE) {
    if (pattern[index] === BACKSLASH && index + 1 < pattern.length) {
      if (pattern[index + 1] === byte) matched = true;
      index += 2;
    } else if (index + 2 < pattern.length && pattern[index + 1] === DASH && pattern[index + 2] !== CLOSE) {
      let low = pattern[index]!;
      let high = pattern[index + 2]!;
      if (low > high) [low, high] = [high, low];
      if (byte >= low && byte <= high) matched = true;
      index += 3;
    } else {
      if (pattern[index] === byte) matched = true;
      index++;
    }
  }
  // An unterminated class is taken to the end of the pattern, as Redis does.
  const consumed = (index < pattern.length ? index + 1 : index) - p;
  return matched !== negate ? consumed : 0;
}
