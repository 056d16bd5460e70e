// One HA meta service for ha-bench.mjs, from this package's build (no app build needed):
// node ha-meta-child.mjs RPC_PORT HTTP_PORT ETCD_ENDPOINT LEASE_SECONDS KEY
import { startMetaServiceServer } from '../dist/index.js';

const [rpcPort, httpPort, etcdEndpoint, leaseSeconds, key] = process.argv.slice(2);
const silent = { level: 'silent', fatal() {}, error() {}, warn() {}, info() {}, debug() {}, trace() {} };
silent.child = () => silent;
await startMetaServiceServer({
  rpcUrl: `tcp://127.0.0.1:${rpcPort}`,
  restUrl: `http://127.0.0.1:${httpPort}`,
  logger: silent,
  ha: { etcdEndpoints: [etcdEndpoint], leaseSeconds: Number(leaseSeconds), key },
});
