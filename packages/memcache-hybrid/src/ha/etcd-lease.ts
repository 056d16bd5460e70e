import { randomInt } from 'node:crypto';
import type { Etcd3 } from 'etcd3';

type CallOptions = { deadline: Date };

/**
 * An etcd lease driven by hand (no background keepalive: the election decides when to renew).
 * The ID is chosen here, below 2^53: with the pinned etcd3/grpc versions an ID picked by etcd (int64)
 * loses precision on the way back, and every put with it fails with NOT_FOUND.
 */
export class EtcdLease {
  readonly id = String(randomInt(1, 2 ** 47));

  constructor(private readonly client: Etcd3) {}

  async grant(ttlSeconds: number, options: CallOptions): Promise<void> {
    await this.client.leaseClient.leaseGrant({ ID: this.id, TTL: ttlSeconds }, options);
  }

  /** The TTL etcd left after this renewal; 0 or less when the lease is gone. */
  async keepaliveOnce(options: CallOptions): Promise<number> {
    const stream = await this.client.leaseClient.leaseKeepAlive(options);
    try {
      return await new Promise<number>((resolve, reject) => {
        stream.on('data', (response: { TTL: string }) => resolve(Number(response.TTL)));
        stream.on('error', reject);
        stream.write({ ID: this.id });
      });
    } finally {
      stream.end();
    }
  }

  async revoke(): Promise<void> {
    await this.client.leaseClient.leaseRevoke({ ID: this.id }).catch(() => undefined);
  }
}
