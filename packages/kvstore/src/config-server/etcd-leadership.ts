import { type Logger, SILENT_LOGGER } from '@kvforge/runtime';
import type { Campaign, ElectionObserver, Etcd3 } from 'etcd3';

export interface EtcdLeadershipOptions {
  client: Etcd3;
  /** This ConfigServer's HTTP `host:port`: the election value, named to proxies and in 1004 answers. */
  self: string;
  /** Lease time: a dead master's campaign key expires after this long. @default 5 */
  ttlSeconds?: number;
  /** @default 'kvstore-config-server' */
  electionName?: string;
  /**
   * Called with this node's role: `(true, self, campaignKey)` once elected, `(false, leader)` when
   * another node leads or this one lost its lease (leader '' while nobody is known).
   */
  onRole: (isMaster: boolean, master: string, campaignKey?: string) => void | Promise<void>;
  logger?: Logger;
}

export const DEFAULT_ETCD_LEADERSHIP_OPTIONS = { ttlSeconds: 5, electionName: 'kvstore-config-server' };

/**
 * Master election of the etcd-mode ConfigServers: each campaigns with a lease; the one whose key is
 * oldest leads. A killed master's lease runs out after `ttlSeconds` and the next campaigner is
 * elected. A node whose lease is lost (a long pause, a cut path to etcd) steps down at once and
 * campaigns again.
 */
export class EtcdLeadership {
  private readonly options: typeof DEFAULT_ETCD_LEADERSHIP_OPTIONS & EtcdLeadershipOptions;
  private readonly logger: Logger;
  private campaign: Campaign | undefined;
  private observer: ElectionObserver | undefined;
  private leading = false;
  private stopped = false;

  constructor(options: EtcdLeadershipOptions) {
    this.options = { ...DEFAULT_ETCD_LEADERSHIP_OPTIONS, ...options };
    this.logger = options.logger ?? SILENT_LOGGER;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  async start(): Promise<void> {
    const election = this.options.client.election(this.options.electionName, this.options.ttlSeconds);
    this.observer = await election.observe();
    this.observer.on('change', (leader) => {
      if (leader !== undefined && leader !== this.options.self) this.setRole(false, leader);
    });
    this.observer.on('error', (error) => this.logger.warn({ error: error.message }, 'election observer'));
    const leader = this.observer.leader();
    if (leader !== undefined && leader !== this.options.self) this.setRole(false, leader);
    this.runCampaign(election);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.observer?.cancel().catch(() => undefined);
    // Resigning hands over at once instead of after the lease time.
    await this.campaign?.resign().catch(() => undefined);
  }

  private runCampaign(election: ReturnType<Etcd3['election']>): void {
    if (this.stopped) return;
    const campaign = election.campaign(this.options.self);
    this.campaign = campaign;
    campaign.on('elected', () => {
      void campaign
        .getCampaignKey()
        .then((key) => {
          if (this.campaign === campaign && !this.stopped) this.setRole(true, this.options.self, key);
        })
        .catch((error: unknown) => this.logger.warn({ error: (error as Error).message }, 'campaign key'));
    });
    campaign.on('error', (error) => {
      this.logger.warn({ error: error.message }, 'lost the election lease; campaigning again');
      if (this.campaign !== campaign) return;
      if (this.leading) this.setRole(false, '');
      setTimeout(() => this.runCampaign(election), 200).unref();
    });
  }

  private setRole(isMaster: boolean, master: string, campaignKey?: string): void {
    this.leading = isMaster;
    void Promise.resolve(this.options.onRole(isMaster, master, campaignKey)).catch((error: unknown) =>
      this.logger.warn({ error: (error as Error).message }, 'role change failed'),
    );
  }
}
