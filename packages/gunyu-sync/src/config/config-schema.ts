import { cpus } from 'node:os';
import { parse } from 'yaml';
import { z } from 'zod';
import { listenAddress, redisAddress } from './address';
import { parseDuration } from './duration';

const duration = (fallback: string) =>
  z
    .union([z.string(), z.number()])
    .refine(
      (value) => {
        try {
          parseDuration(value);
          return true;
        } catch {
          return false;
        }
      },
      { message: 'expected a Go duration such as "10ms", "5s", "12h"' },
    )
    .default(fallback);

const redisSchema = z.strictObject({
  addresses: z.array(redisAddress).min(1).describe('Redis node addresses, host:port (IPv6 as [addr]:port)'),
  userName: z.string().default('').describe('ACL user name (empty: none)'),
  password: z.string().default('').describe('password (masked in /syncer/config)'),
  tlsEnable: z.boolean().default(false).describe('connect with TLS (see tlsOptions)'),
  /** kvforge extension: TLS material for tlsEnable (PEM files); verification is on unless insecureSkipVerify. */
  tlsOptions: z
    .strictObject({
      caFile: z.string().optional().describe('PEM CA bundle (default: the system CAs) (kvforge)'),
      certFile: z.string().optional().describe('PEM client certificate, for tls-auth-clients (kvforge)'),
      keyFile: z.string().optional().describe('PEM key of certFile (kvforge)'),
      serverName: z.string().optional().describe('TLS SNI and name to verify (default: the host) (kvforge)'),
      insecureSkipVerify: z
        .boolean()
        .default(false)
        .describe('skip verifying the server certificate (kvforge)'),
    })
    .optional(),
  type: z
    .enum(['standalone', 'cluster'], {
      message: 'type must be standalone or cluster (sentinel is not implemented)',
    })
    .default('standalone')
    .describe('standalone, or cluster (addresses are seed nodes)'),
  keepAlive: z.number().int().min(0).default(32).describe('accepted, no effect (GunYu compatibility)'),
  aliveTime: duration('10m').describe('accepted, no effect (GunYu compatibility)'),
  clusterOptions: z
    .strictObject({
      handleMoveErr: z
        .boolean()
        .default(true)
        .describe('accepted, no effect (GunYu compatibility): MOVED is always followed'),
      handleAskErr: z
        .boolean()
        .default(true)
        .describe('accepted, no effect (GunYu compatibility): ASK is always followed'),
    })
    .optional(),
  version: z.string().optional().describe('accepted, no effect (GunYu compatibility)'),
});

const replaySchema = z
  .strictObject({
    resumeFromBreakPoint: z
      .boolean()
      .default(true)
      .describe('resume from the checkpoint in the target after a restart'),
    keyExists: z
      .enum(['replace', 'ignore', 'error'])
      .default('replace')
      .describe('an RDB key that already exists on the target: replace, ignore or error'),
    keyExistsLog: z.boolean().default(false).describe('log each RDB key that already exists on the target'),
    functionExists: z
      .enum(['', 'flush', 'replace'])
      .default('')
      .describe('RDB functions: FUNCTION LOAD as is, after FUNCTION FLUSH, or with REPLACE'),
    maxProtoBulkLen: z
      .number()
      .int()
      .positive()
      .default(512 * 1024 * 1024)
      .describe('a RESTORE payload above this many bytes is rebuilt with plain commands instead'),
    /** kvforge extension (not in GunYu): memory bound of one RDB value, see README. */
    maxBufferedValueBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .default(32 * 1024 * 1024)
      .describe('an RDB value above this many bytes streams in parts instead of being buffered (kvforge)'),
    targetDb: z
      .number()
      .int()
      .min(-1)
      .default(-1)
      .describe('replay every DB into this target DB (-1: same DB)'),
    // A flag or environment value is a string such as `{"0":1}` (YAML/JSON), the file gives a map.
    targetDbMap: z
      .preprocess(
        (value) => (typeof value === 'string' ? parse(value) : value),
        z.record(z.string().regex(/^\d+$/), z.number().int().min(0)),
      )
      .default({})
      .describe('source DB to target DB, e.g. {"0":1}'),
    batchCmdCount: z.number().int().min(1).max(200).default(100).describe('commands per batch (1..200)'),
    batchTicker: duration('10ms')
      .refine((value) => {
        const ms = parseDuration(value);
        return ms > 1 && ms <= 10_000;
      }, 'batchTicker must be in (1ms, 10s]')
      .describe('idle flush period of a pending batch (Go duration)'),
    batchBufferSize: z
      .number()
      .int()
      .positive()
      .max(100 * 1024 * 1024 - 1)
      .default(65535)
      .describe('bytes that flush a batch before batchCmdCount is reached'),
    keepaliveTicker: duration('3s').describe('accepted, no effect (GunYu compatibility)'),
    replayRdbParallel: z
      .number()
      .int()
      .min(1)
      .max(512)
      .default(Math.min(512, 4 * cpus().length))
      .describe('parallel RDB replay connections'),
    replayRdbEnableRestore: z
      .boolean()
      .default(true)
      .describe('replay RDB keys with RESTORE (false: DEL + RPUSH/SADD/HSET/ZADD in chunks)'),
    updateCheckpointTicker: duration('1s').describe('checkpoint write period without transactions'),
    replayTransaction: z
      .boolean()
      .default(true)
      .describe('write each batch and its checkpoint in one MULTI/EXEC'),
    replaceHashTag: z.boolean().default(false).describe('strip the {hash tag} from RDB keys on the target'),
    enableAofPipeline: z.boolean().default(false).describe('accepted, no effect (GunYu compatibility)'),
    stats: z
      .strictObject({
        disableLog: z.boolean().default(false).describe('accepted, no effect (GunYu compatibility)'),
        logInterval: duration('5s').describe('accepted, no effect (GunYu compatibility)'),
      })
      .default({ disableLog: false, logInterval: '5s' }),
  })
  .refine((replay) => !replay.resumeFromBreakPoint || replay.targetDb === -1, {
    message: 'output.replay.targetDb must be -1 when resumeFromBreakPoint is true',
    path: ['targetDb'],
  });

const filterSchema = z.strictObject({
  commandBlacklist: z.array(z.string()).default([]).describe('commands never replicated'),
  keyFilter: z
    .strictObject({
      prefixKeyBlacklist: z.array(z.string()).default([]).describe('key prefixes never replicated'),
      prefixKeyWhitelist: z.array(z.string()).default([]).describe('only keys with these prefixes'),
    })
    .default({ prefixKeyBlacklist: [], prefixKeyWhitelist: [] }),
  slotFilter: z
    .strictObject({
      keySlotBlacklist: z
        .array(z.array(z.number().int()))
        .default([])
        .describe('cluster slots never replicated, [from, to] or [slot] ranges'),
      keySlotWhitelist: z
        .array(z.array(z.number().int()))
        .default([])
        .describe('only keys in these cluster slots, [from, to] or [slot] ranges'),
    })
    .optional(),
  // Coerced: a flag or environment value arrives as a comma list of strings.
  dbBlacklist: z.array(z.coerce.number().int().min(0)).default([]).describe('source DBs never replicated'),
});

/** GunYu's YAML config (v1.0.x keys and defaults); unknown keys are errors. */
export const gunyuConfigSchema = z.strictObject({
  server: z
    .strictObject({
      listen: listenAddress
        .default('127.0.0.1:18001')
        .describe('ops HTTP API address (port 0 picks a free port)'),
      listenPeer: z.string().optional().describe('accepted, no effect (GunYu compatibility)'),
      metricRoutePath: z
        .string()
        .default('/prometheus')
        .transform((path) => (path.startsWith('/') ? path : `/${path}`))
        .describe('path of the Prometheus metrics'),
      checkRedisTypologyTicker: duration('10s').describe(
        'cluster sources: how often the topology is re-read',
      ),
      gracefullStopTimeout: duration('5s').describe('longest graceful stop (Go duration)'),
    })
    .default({
      listen: '127.0.0.1:18001',
      metricRoutePath: '/prometheus',
      checkRedisTypologyTicker: '10s',
      gracefullStopTimeout: '5s',
    }),
  input: z.strictObject({
    redis: redisSchema,
    rdbParallel: z.number().int().min(1).default(100).describe('accepted, no effect (GunYu compatibility)'),
    mode: z
      .enum(['dynamic', 'static', 'auto'])
      .default('dynamic')
      .describe('cluster source: static syncs from the seed nodes given, else the node syncFrom picks'),
    syncFrom: z
      .enum(['prefer_slave', 'master', 'slave'])
      .default('prefer_slave')
      .describe('cluster source: the node of each shard the sync reads'),
    syncDelayTestKey: z
      .string()
      .default('')
      .describe('key SET on the source every second to measure the delay'),
  }),
  output: z.strictObject({
    redis: redisSchema,
    replay: replaySchema.default(replaySchema.parse({})),
    filter: filterSchema.default(filterSchema.parse({})),
  }),
  channel: z
    .strictObject({
      storer: z
        .strictObject({
          dirPath: z
            .string()
            .optional()
            .describe('spool directory, one subdirectory per input (default: $TMPDIR/redis-gunyu)'),
          maxSize: z
            .number()
            .int()
            .default(50 * 1024 * 1024 * 1024)
            .describe('disk bytes of the spool, split evenly across the inputs (-1: unlimited)'),
          logSize: z
            .number()
            .int()
            .positive()
            .default(100 * 1024 * 1024)
            .describe('bytes of one spool segment file'),
          flushPolicy: z.unknown().optional().describe('accepted, no effect (GunYu compatibility)'),
        })
        .optional(),
      /** GunYu v1.13: `storer` (spill to disk beyond memory.maxSize) or `memory` (never spill). */
      type: z
        .enum(['storer', 'memory'])
        .default('storer')
        .describe('storer: spill to disk beyond memory.maxSize; memory: never spill'),
      memory: z
        .strictObject({
          maxSize: z
            .number()
            .int()
            .positive()
            .default(256 * 1024 * 1024)
            .describe('memory bytes of the spool of each input'),
          logSize: z
            .number()
            .int()
            .positive()
            .optional()
            .describe('accepted, no effect (GunYu compatibility)'),
        })
        .optional(),
      verifyCrc: z.boolean().default(false).describe('accepted, no effect (GunYu compatibility)'),
      staleCheckpointDuration: duration('12h')
        .refine((value) => parseDuration(value) >= 300_000, 'staleCheckpointDuration must be at least 5m')
        .describe('POST /storage/gc deletes checkpoints older than this (at least 5m)'),
    })
    .default({ type: 'storer', verifyCrc: false, staleCheckpointDuration: '12h' }),
  cluster: z
    .strictObject({
      groupName: z
        .string()
        .max(128)
        .default('')
        .describe(
          'HA group label: processes with the same source and target elect one leader per input through the fencing lease in the target (always on, with or without a group)',
        ),
      metaEtcd: z
        .unknown()
        .optional()
        .describe(
          'accepted, no effect (GunYu compatibility): the election uses the lease in the target, not etcd',
        ),
      leaseTimeout: duration('10s').describe(
        'fencing lease in the target: another syncer may take over after this',
      ),
      leaseRenewInterval: duration('3s').describe('how often the fencing lease is renewed'),
    })
    .optional(),
  log: z
    .strictObject({
      level: z
        .enum(['debug', 'info', 'warn', 'error', 'panic', 'fatal'])
        .default('info')
        .describe('log level'),
      handler: z
        .unknown()
        .optional()
        .describe('accepted, no effect (GunYu compatibility): logs go to stdout (pino)'),
      withCaller: z.boolean().default(false).describe('accepted, no effect (GunYu compatibility)'),
      withFunc: z.boolean().default(false).describe('accepted, no effect (GunYu compatibility)'),
      withModuleName: z.boolean().default(true).describe('accepted, no effect (GunYu compatibility)'),
    })
    .default({ level: 'info', withCaller: false, withFunc: false, withModuleName: true }),
});

export type GunyuConfig = z.infer<typeof gunyuConfigSchema>;
export type GunyuConfigInput = z.input<typeof gunyuConfigSchema>;

/** The effective config with passwords masked (GET /syncer/config). */
export function maskConfig(config: GunyuConfig): GunyuConfig {
  const copy = structuredClone(config);
  if (copy.input.redis.password) copy.input.redis.password = '******';
  if (copy.output.redis.password) copy.output.redis.password = '******';
  return copy;
}
