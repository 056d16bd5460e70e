import { describe, expect, it } from 'vitest';
import { DomainError } from './domain-error';

class ExampleError extends DomainError<'EXAMPLE_ERR_BAD'> {}

describe('DomainError', () => {
  it('keeps code, cause, details and the subclass name', () => {
    const cause = new Error('root');
    const error = new ExampleError('EXAMPLE_ERR_BAD', 'bad thing', { cause, details: { field: 'x' } });
    expect(error.name).toBe('ExampleError');
    expect(error.code).toBe('EXAMPLE_ERR_BAD');
    expect(error.cause).toBe(cause);
    expect(error.details).toEqual({ field: 'x' });
    expect(DomainError.isInstance(error)).toBe(true);
    expect(DomainError.hasCodePrefix(error, 'EXAMPLE_ERR_')).toBe(true);
    expect(DomainError.hasCodePrefix(error, 'OTHER_')).toBe(false);
  });

  it('is recognised by its brand, not by instanceof or a code that looks right', () => {
    const lookalike = Object.assign(new Error('x'), { code: 'EXAMPLE_ERR_BAD' });
    expect(DomainError.isInstance(lookalike)).toBe(false);
    const branded = Object.create(null) as object;
    (branded as Record<symbol, boolean>)[Symbol.for('@kvforge.runtime.domain-error')] = true;
    expect(DomainError.isInstance(branded)).toBe(true);
  });
});
