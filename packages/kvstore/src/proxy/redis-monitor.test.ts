import { describe, expect, it } from 'vitest';
import { replicaFromInfo } from './redis-monitor';

describe('replicaFromInfo', () => {
  it('takes the first online replica from INFO replication', () => {
    const info = [
      '# Replication',
      'role:master',
      'connected_slaves:2',
      'slave0:ip=10.0.0.2,port=6380,state=wait_bgsave,offset=0,lag=0',
      'slave1:ip=10.0.0.3,port=6381,state=online,offset=42,lag=0',
    ].join('\r\n');
    expect(replicaFromInfo(info)).toBe('10.0.0.3:6381');
    expect(replicaFromInfo('# Replication\r\nrole:master\r\nconnected_slaves:0\r\n')).toBe('');
  });
});
