import { RespWriter } from '@kvforge/resp';
import { REDIS_COMMAND_VERSION } from '../core/command-table.generated';
import type { ClientConnection } from './client-connection';

/** What the local commands need from the proxy. */
export interface LocalContext {
  password: string;
  info(section: string): string;
  commandCount: number;
}

export interface LocalReply {
  reply: Buffer;
  isError: boolean;
  closeAfter?: boolean;
}

const writer = new RespWriter();

function simple(text: string): LocalReply {
  writer.writeSimple(text);
  return { reply: writer.take(), isError: false };
}
function error(text: string): LocalReply {
  writer.writeError(text);
  return { reply: writer.take(), isError: true };
}
function bulk(value: Buffer | string): LocalReply {
  writer.writeBulk(value);
  return { reply: writer.take(), isError: false };
}
function integer(value: number): LocalReply {
  writer.writeInteger(value);
  return { reply: writer.take(), isError: false };
}

export const NOT_SUPPORTED = Buffer.from('-ERR command not support\r\n');

function wrongArguments(name: string): LocalReply {
  return error(`ERR wrong number of arguments for '${name.toLowerCase()}' command`);
}

// What redis-benchmark and other tools ask for; any other parameter gives an empty list.
const CONFIG_VALUES: Record<string, string> = {
  save: '',
  appendonly: 'no',
  databases: '1',
  'cluster-enabled': 'no',
  maxmemory: '0',
};

function authenticate(client: ClientConnection, context: LocalContext, password: Buffer): LocalReply {
  if (context.password.length === 0) {
    return error(
      'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
    );
  }
  if (password.toString() !== context.password) {
    return error('WRONGPASS invalid username-password pair or user is disabled.');
  }
  client.authenticated = true;
  return simple('OK');
}

function hello(client: ClientConnection, context: LocalContext, args: Buffer[]): LocalReply {
  let index = 1;
  let protocol = client.protocol;
  if (args.length > 1) {
    const version = args[1]!.toString();
    if (!/^\d+$/.test(version)) return error('ERR Protocol version is not an integer or out of range');
    if (version !== '2' && version !== '3')
      return error('NOPROTO sorry, this protocol version is not supported');
    protocol = version === '3' ? 3 : 2;
    index = 2;
  }
  while (index < args.length) {
    const option = args[index]!.toString().toUpperCase();
    if (option === 'AUTH' && index + 2 < args.length) {
      const result = authenticate(client, context, args[index + 2]!);
      if (result.isError) return result;
      index += 3;
    } else if (option === 'SETNAME' && index + 1 < args.length) {
      client.name = args[index + 1];
      index += 2;
    } else return error(`ERR Syntax error in HELLO option '${args[index]!.toString()}'`);
  }
  if (!client.authenticated)
    return error(
      'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
    );
  // The switch takes effect with this reply (a map in RESP3), as in Redis.
  client.protocol = protocol;
  const fields: [string, string | number][] = [
    ['server', 'redis'],
    ['version', REDIS_COMMAND_VERSION],
    ['proto', protocol],
    ['id', client.id],
    ['mode', 'standalone'],
    ['role', 'master'],
  ];
  if (protocol === 3) writer.writeMapHeader(fields.length + 1);
  else writer.writeArrayHeader(fields.length * 2 + 2);
  for (const [name, value] of fields) {
    writer.writeBulk(name);
    if (typeof value === 'number') writer.writeInteger(value);
    else writer.writeBulk(value);
  }
  writer.writeBulk('modules');
  writer.writeArrayHeader(0);
  return { reply: writer.take(), isError: false };
}

/** Answers a connection or introspection command without a backend. `args[0]` is the command name. */
export function runLocalCommand(
  name: string,
  args: Buffer[],
  client: ClientConnection,
  context: LocalContext,
): LocalReply {
  switch (name) {
    case 'PING':
      if (args.length > 2) return wrongArguments(name);
      return args.length === 2 ? bulk(args[1]!) : simple('PONG');
    case 'ECHO':
      return bulk(args[1]!);
    case 'QUIT':
      return { ...simple('OK'), closeAfter: true };
    case 'SELECT':
      return args[1]!.toString() === '0' ? simple('OK') : error('ERR DB index is out of range');
    case 'AUTH':
      if (args.length > 3) return error('ERR syntax error');
      return authenticate(client, context, args[args.length - 1]!);
    case 'HELLO':
      return hello(client, context, args);
    case 'CLIENT': {
      const sub = args[1]!.toString().toUpperCase();
      if (sub === 'SETNAME' && args.length === 3) {
        client.name = args[2];
        return simple('OK');
      }
      if (sub === 'GETNAME' && args.length === 2) {
        if (!client.name) {
          writer.writeNullBulk();
          return { reply: writer.take(), isError: false };
        }
        return bulk(client.name);
      }
      if (sub === 'SETINFO' && args.length === 4) return simple('OK');
      if (sub === 'ID' && args.length === 2) return integer(client.id);
      return { reply: NOT_SUPPORTED, isError: true };
    }
    case 'COMMAND': {
      const sub = args.length > 1 ? args[1]!.toString().toUpperCase() : '';
      if (sub === 'COUNT') return integer(context.commandCount);
      // Minimal: no command documentation (redis-cli only uses it for hints).
      if (sub === '' || sub === 'DOCS' || sub === 'INFO') {
        writer.writeArrayHeader(0);
        return { reply: writer.take(), isError: false };
      }
      return { reply: NOT_SUPPORTED, isError: true };
    }
    case 'CONFIG': {
      const sub = args[1]!.toString().toUpperCase();
      if (sub !== 'GET' || args.length < 3) return { reply: NOT_SUPPORTED, isError: true };
      const pairs: [string, string][] = [];
      for (const parameter of args.slice(2)) {
        const key = parameter.toString().toLowerCase();
        const value = CONFIG_VALUES[key];
        if (value !== undefined) pairs.push([key, value]);
      }
      writer.writeArrayHeader(pairs.length * 2);
      for (const [key, value] of pairs) {
        writer.writeBulk(key);
        writer.writeBulk(value);
      }
      return { reply: writer.take(), isError: false };
    }
    case 'INFO':
      return bulk(context.info(args.length > 1 ? args[1]!.toString().toLowerCase() : 'default'));
    default:
      return { reply: NOT_SUPPORTED, isError: true };
  }
}
