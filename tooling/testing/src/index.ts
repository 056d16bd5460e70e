export { type CompareDatasetsOptions, compareRedisDatasets, type DatasetComparison } from './dataset-digest';
export { type EtcdProcess, startEtcd } from './etcd';
export { type NutcrackerProcess, type StartNutcrackerOptions, startNutcracker } from './nutcracker';
export { getFreePort } from './ports';
export { type ManagedProcess, type ReadyCondition, type StartProcessOptions, startProcess } from './process';
export { type RedisClusterProcess, type StartRedisClusterOptions, startRedisCluster } from './redis-cluster';
export { type RedisProcess, type StartRedisOptions, startRedis } from './redis-server';
export { makeTempDirectory, removeDirectory } from './temp-directory';
export { type WaitForOptions, waitFor } from './wait-for';
