import { request } from 'undici';
import { cachePath } from './cluster-harness';

/**
 * Records every write and read against a cluster and classifies the reads. Each key is written by
 * one writer at a time with increasing sequence numbers (the stored value is the number), so
 * "older" is well defined:
 * - a read is **stale** when it returns a sequence below the highest one acknowledged before the
 *   read was sent, and **lost** when it finds nothing although a write was acknowledged;
 * - a write that timed out or failed is indeterminate: it may or may not appear, but only until a
 *   newer write is acknowledged — a late one overwriting that newer write shows up as stale reads.
 */
export class WriteVerifier {
  private readonly acknowledged = new Map<string, { sequence: number; at: number }>();
  readonly problems: string[] = [];
  reads = 0;
  acknowledgedWrites = 0;
  failedWrites = 0;

  /** The highest acknowledged sequence of `key` (0 when none). */
  latest(key: string): number {
    return this.acknowledged.get(key)?.sequence ?? 0;
  }

  /** A PUT of `sequence`; true when acknowledged (200). Errors and timeouts count as indeterminate. */
  async write(url: string, key: string, sequence: number, timeoutMs = 5_000): Promise<boolean> {
    try {
      const response = await request(`${url}${cachePath(key)}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ value: sequence }),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      await response.body.text();
      if (response.statusCode !== 200) {
        this.failedWrites++;
        return false;
      }
    } catch {
      this.failedWrites++;
      return false;
    }
    this.acknowledgedWrites++;
    const previous = this.acknowledged.get(key);
    if (previous === undefined || previous.sequence < sequence)
      this.acknowledged.set(key, { sequence, at: Date.now() });
    return true;
  }

  /** Retries the write of `sequence` until it is acknowledged (the table may be changing). */
  async writeUntilAcknowledged(urls: readonly string[], key: string, sequence: number, deadline: number) {
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      if (await this.write(urls[attempt % urls.length]!, key, sequence)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`write ${key}=${sequence} was never acknowledged`);
  }

  /** A GET, classified against what was acknowledged before it was sent. */
  async read(url: string, key: string, timeoutMs = 60_000): Promise<void> {
    const floor = this.latest(key);
    const sentAt = Date.now();
    let status: number;
    let body: { found?: boolean; value?: unknown };
    try {
      const response = await request(`${url}${cachePath(key)}`, {
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      status = response.statusCode;
      body = (await response.body.json()) as typeof body;
    } catch (error) {
      this.problems.push(`read ${key} at ${url} failed: ${String(error)}`);
      return;
    }
    this.reads++;
    if (status === 404 && floor > 0) this.problems.push(`LOST ${key} at ${url}: ${floor} acknowledged`);
    else if (status !== 200 && status !== 404) this.problems.push(`read ${key} at ${url}: status ${status}`);
    else if (status === 200 && typeof body.value === 'number' && body.value < floor)
      this.problems.push(
        `STALE ${key} at ${url}: read ${body.value} (sent ${sentAt}), ${floor} acknowledged before`,
      );
  }
}
