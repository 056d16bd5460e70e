import type { HostPort, Logger } from '@kvforge/runtime';
import { LeaseElection } from '../ha/lease-election';
import type { HaSnapshot } from '../http/memcache-rest-plugin';

/** `ock.mmc.meta.ha.*`: etcd endpoints and the lease TTL (the original's Lease duration). */
export interface MetaHaOptions {
  etcdEndpoints: readonly string[];
  /** @default 10 */
  leaseSeconds?: number;
  /** The etcd key of the leader (one per meta-service pair). */
  key?: string;
}

export function rpcUrlOf({ host, port }: HostPort): string {
  return `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The spec's snapshot of an election: serving → leader, standby with a leader → standby, else unknown. */
export function electionSnapshot(election: LeaseElection): HaSnapshot {
  const serving = election.isServing();
  const state = serving ? 'serving' : election.state === 'serving' ? 'starting' : election.state;
  const leader = election.leader;
  return {
    role: serving ? 'leader' : state === 'standby' && leader ? 'standby' : 'unknown',
    haState: state,
    leaderPresent: leader !== undefined,
    leaderAddress: leader?.restOrigin ?? 'unknown',
    viewVersion: election.viewVersion,
  };
}

export function startElection(
  ha: MetaHaOptions,
  self: { rpc: HostPort; restOrigin: string },
  logger: Logger,
  onLeadership: (leading: boolean) => void,
): LeaseElection {
  const election = new LeaseElection({
    endpoints: ha.etcdEndpoints,
    leaseSeconds: ha.leaseSeconds ?? 10,
    self: { rpcUrl: rpcUrlOf(self.rpc), restOrigin: self.restOrigin },
    ...(ha.key ? { key: ha.key } : {}),
    logger,
    onLeadership,
  });
  election.start();
  return election;
}
