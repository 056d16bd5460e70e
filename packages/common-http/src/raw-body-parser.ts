import type { FastifyInstance } from 'fastify';
import { AppError, COMMON_ERROR_CODES } from './app-error';

function looksLikeJson(text: string): boolean {
  const first = text.trimStart()[0];
  return first === '{' || first === '[';
}

/**
 * Replaces fastify's parsers with one catch-all, so `curl --data '{…}'` (sent as
 * application/x-www-form-urlencoded) and bodies with no content type work as the originals did.
 * JSON content types must hold valid JSON; other bodies become JSON when they parse as JSON,
 * else stay a string. An empty body is `undefined`.
 */
export function installRawBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text.length === 0) {
      done(null, undefined);
      return;
    }
    const declaredJson = (request.headers['content-type'] ?? '').includes('json');
    if (declaredJson || looksLikeJson(text)) {
      try {
        done(null, JSON.parse(text));
      } catch (error) {
        if (!declaredJson) {
          done(null, text);
          return;
        }
        const message = `invalid JSON body: ${(error as Error).message}`;
        done(
          new AppError({ code: COMMON_ERROR_CODES.BAD_JSON, statusCode: 400, message, cause: error }),
          undefined,
        );
      }
      return;
    }
    done(null, text);
  });
}
