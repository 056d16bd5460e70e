import { isNewerIdentity, type Member, tableIdentity } from '../core/partition-table';
import { NodeMigration } from './node-migration';
import type { NodeStatus } from './node-options';

/**
 * Failure detection: a direct probe per peer and round, indirect probes through other members, table sync both ways.
 */
export abstract class NodeProbes extends NodeMigration {
  /** A direct probe, then indirect ones through other members; syncs tables both ways. */
  async probeMember(member: Member): Promise<void> {
    const state = this.health.get(member.nodeId) ?? {
      status: 'healthy' as NodeStatus,
      lastSeen: 0,
      responseTimeMs: 0,
      suspectSince: 0,
    };
    this.health.set(member.nodeId, state);
    const started = this.clock.now();
    try {
      const response = await this.peers.call(member.address, 'GET', '/internal/cluster/health', {
        timeoutMs: this.options.probeTimeoutMs,
      });
      const body = response.body as
        | { ring_version?: number; ring_coordinator?: string; ring_members?: string; node_id?: string }
        | undefined;
      if (response.statusCode !== 200 || body?.node_id !== member.nodeId) throw new Error('bad probe answer');
      state.status = 'healthy';
      state.lastSeen = this.clock.now();
      state.responseTimeMs = state.lastSeen - started;
      state.suspectSince = 0;
      const ours = tableIdentity(this.tableValue);
      const theirs = {
        version: body.ring_version ?? 0,
        coordinator: body.ring_coordinator ?? ours.coordinator,
        fingerprint: body.ring_members ?? ours.fingerprint,
      };
      const peerNewer = isNewerIdentity(theirs, ours);
      const peerOlder = isNewerIdentity(ours, theirs);
      if (peerNewer) await this.refreshTableFrom(member.address).catch(() => undefined);
      else if (peerOlder) {
        await this.peers
          .call(member.address, 'POST', '/internal/cluster/table', { body: this.tableValue })
          .catch(() => undefined);
      }
      return;
    } catch {
      // fall through to indirect probes
    }
    if (await this.indirectProbe(member)) {
      state.status = 'healthy';
      state.lastSeen = this.clock.now();
      state.suspectSince = 0;
      return;
    }
    if (state.status === 'healthy') {
      state.status = 'suspect';
      state.suspectSince = this.clock.now();
      this.options.logger.warn({ node: member.nodeId }, 'node suspect');
    } else if (this.clock.now() - state.suspectSince >= this.options.deadAfterMs) {
      state.status = 'unhealthy';
    }
  }

  protected async indirectProbe(member: Member): Promise<boolean> {
    const helpers = this.tableValue.members
      .filter(
        (other) =>
          other.nodeId !== this.nodeId &&
          other.nodeId !== member.nodeId &&
          this.health.get(other.nodeId)?.status === 'healthy',
      )
      .slice(0, this.options.indirectProbes);
    if (helpers.length === 0) return false;
    const answers = await Promise.allSettled(
      helpers.map((helper) =>
        this.peers.call(helper.address, 'POST', '/internal/cluster/probe', {
          body: { node_id: member.nodeId, address: member.address },
          timeoutMs: this.options.probeTimeoutMs * 2,
        }),
      ),
    );
    return answers.some(
      (answer) =>
        answer.status === 'fulfilled' && (answer.value.body as { reachable?: boolean })?.reachable === true,
    );
  }

  /** Answers an indirect probe request from a peer. */
  async probeFor(nodeId: string, address: string): Promise<boolean> {
    try {
      const response = await this.peers.call(address, 'GET', '/internal/cluster/health', {
        timeoutMs: this.options.probeTimeoutMs,
      });
      return response.statusCode === 200 && (response.body as { node_id?: string })?.node_id === nodeId;
    } catch {
      return false;
    }
  }
}
