import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  INTERNAL_PATHS,
  RING_VERSION_HEADER,
  SENDER_ADDRESS_HEADER,
  SENDER_HEADER,
} from '../src/core/internal-api';
import { cachePath, http, type RunningNode, startCluster } from './cluster-harness';

/**
 * The receiver side of fenced writes, driven by a fake peer (this test speaking the internal
 * protocol): replicas accept copies only from the primary of their current table, owners accept
 * writes only as that primary, and every rejection is a 421 that changes nothing.
 */
describe('fenced writes between nodes', () => {
  let nodes: RunningNode[];
  beforeAll(async () => {
    nodes = await startCluster(3, { replicas: 2, writeQuorum: 2 });
  });
  afterAll(async () => {
    await Promise.all(nodes.map((running) => running.stop()));
  });

  /** A key, its primary and one replica and the node holding no copy. */
  const roles = (key: string) => {
    const holders = nodes[0]!.node.holdersOf(key).holders;
    const byId = (nodeId: string | undefined) => nodes.find((running) => running.node.nodeId === nodeId)!;
    const outsider = nodes.find((running) => !holders.includes(running.node.nodeId))!;
    return { primary: byId(holders[0]), replica: byId(holders[1]), outsider };
  };

  const headersFrom = (sender: RunningNode, version = sender.node.table.version) => ({
    [RING_VERSION_HEADER]: String(version),
    [SENDER_HEADER]: sender.node.nodeId,
    [SENDER_ADDRESS_HEADER]: sender.address,
  });

  it('a replica refuses a copy from a node that is not the primary (421) and applies the primary’s', async () => {
    const key = 'fenced/replicate';
    const { primary, replica, outsider } = roles(key);
    const epoch = replica.node.table.version;
    const copy = [key, '"from a non-primary"', Date.now() * 1024, 0, 0, epoch];
    const refused = await http(
      replica.url,
      'POST',
      INTERNAL_PATHS.replicate,
      { entries: [copy] },
      headersFrom(outsider),
    );
    expect(refused.status).toBe(421);
    expect(refused.body.error).toBe('stale_ring_version');
    expect(replica.node.localGet(key)).toBeUndefined();

    const anonymous = await http(replica.url, 'POST', INTERNAL_PATHS.replicate, { entries: [copy] });
    expect(anonymous.status).toBe(421);

    const accepted = await http(
      replica.url,
      'POST',
      INTERNAL_PATHS.replicate,
      { entries: [[key, '"from the primary"', 1, 0, 0, epoch]] },
      headersFrom(primary),
    );
    expect(accepted.status).toBe(200);
    expect(replica.node.localGet(key)?.valueJson).toBe('"from the primary"');
  });

  it('a copy stamped under an older epoch never replaces a newer-epoch value, whatever its counter', async () => {
    const key = 'fenced/epoch';
    const { primary, replica } = roles(key);
    expect((await http(primary.url, 'PUT', cachePath(key), { value: 'acknowledged' })).status).toBe(200);
    const stored = replica.node.localGet(key)!;
    expect(stored.epoch).toBe(primary.node.table.version);
    const older = [key, '"paused primary"', stored.version + 1_000_000, 0, 0, stored.epoch - 1];
    const answer = await http(
      replica.url,
      'POST',
      INTERNAL_PATHS.replicate,
      { entries: [older] },
      headersFrom(primary),
    );
    expect(answer.status).toBe(200);
    expect(answer.body.applied).toBe(0);
    for (const running of nodes) {
      expect((await http(running.url, 'GET', cachePath(key))).body.value).toBe('acknowledged');
    }
  });

  it('an internal write to a node that is not the primary is a 421; the caller’s retry lands on the primary', async () => {
    const key = 'fenced/owner';
    const { replica, outsider } = roles(key);
    const refused = await http(
      replica.url,
      'PUT',
      INTERNAL_PATHS.cache(key),
      { value: 1 },
      headersFrom(outsider),
    );
    expect(refused.status).toBe(421);
    // The 421 carries the answering node's table (the caller adopts it without another request).
    expect(refused.body.table.version).toBe(replica.node.table.version);
    expect(refused.body.table.owners).toEqual(replica.node.table.owners);
    expect(replica.node.localGet(key)).toBeUndefined();
    // A client write through the non-holder is forwarded to the primary and acknowledged.
    expect((await http(outsider.url, 'PUT', cachePath(key), { value: 2 })).status).toBe(200);
    expect((await http(replica.url, 'GET', cachePath(key))).body.value).toBe(2);
  });
});
