import { createHttpServer } from '@kvforge/common-http';
import Fastify from 'fastify';

// The peer: a route answering a constant of the same shape as a dcache GET hit, either on bare
// fastify or on the repo's createHttpServer (to separate the factory's cost from dcache's own).
const port = Number(process.argv[2]);
const app = process.argv[3] === 'common-http' ? createHttpServer() : Fastify({ logger: false });
const body = { key: 'user:1001', value: 'value-of-some-length-0000000000', found: true, node_id: 'bare' };
app.get('/api/v1/cache/*', async () => body);
await app.listen({ host: '127.0.0.1', port });
