import { type Logger, SILENT_LOGGER, sleep } from '@kvforge/runtime';
import type { Campaign, Election, Etcd3, Watcher } from 'etcd3';

export interface EtcdLeadershipOptions {
  client: Etcd3;
  /** This ConfigServer's HTTP `host:port`: the election value, named to proxies and in 1004 answers. */
  self: string;
  /** Lease time: a dead master's campaign key expires after this long. @default 5 */
  ttlSeconds?: number;
  /** @default 'kvstore-config-server' */
  electionName?: string;
  /** Wait before a failed `onRole` is called again. @default 500 */
  retryMs?: number;
  /**
   * Called with this node's role: `(true, self, campaignKey)` once elected, `(false, leader)` when
   * another node leads or this one lost its lease (leader '' while nobody is known). Calls never
   * overlap; one that throws is retried until it succeeds or the role changes again.
   */
  onRole: (isMaster: boolean, master: string, campaignKey?: string) => void | Promise<void>;
  logger?: Logger;
}

export const DEFAULT_ETCD_LEADERSHIP_OPTIONS = {
  ttlSeconds: 5,
  electionName: 'kvstore-config-server',
  retryMs: 500,
};

/**
 * Master election of the etcd-mode ConfigServers: each campaigns with a lease; the one whose key is
 * oldest leads. A killed master's lease runs out after `ttlSeconds` and the next campaigner is
 * elected. A node whose lease is lost (a long pause, a cut path to etcd) steps down at once and
 * campaigns again.
 *
 * The leader other nodes name is read from etcd (oldest key of the election prefix) on every change
 * of that prefix and every `ttlSeconds`. etcd3's ElectionObserver is not used: when several
 * candidates' keys arrive in one watch response it names the newest of them, which then never
 * changes while that node lives (two ConfigServers started together: neither named the master).
 */
export class EtcdLeadership {
  private readonly options: typeof DEFAULT_ETCD_LEADERSHIP_OPTIONS & EtcdLeadershipOptions;
  private readonly logger: Logger;
  private election: Election | undefined;
  private campaign: Campaign | undefined;
  private watcher: Watcher | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  /** The campaign key of the current campaign once it won. */
  private electedKey: string | undefined;
  /** The election value of the oldest campaign key, as last read from etcd. */
  private leader: string | undefined;
  private refreshing = false;
  private refreshAgain = false;
  /** The role last handed to `onRole` (undefined: none yet). */
  private role: { isMaster: boolean; master: string } | undefined;
  /** Bumped by every role change: a retry of an older one stops. */
  private generation = 0;
  private applying: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(options: EtcdLeadershipOptions) {
    this.options = { ...DEFAULT_ETCD_LEADERSHIP_OPTIONS, ...options };
    this.logger = options.logger ?? SILENT_LOGGER;
  }

  async start(): Promise<void> {
    const { client, electionName, ttlSeconds } = this.options;
    const election = client.election(electionName, ttlSeconds);
    this.election = election;
    // The same prefix etcd3's Election uses for its campaign keys.
    const watcher = await client.namespace(`election/${electionName}/`).watch().prefix('').create();
    this.watcher = watcher;
    watcher.on('put', () => void this.refreshLeader());
    watcher.on('delete', () => void this.refreshLeader());
    watcher.on('error', (error) => this.logger.warn({ error: error.message }, 'election watch'));
    this.refreshTimer = setInterval(() => void this.refreshLeader(), ttlSeconds * 1000);
    this.refreshTimer.unref();
    await this.refreshLeader();
    this.runCampaign(election);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.refreshTimer);
    await this.watcher?.cancel().catch(() => undefined);
    // Resigning hands over at once instead of after the lease time.
    await this.campaign?.resign().catch(() => undefined);
    await this.applying;
  }

  /** Reads the oldest campaign key's value; changes arriving meanwhile cause one more read. */
  private async refreshLeader(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = true;
    try {
      do {
        this.refreshAgain = false;
        if (this.stopped || this.election === undefined) return;
        try {
          this.leader = await this.election.leader();
        } catch (error) {
          this.logger.warn({ error: (error as Error).message }, 'cannot read the election leader');
          return; // the next change or the refresh timer reads again
        }
        this.decideRole();
      } while (this.refreshAgain);
    } finally {
      this.refreshing = false;
    }
  }

  private runCampaign(election: Election): void {
    if (this.stopped) return;
    const campaign = election.campaign(this.options.self);
    this.campaign = campaign;
    campaign.on('elected', () => {
      void campaign
        .getCampaignKey()
        .then((key) => {
          if (this.campaign !== campaign || this.stopped) return;
          this.logger.info({ campaignKey: key }, 'campaign elected');
          this.electedKey = key;
          this.decideRole();
        })
        .catch((error: unknown) => this.logger.warn({ error: (error as Error).message }, 'campaign key'));
    });
    campaign.on('error', (error) => {
      if (this.campaign !== campaign) return; // one campaign errs once for us, then it is replaced
      this.logger.warn({ error: error.message }, 'lost the election lease; campaigning again');
      this.campaign = undefined;
      this.electedKey = undefined;
      // Our old key, if still alive in etcd, would make the new campaign wait behind it.
      campaign.resign().catch(() => undefined);
      this.decideRole();
      setTimeout(() => this.runCampaign(election), 200).unref();
    });
  }

  private decideRole(): void {
    if (this.stopped) return;
    if (this.electedKey !== undefined) {
      this.setRole(true, this.options.self, this.electedKey);
      return;
    }
    // Our own (old or not yet elected) key first in line names nobody yet.
    const leader = this.leader === undefined || this.leader === this.options.self ? '' : this.leader;
    this.setRole(false, leader);
  }

  private setRole(isMaster: boolean, master: string, campaignKey?: string): void {
    if (this.role?.isMaster === isMaster && this.role.master === master) return;
    this.role = { isMaster, master };
    const generation = ++this.generation;
    this.logger.info({ isMaster, master }, 'election role');
    this.applying = this.applying.then(() => this.applyRole(generation, isMaster, master, campaignKey));
  }

  /** Runs `onRole` until it succeeds, unless a newer role (or stop) replaced this one. */
  private async applyRole(
    generation: number,
    isMaster: boolean,
    master: string,
    campaignKey: string | undefined,
  ): Promise<void> {
    for (let attempt = 1; !this.stopped && generation === this.generation; attempt++) {
      try {
        await this.options.onRole(isMaster, master, campaignKey);
        return;
      } catch (error) {
        this.logger.warn(
          { error: (error as Error).message, isMaster, attempt },
          'role change failed; retrying',
        );
        await sleep(this.options.retryMs);
      }
    }
  }
}
