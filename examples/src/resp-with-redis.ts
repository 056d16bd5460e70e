// @kvforge/resp against a real Redis over a plain TCP socket: commands encoded with RespWriter
// (pipelined, one write), replies decoded as they stream in, whatever the chunking.
import { connect, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { RespDecoder, RespErrorReply, type RespValue, RespWriter } from '@kvforge/resp';

export interface RespWithRedisOptions {
  host: string;
  port: number;
  /** Keys the example writes start with this. @default 'example:resp:' */
  keyPrefix?: string;
}

/** One decoded reply per command, in order; error replies come back as values, not exceptions. */
export type RespWithRedisResult = RespValue[];

export async function run(options: RespWithRedisOptions): Promise<RespWithRedisResult> {
  const prefix = options.keyPrefix ?? 'example:resp:';
  const commands = [
    ['DEL', `${prefix}greeting`, `${prefix}list`],
    ['SET', `${prefix}greeting`, 'hello 你好'],
    ['GET', `${prefix}greeting`],
    ['RPUSH', `${prefix}list`, 'a', Buffer.from('b'), 3], // strings, bytes and numbers are all arguments
    ['LRANGE', `${prefix}list`, 0, -1],
    ['INCR', `${prefix}greeting`], // not a number: Redis answers -ERR
  ];

  const writer = new RespWriter();
  for (const command of commands) writer.writeCommand(command);

  const socket = await open(options.host, options.port);
  try {
    const decoder = new RespDecoder({ bulkAsString: true });
    const replies: RespValue[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('close', () => reject(new Error('Redis closed the connection')));
      socket.on('data', (chunk) => {
        replies.push(...decoder.feed(chunk));
        if (replies.length === commands.length) resolve();
      });
      socket.write(writer.take()); // the whole pipeline in one write
    });
    return replies;
  } finally {
    socket.destroy();
  }
}

function open(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // tsx src/resp-with-redis.ts [host:port]   (or REDIS_ADDRESS=host:port)
  const address = process.argv[2] ?? process.env.REDIS_ADDRESS ?? '127.0.0.1:6379';
  const [host = '', port = ''] = address.split(':');
  for (const reply of await run({ host, port: Number(port) })) {
    console.log(reply instanceof RespErrorReply ? `(error) ${reply.message}` : reply);
  }
}
