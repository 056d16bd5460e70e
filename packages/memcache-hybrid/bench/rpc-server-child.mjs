// The benchmark's servers in their own process (the client must not share their event loop): the meta RPC
// server, and its peer — a server with the same framing that answers every frame with an empty reply.
import { createServer } from 'node:net';
import { encodeFrame, FrameReader, MEDIUM, MetaRpcServer, MetaService } from '../dist/index.js';

const service = new MetaService();
service.mount(0, MEDIUM.DRAM, 1024 ** 4);
const server = new MetaRpcServer({ service });
const { port } = await server.listen(0);

const echo = createServer({ noDelay: true }, (socket) => {
  const reader = new FrameReader();
  const reply = (requestId, opcode) => socket.write(encodeFrame(requestId, opcode, [0]));
  socket.on('data', (chunk) => {
    // Same write side as MetaRpcServer: corked for the read, one writev.
    socket.cork();
    reader.push(chunk, reply);
    socket.uncork();
  });
  socket.on('error', () => undefined);
});
await new Promise((resolve) => echo.listen(0, '127.0.0.1', resolve));

process.stdout.write(`${port} ${echo.address().port}\n`);
process.on('SIGTERM', () => process.exit(0));
