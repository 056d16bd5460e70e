import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { RequestScanner } from '@kvforge/resp';
import { sleep } from '@kvforge/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { ReplicaClient, type ReplicaListener } from './replica-client';

// An in-process fake master (unit test only): answers the handshake, then plays a scripted transfer.
interface FakeMaster {
  server: Server;
  port: number;
  received: string[];
  socket: Promise<Socket>;
}

async function fakeMaster(script: (socket: Socket) => void): Promise<FakeMaster> {
  const received: string[] = [];
  let resolveSocket: (socket: Socket) => void = () => {};
  const socketPromise = new Promise<Socket>((resolve) => {
    resolveSocket = resolve;
  });
  const server = createServer((socket) => {
    resolveSocket(socket);
    socket.on('data', (chunk) => {
      const text = chunk.toString('latin1');
      received.push(text);
      if (text.includes('PSYNC')) script(socket);
      else if (text.includes('REPLCONF') && !text.includes('ACK')) socket.write('+OK\r\n');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : 0,
    received,
    socket: socketPromise,
  };
}

function recorder() {
  const events: string[] = [];
  const rdb: Buffer[] = [];
  const commands: string[] = [];
  const listener: ReplicaListener = {
    onFullResync: (id, offset) => events.push(`full ${id} ${offset}`),
    onContinue: (id, offset) => events.push(`continue ${id} ${offset}`),
    onRdbData: (chunk) => rdb.push(Buffer.from(chunk)),
    onRdbEnd: () => events.push('rdb-end'),
    onCommand: (buffer: Buffer, start: number, end: number, _scanner: RequestScanner, offset: number) => {
      commands.push(`${buffer.toString('latin1', start, end).replaceAll('\r\n', ' ').trim()}@${offset}`);
    },
    onClose: () => events.push('closed'),
  };
  return { events, rdb, commands, listener };
}

const masters: FakeMaster[] = [];
const clients: ReplicaClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.stop();
  for (const master of masters.splice(0)) master.server.close();
});

const REPLID = 'a'.repeat(40);
const MARK = `${'M'.repeat(39)}Z`;
// Spaces the fake master's writes so they tend to arrive as separate reads; the assertions hold
// however TCP coalesces them (a split is exercised, never relied on to pass).
const wait = () => sleep(20);

describe('ReplicaClient', () => {
  it('skips \\n keep-alives, reads a diskless RDB whose EOF mark is split across writes, then the stream', async () => {
    const payload = Buffer.from(`REDIS0010${'x'.repeat(100)}${MARK.slice(0, 30)}`);
    const master = await fakeMaster(async (socket) => {
      socket.write('\n\n');
      await wait();
      socket.write(`\n+FULLRESYNC ${REPLID} 100\r\n\n$EOF:${MARK}\r\n`);
      await wait();
      socket.write(payload.subarray(0, 50));
      await wait();
      socket.write(Buffer.concat([payload.subarray(50), Buffer.from(MARK.slice(0, 17))]));
      await wait();
      socket.write(MARK.slice(17));
      await wait();
      socket.write('*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n');
    });
    masters.push(master);
    const { events, rdb, commands, listener } = recorder();
    const client = new ReplicaClient({ host: '127.0.0.1', port: master.port }, listener, {
      listeningPort: 1234,
    });
    clients.push(client);
    expect(await client.start('?', -1)).toBe('full');
    await expect.poll(() => commands.length).toBe(2);
    expect(events).toEqual([`full ${REPLID} 100`, 'rdb-end']);
    expect(Buffer.concat(rdb).equals(payload)).toBe(true);
    expect(commands).toEqual(['*1 $4 PING@114', '*3 $3 SET $1 a $1 b@141']);
    expect(master.received.join('')).toContain('capa\r\n$3\r\neof');
    expect(master.received.join('')).toContain('$14\r\nlistening-port\r\n$4\r\n1234');
    // The first ACK (which starts a diskless stream) was sent right after the RDB.
    expect(master.received.join('')).toContain('$3\r\nACK\r\n$3\r\n100');
  });

  it('reads a disk-based $<len> RDB with the stream in the same write, and answers GETACK', async () => {
    const rdbBytes = Buffer.from('REDIS0010abcdef');
    const getack = '*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n';
    const master = await fakeMaster((socket) => {
      socket.write(
        Buffer.concat([
          Buffer.from(`+FULLRESYNC ${REPLID} 7\r\n$${rdbBytes.length}\r\n`),
          rdbBytes,
          Buffer.from(getack),
        ]),
      );
    });
    masters.push(master);
    const { rdb, commands, listener } = recorder();
    const client = new ReplicaClient({ host: '127.0.0.1', port: master.port }, listener, { capaEof: false });
    clients.push(client);
    expect(await client.start('?', -1)).toBe('full');
    await expect.poll(() => commands.length).toBe(1);
    expect(Buffer.concat(rdb).equals(rdbBytes)).toBe(true);
    expect(master.received.join('')).not.toContain('eof');
    await expect.poll(() => master.received.join('')).toContain(`ACK\r\n$2\r\n${7 + getack.length}`);
  });

  it('resumes with +CONTINUE at the checkpoint offset', async () => {
    const master = await fakeMaster((socket) => {
      socket.write(`+CONTINUE ${REPLID}\r\n*1\r\n$4\r\nPING\r\n`);
    });
    masters.push(master);
    const { events, commands, listener } = recorder();
    const client = new ReplicaClient({ host: '127.0.0.1', port: master.port }, listener);
    clients.push(client);
    expect(await client.start(REPLID, 501)).toBe('continue');
    await expect.poll(() => commands.length).toBe(1);
    expect(events[0]).toBe(`continue ${REPLID} 500`);
    expect(commands[0]).toBe('*1 $4 PING@514');
    expect(master.received.join('')).toContain(`PSYNC\r\n$40\r\n${REPLID}\r\n$3\r\n501`);
  });

  it('rejects start() after stop() instead of waiting for a reply that cannot come', async () => {
    const master = await fakeMaster(() => {});
    masters.push(master);
    const client = new ReplicaClient({ host: '127.0.0.1', port: master.port }, recorder().listener);
    clients.push(client);
    client.stop(); // e.g. a pause that lands between two handshake steps
    await expect(client.start('?', -1)).rejects.toThrow(/closed/);
  });
});
