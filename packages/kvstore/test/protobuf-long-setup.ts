// vitest runs its workers with `--conditions import`, so protobufjs's require of the long package gets long's
// ESM namespace (no `isLong`) and protobufjs falls back to plain numbers for int64: etcd lease IDs
// (> 2^53) are then sent rounded and etcd answers NOT_FOUND on every keepalive. protobufjs takes
// `globalThis.Long` first, so it is set before any test imports etcd3. Plain node (the apps, the
// process fixtures) is not affected.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const fromEtcd = createRequire(createRequire(import.meta.url).resolve('etcd3'));
const fromProtobuf = createRequire(
  createRequire(fromEtcd.resolve('@grpc/proto-loader')).resolve('protobufjs'),
);
const long = (await import(pathToFileURL(fromProtobuf.resolve('long')).href)) as { default: unknown };
(globalThis as { Long?: unknown }).Long = long.default;
