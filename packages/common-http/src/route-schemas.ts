import { z } from 'zod';

/** Routes that take no query parameters reject any, rather than ignore a misspelt one. */
export const NO_QUERY = z.strictObject({});

const isEmptyBody = (body: unknown): boolean =>
  body === undefined ||
  body === null ||
  (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0);

/** Routes that take no body accept none, `null` or `{}` (what clients send by default) and nothing else. */
export const NO_BODY = z.unknown().refine(isEmptyBody, 'this route takes no body');
