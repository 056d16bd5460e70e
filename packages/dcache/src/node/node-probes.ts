import { ANSWERS, decodeAnswer, INTERNAL_PATHS } from '../core/internal-api';
import { isNewerIdentity, type Member, tableIdentity } from '../core/partition-table';
import { NodeRepair } from './node-repair';

/**
 * Failure detection: a direct probe per peer and round, indirect probes through other members, table sync both ways.
 */
export abstract class NodeProbes extends NodeRepair {
  /** A direct probe, then indirect ones through other members; syncs tables both ways. */
  async probeMember(member: Member): Promise<void> {
    const started = this.clock.now();
    try {
      const response = await this.peers.call(member.address, 'GET', INTERNAL_PATHS.health, {
        timeoutMs: this.options.probeTimeoutMs,
      });
      const body = decodeAnswer(ANSWERS.health, response, member.nodeId);
      if (response.statusCode !== 200 || body.node_id !== member.nodeId) throw new Error('bad probe answer');
      this.detector.reachable(member.nodeId, this.clock.now() - started);
      const ours = tableIdentity(this.tableValue);
      const theirs = {
        version: body.ring_version,
        coordinator: body.ring_coordinator ?? ours.coordinator,
        fingerprint: body.ring_members ?? ours.fingerprint,
      };
      const peerNewer = isNewerIdentity(theirs, ours);
      const peerOlder = isNewerIdentity(ours, theirs);
      if (peerNewer) await this.refreshTableFrom(member.address).catch(() => undefined);
      else if (peerOlder) {
        await this.peers
          .call(member.address, 'POST', INTERNAL_PATHS.table, { body: this.tableValue })
          .catch(() => undefined);
      }
      return;
    } catch {
      // fall through to indirect probes
    }
    if (await this.indirectProbe(member)) this.detector.reachable(member.nodeId);
    else this.detector.unreachable(member.nodeId);
  }

  protected async indirectProbe(member: Member): Promise<boolean> {
    const helpers = this.tableValue.members
      .filter(
        (other) =>
          other.nodeId !== this.nodeId &&
          other.nodeId !== member.nodeId &&
          this.detector.isHealthy(other.nodeId),
      )
      .slice(0, this.options.indirectProbes);
    if (helpers.length === 0) return false;
    const answers = await Promise.allSettled(
      helpers.map((helper) =>
        this.peers.call(helper.address, 'POST', INTERNAL_PATHS.probe, {
          body: { node_id: member.nodeId, address: member.address },
          timeoutMs: this.options.probeTimeoutMs * 2,
        }),
      ),
    );
    return answers.some(
      (answer) =>
        answer.status === 'fulfilled' && ANSWERS.probe.safeParse(answer.value.body).data?.reachable === true,
    );
  }

  /** Answers an indirect probe request from a peer. */
  async probeFor(nodeId: string, address: string): Promise<boolean> {
    try {
      const response = await this.peers.call(address, 'GET', INTERNAL_PATHS.health, {
        timeoutMs: this.options.probeTimeoutMs,
      });
      return response.statusCode === 200 && ANSWERS.health.safeParse(response.body).data?.node_id === nodeId;
    } catch {
      return false;
    }
  }
}
