import fastifySwagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { createJsonSchemaTransform } from 'fastify-type-provider-zod';
import { trackRoutes } from './route-coverage';

export interface ApiDocsOptions {
  /** Document title. @default 'kvforge service' */
  title?: string;
  /** @default '0.0.0' */
  version?: string;
  description?: string;
  /** Where the UI is served; the document is at `<prefix>/json` and `<prefix>/yaml`. @default '/docs' */
  routePrefix?: string;
}

export const DEFAULT_API_DOCS_OPTIONS = {
  title: 'kvforge service',
  version: '0.0.0',
  routePrefix: '/docs',
} as const;

// `unrepresentable: 'any'`: a refine/transform in a route schema documents as `{}` instead of
// making the whole document fail.
const zodTransform = createJsonSchemaTransform({ skipList: [], zodToJsonConfig: { unrepresentable: 'any' } });

type TransformInput = Parameters<typeof zodTransform>[0];

/**
 * Routes whose schemas are plain JSON schema (hot routes compiled by fast-json-stringify) make
 * the zod transform throw: those keep their schema as written, so every route stays documented.
 */
function transform(input: TransformInput) {
  try {
    return zodTransform(input);
  } catch {
    return { schema: input.schema, url: input.url };
  }
}

/**
 * OpenAPI document at `<prefix>/json` and Swagger UI at `<prefix>`. The swagger core is applied
 * to the root synchronously (not through `register`), so its onRoute hook already sees routes
 * the caller adds right after createHttpServer returns — no `await` needed in any app.
 */
export function installApiDocs(app: FastifyInstance, options: ApiDocsOptions = {}): void {
  const resolved = { ...DEFAULT_API_DOCS_OPTIONS, ...options };
  trackRoutes(app);
  const core = fastifySwagger as unknown as (
    instance: FastifyInstance,
    opts: object,
    done: (error?: Error) => void,
  ) => void;
  core(
    app,
    {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: resolved.title,
          version: resolved.version,
          ...(resolved.description ? { description: resolved.description } : {}),
        },
      },
      transform,
    },
    (error) => {
      if (error) throw error;
    },
  );
  // Called from an encapsulated plugin of ours: the UI needs only the root's `swagger` decorator,
  // and fastify-plugin's dependency check cannot see a core applied without `register`.
  const ui = swaggerUi as unknown as (instance: FastifyInstance, opts: object) => Promise<void>;
  void app.register(async (child) => ui(child, { routePrefix: resolved.routePrefix }));
}
