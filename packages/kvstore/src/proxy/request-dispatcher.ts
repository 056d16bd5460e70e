import { encodeCommand, RequestScanner } from '@kvforge/resp';
import { COMMAND_KINDS, type CommandSpec, type CommandTable } from '../core/command-table';
import type { ClientConnection } from './client-connection';
import { type LocalContext, NOT_SUPPORTED, runLocalCommand } from './local-commands';
import type { ProxyRuntimeConfig } from './proxy-config';
import type { ProxyStats } from './proxy-stats';
import type { QpsLimiter } from './qps-limiter';
import { ReplySlot } from './reply-slot';
import type { RequestRouter } from './request-router';

const ERROR_QPS = Buffer.from('-ERR reach qps limit\r\n');
const ERROR_NOAUTH = Buffer.from('-NOAUTH Authentication required.\r\n');
const ERROR_NO_TABLE = Buffer.from('-ERR no bucket table\r\n');
const ASTERISK = 0x2a;
const NO_AUTH_NEEDED = new Set(['AUTH', 'HELLO', 'QUIT']);

/** What the dispatcher needs from the proxy that owns it. */
export interface DispatchHost {
  readonly now: number;
  readonly stats: ProxyStats;
  readonly config: ProxyRuntimeConfig;
  readonly commands: CommandTable;
  answer(client: ClientConnection, spec: CommandSpec, reply: Buffer, isError: boolean): void;
  push(client: ClientConnection, slot: ReplySlot): void;
  info(section: string): string;
}

/**
 * One scanned request → its checks (auth, arity, QPS limit, table present), then a local answer or
 * the router. Inline commands are re-encoded as multibulk first.
 */
export class RequestDispatcher {
  private readonly inlineScanner = new RequestScanner();
  /** Built once: local commands (PING, AUTH, INFO…) allocate no context per request. */
  private readonly local: LocalContext;

  constructor(
    private readonly host: DispatchHost,
    private readonly router: RequestRouter,
    private readonly limiter: QpsLimiter,
    password: string,
  ) {
    this.local = {
      password,
      info: (section) => host.info(section),
      commandCount: host.commands.commands.length - 1,
    };
  }

  dispatch(
    client: ClientConnection,
    buffer: Buffer,
    start: number,
    end: number,
    scanner: RequestScanner,
  ): void {
    if (buffer[start] !== ASTERISK) {
      this.dispatchInline(client, buffer, scanner);
      return;
    }
    const argc = scanner.argumentCount;
    const starts = scanner.argumentStarts;
    const ends = scanner.argumentEnds;
    const spec = this.host.commands.lookupBytes(buffer, starts[0]!, ends[0]!) ?? this.host.commands.unknown;
    if (!client.authenticated && !NO_AUTH_NEEDED.has(spec.name)) {
      this.host.answer(client, spec, ERROR_NOAUTH, true);
      return;
    }
    if (spec.kind === COMMAND_KINDS.UNSUPPORTED) {
      this.host.answer(client, spec, NOT_SUPPORTED, true);
      return;
    }
    if (spec.arity > 0 ? argc !== spec.arity : argc < -spec.arity) {
      this.host.answer(
        client,
        spec,
        Buffer.from(`-ERR wrong number of arguments for '${spec.name.toLowerCase()}' command\r\n`),
        true,
      );
      return;
    }
    if (!this.limiter.tryAcquire(this.host.now)) {
      this.host.stats.rejectedQps++;
      this.host.answer(client, spec, ERROR_QPS, true);
      return;
    }
    if (spec.kind === COMMAND_KINDS.LOCAL) {
      const args: Buffer[] = [];
      for (let index = 0; index < argc; index++) args.push(buffer.subarray(starts[index]!, ends[index]!));
      const local = runLocalCommand(spec.name, args, client, this.local);
      const slot = new ReplySlot(client, spec.id, this.host.now);
      slot.complete(local.reply, local.isError);
      slot.closeAfter = local.closeAfter === true;
      this.host.stats.record(spec.id, 0, this.host.config.slow_cmd_time * 1000, local.isError);
      this.host.push(client, slot);
      if (slot.closeAfter) client.closing = true;
      return;
    }
    const table = this.router.table;
    if (!table) {
      this.host.answer(client, spec, ERROR_NO_TABLE, true);
      return;
    }
    if (spec.kind === COMMAND_KINDS.SINGLE_KEY) {
      if (spec.oneKeyOnly && argc !== 2) {
        this.host.answer(client, spec, NOT_SUPPORTED, true);
        return;
      }
      this.router.routeSingle(client, spec, buffer, start, end, scanner, table);
      return;
    }
    if (spec.kind === COMMAND_KINDS.SPLIT) {
      if ((argc - 1) % spec.step !== 0) {
        this.host.answer(
          client,
          spec,
          Buffer.from(`-ERR wrong number of arguments for '${spec.name.toLowerCase()}' command\r\n`),
          true,
        );
        return;
      }
      this.router.routeSplit(client, spec, buffer, scanner);
      return;
    }
    this.router.routeBroadcast(client, spec);
  }

  /** An inline command (`PING\r\n`) is re-encoded as a multibulk and dispatched as one. */
  private dispatchInline(client: ClientConnection, buffer: Buffer, scanner: RequestScanner): void {
    const args: Buffer[] = [];
    for (let index = 0; index < scanner.argumentCount; index++) {
      args.push(buffer.subarray(scanner.argumentStarts[index]!, scanner.argumentEnds[index]!));
    }
    const encoded = encodeCommand(args);
    const inline = this.inlineScanner;
    const end = inline.scan(encoded, 0, encoded.length);
    if (end > 0) this.dispatch(client, encoded, 0, end, inline);
  }
}
