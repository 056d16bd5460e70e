import type { Clock, Logger } from '@kvforge/runtime';
import type { Member } from '../core/partition-table';
import type { MemberHealth } from './node-options';

/**
 * The health of every other member, driven by probe outcomes on an injected clock: a failed
 * direct and indirect probe makes a healthy node `suspect`; still failing `deadAfterMs` later it is
 * `unhealthy` (the coordinator removes it). Any answer makes it healthy again. Nodes that were
 * declared dead and then removed stay known as dead, so migration skips them at once instead of
 * waiting for a request timeout against a paused or vanished process.
 */
export class FailureDetector {
  readonly health = new Map<string, MemberHealth>();
  private readonly removedDead = new Set<string>();

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    private readonly deadAfterMs: number,
    private readonly logger: Logger,
  ) {}

  stateOf(nodeId: string): MemberHealth {
    let state = this.health.get(nodeId);
    if (state === undefined) {
      state = { status: 'healthy', lastSeen: 0, responseTimeMs: 0, suspectSince: 0 };
      this.health.set(nodeId, state);
    }
    return state;
  }

  /** The node answered (directly when `responseTimeMs` is given, else through a helper). */
  reachable(nodeId: string, responseTimeMs?: number): void {
    const state = this.stateOf(nodeId);
    state.status = 'healthy';
    state.lastSeen = this.clock.now();
    if (responseTimeMs !== undefined) state.responseTimeMs = responseTimeMs;
    state.suspectSince = 0;
    this.removedDead.delete(nodeId);
  }

  /** Neither the direct nor the indirect probes reached the node this round. */
  unreachable(nodeId: string): void {
    const state = this.stateOf(nodeId);
    if (state.status === 'healthy') {
      state.status = 'suspect';
      state.suspectSince = this.clock.now();
      this.logger.warn({ node: nodeId }, 'node suspect');
    } else if (this.clock.now() - state.suspectSince >= this.deadAfterMs) {
      state.status = 'unhealthy';
    }
  }

  /** A node another member vouches for right now (it just joined through us). */
  joined(nodeId: string): void {
    this.reachable(nodeId, 0);
  }

  /** Tracks exactly `members` (besides `self`); removed nodes that were dead are remembered as dead. */
  track(members: readonly Member[], self: string): void {
    for (const member of members) {
      if (member.nodeId === self) continue;
      this.stateOf(member.nodeId);
      // Back in the table (a rejoin, a merge): it is a member to probe and to pull from again.
      this.removedDead.delete(member.nodeId);
    }
    for (const [nodeId, state] of [...this.health]) {
      if (members.some((member) => member.nodeId === nodeId)) continue;
      if (state.status !== 'healthy') this.removedDead.add(nodeId);
      this.health.delete(nodeId);
    }
  }

  isDead(nodeId: string): boolean {
    return this.health.get(nodeId)?.status === 'unhealthy' || this.removedDead.has(nodeId);
  }

  /** Not suspect or dead: may coordinate, may help with indirect probes. */
  isHealthy(nodeId: string): boolean {
    const state = this.health.get(nodeId);
    return state === undefined ? !this.removedDead.has(nodeId) : state.status === 'healthy';
  }

  deadMembers(): string[] {
    return [...this.health].filter(([, state]) => state.status === 'unhealthy').map(([nodeId]) => nodeId);
  }
}
