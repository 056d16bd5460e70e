import { isValidAddress } from '../core/address';
import { replaceServer, scaleDownTable } from '../core/bucket-table';
import { KVSTORE_ERROR_CODES, KvstoreError } from '../core/errors';
import type { ConfigServer } from './config-server';

/**
 * The ConfigServer's failover decision: down votes per namespace and address, and the action once
 * every online proxy agrees. data_store failovers promote the replica before the table naming it
 * is published.
 */
export class FailoverVotes {
  /** namespace → down address → proxy → the replica that proxy saw (for data_store failover). */
  private readonly downVotes = new Map<string, Map<string, Map<string, string>>>();
  /** `namespace/address` of failovers whose promotion is in flight (a repeated vote does not start a second). */
  private readonly failing = new Set<string>();

  constructor(
    private readonly server: ConfigServer,
    private readonly promoteReplica: (address: string) => Promise<void>,
  ) {}

  /**
   * A proxy's view of one backend. The table changes (when `support_ha` is on) only once **every**
   * ONLINE proxy of the namespace reports the same address down — one partitioned proxy cannot
   * trigger a failover (the original's rule). data_store: the master is replaced by the replica the
   * proxies reported; cache: the master is removed and its buckets dealt to the others.
   * Returns the action taken, if any.
   */
  async report(
    namespace: string,
    proxy: string,
    address: string,
    state: 'down' | 'up',
    replicaAddress = '',
  ): Promise<'none' | 'replaced' | 'removed'> {
    const table = this.server.getTable(namespace);
    let byAddress = this.downVotes.get(namespace);
    if (!byAddress) {
      byAddress = new Map();
      this.downVotes.set(namespace, byAddress);
    }
    let voters = byAddress.get(address);
    if (state === 'up') {
      voters?.delete(proxy);
      return 'none';
    }
    if (!voters) {
      voters = new Map();
      byAddress.set(address, voters);
    }
    voters.set(proxy, replicaAddress);
    if (!this.server.supportHa || !table.owners.includes(address)) return 'none';
    const online = this.server.proxyInfo(namespace).filter((info) => info.state !== 'OFFLINE');
    if (online.length === 0 || !online.every((info) => voters.has(info.info))) return 'none';
    if (table.clusterType === 'cache') {
      byAddress.delete(address);
      await this.server.updateTable(namespace, (current) => scaleDownTable(current, address));
      return 'removed';
    }
    const replica = [...voters.values()].find((candidate) => isValidAddress(candidate));
    const failoverKey = `${namespace}/${address}`;
    if (!replica || this.failing.has(failoverKey)) return 'none';
    this.failing.add(failoverKey);
    try {
      // Promote first, publish second: the table naming the replica goes out only once it is a master.
      // A failed promotion keeps the votes, so the next report (or a retry) tries again.
      try {
        await this.promoteReplica(replica);
      } catch (error) {
        throw new KvstoreError(
          KVSTORE_ERROR_CODES.REPLACE_FAILED,
          `cannot promote ${replica}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      byAddress.delete(address);
      await this.server.updateTable(namespace, (current) =>
        current.owners.includes(address) ? replaceServer(current, address, replica) : current,
      );
    } finally {
      this.failing.delete(failoverKey);
    }
    return 'replaced';
  }
}
