// The data bench's servers, one per process so the client never shares their event loop:
//   meta          MetaService + MetaRpcServer (prints its port)
//   local RANK META_PORT SHM   a local service with a 1 GiB DRAM segment (SHM=1: in a /dev/shm file)
//   raw           the peer: a bare TCP server with the same copies (payload into / out of one buffer)
import { createServer } from 'node:net';
import { MetaRpcServer, MetaService, startLocalService } from '../dist/index.js';

const [mode, ...args] = process.argv.slice(2);
const GiB = 1024 ** 3;

if (mode === 'meta') {
  const server = new MetaRpcServer({ service: new MetaService() });
  const { port } = await server.listen(0);
  process.stdout.write(`${port}\n`);
} else if (mode === 'local') {
  const [rank, metaPort, shm] = args;
  const local = await startLocalService({
    rank: Number(rank),
    metaUrl: `tcp://127.0.0.1:${metaPort}`,
    dramBytes: GiB,
    sharedMemory: shm === '1',
  });
  process.stdout.write(`${local.data.port}\n`);
  process.on('SIGTERM', () => local.close().then(() => process.exit(0)));
} else if (mode === 'raw') {
  // Request: u8 op (1 write, 2 read) | u32 length, then the payload for a write. Reply: 1 byte (write) or
  // the bytes (read). The payload is copied into / served from one preallocated buffer, like a segment.
  const memory = Buffer.alloc(128 * 1024 * 1024, 1);
  const server = createServer({ noDelay: true }, (socket) => {
    let header = Buffer.alloc(0);
    let remaining = 0;
    let offset = 0;
    socket.on('data', (chunk) => {
      let position = 0;
      while (position < chunk.length) {
        if (remaining > 0) {
          const count = Math.min(remaining, chunk.length - position);
          chunk.copy(memory, offset, position, position + count);
          offset += count;
          remaining -= count;
          position += count;
          if (remaining === 0) socket.write(Buffer.from([1]));
          continue;
        }
        const take = Math.min(5 - header.length, chunk.length - position);
        header = Buffer.concat([header, chunk.subarray(position, position + take)]);
        position += take;
        if (header.length < 5) break;
        const op = header[0];
        const length = header.readUInt32LE(1);
        header = Buffer.alloc(0);
        if (op === 1) {
          remaining = length;
          offset = 0;
        } else socket.write(memory.subarray(0, length));
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${server.address().port}\n`);
}
process.on('SIGTERM', () => process.exit(0));
