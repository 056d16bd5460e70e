import { describe, expect, it } from 'vitest';
import { globMatch } from './glob-match';
import { KeyRewriter } from './key-rewrite';

const match = (pattern: string, subject: string) => globMatch(Buffer.from(pattern), Buffer.from(subject));

describe('globMatch', () => {
  it.each([
    ['*', 'anything', true],
    ['ABC*', 'ABCdef', true],
    ['ABC*', 'xABC', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['h[ae]llo', 'hello', true],
    ['h[ae]llo', 'hillo', false],
    ['h[^e]llo', 'hallo', true],
    ['h[^e]llo', 'hello', false],
    ['h[a-b]llo', 'hbllo', true],
    ['h[a-b]llo', 'hcllo', false],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['*a*b*c*', 'xxaxxbxxcxx', true],
    ['*a*b*c*', 'xxaxxcxxbxx', false],
    ['user:*:name', 'user:42:name', true],
    ['', '', true],
    ['', 'a', false],
  ])('%s vs %s → %s', (pattern, subject, expected) => {
    expect(match(pattern, subject)).toBe(expected);
  });

  it('matches a slice of a larger buffer', () => {
    const buffer = Buffer.from('$5\r\nABCde\r\n');
    expect(globMatch(Buffer.from('ABC*'), buffer, 4, 9)).toBe(true);
    expect(globMatch(Buffer.from('*e'), buffer, 4, 9)).toBe(true);
    expect(globMatch(Buffer.from('*\r'), buffer, 4, 9)).toBe(false);
  });

  it('does not explode on many stars', () => {
    expect(match('*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(5000))).toBe(false);
  });
});

describe('KeyRewriter', () => {
  it('replaces matching keys by their SHA1 and leaves others alone', () => {
    const rewriter = new KeyRewriter();
    expect(rewriter.add('ABC*')).toBe(true);
    expect(rewriter.add('ABC*')).toBe(false);
    const key = Buffer.from('ABC123');
    // sha1sum of "ABC123"
    expect(rewriter.rewrite(key, 0, key.length)?.toString()).toBe('61768db8d1a38f1c16d3e6eea812ef423c739068');
    expect(rewriter.rewrite(Buffer.from('XYZ'), 0, 3)).toBeUndefined();
    expect(rewriter.delete('ABC*')).toBe(true);
    expect(rewriter.delete('ABC*')).toBe(false);
    expect(rewriter.rewrite(key, 0, key.length)).toBeUndefined();
  });
});
