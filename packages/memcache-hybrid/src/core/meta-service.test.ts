import { describe, expect, it } from 'vitest';
import { BLOB_ACTION, MEDIUM, MMC } from './codes';
import { MetaService } from './meta-service';
import { renderPrometheus, renderSummary } from './render-metrics';

const SUMMARY_ORDER =
  'keys evict hbm_used dram_used alloc_req alloc_success alloc_fail batch_alloc_req batch_alloc_success batch_alloc_fail get_req get_success get_fail get_not_found batch_get_req batch_get_success batch_get_fail batch_get_not_found remove_req remove_success remove_fail remove_not_found batch_remove_req batch_remove_success batch_remove_fail batch_remove_not_found remove_all_req remove_all_success remove_all_fail update_state_req update_state_success update_state_fail update_state_not_found batch_update_state_req batch_update_state_success batch_update_state_fail batch_update_state_not_found query_req query_success query_fail query_not_found batch_query_req batch_query_success batch_query_fail batch_query_not_found get_all_keys_req get_all_keys_success get_all_keys_fail exist_key_req exist_key_success exist_key_fail exist_key_not_found batch_exist_key_req batch_exist_key_success batch_exist_key_fail batch_exist_key_not_found mount_req mount_success mount_fail unmount_req unmount_success unmount_fail';

function summaryFields(service: MetaService): Map<string, string> {
  return new Map(
    renderSummary(service)
      .split(' ')
      .map((field) => field.split('=') as [string, string]),
  );
}

describe('MetaService counters', () => {
  it('counts duplicates as failures, missing keys as not_found, batch items in the single families', () => {
    const service = new MetaService();
    service.mount(0, MEDIUM.DRAM, 1 << 20);
    const { blobs } = service.alloc('a', { size: 100 });
    service.updateState({ key: 'a', rank: 0, medium: MEDIUM.DRAM, action: BLOB_ACTION.WRITE_OK });
    expect(blobs[0]?.rank).toBe(0);
    expect(service.alloc('a', { size: 100 }).result).toBe(MMC.DUPLICATED_OBJECT);
    expect(service.remove('nope')).toBe(MMC.UNMATCHED_KEY);
    expect(service.batchGet(['a', 'missing']).items.map((item) => item.result)).toEqual([
      MMC.OK,
      MMC.UNMATCHED_KEY,
    ]);
    service.batchQuery(['a', 'missing', 'a']);
    const fields = summaryFields(service);
    expect(fields.get('alloc_req')).toBe('2');
    expect(fields.get('alloc_fail')).toBe('1');
    expect(fields.get('remove_not_found')).toBe('1');
    expect(fields.get('remove_fail')).toBe('0');
    expect(fields.get('get_req')).toBe('2');
    expect(fields.get('get_not_found')).toBe('1');
    expect(fields.get('batch_get_req')).toBe('1');
    expect(fields.get('batch_get_success')).toBe('1');
    expect(fields.get('batch_get_not_found')).toBe('1');
    expect(fields.get('query_req')).toBe('3');
    expect(fields.get('batch_query_success')).toBe('1');
    expect(fields.get('mount_success')).toBe('1');
    expect(fields.get('keys')).toBe('1');
    expect(fields.get('dram_used')).toBe(`4096/${1 << 20}`);
  });

  it('renders the 62 summary fields in the spec order with no trailing newline', () => {
    const service = new MetaService();
    const summary = renderSummary(service);
    expect(summary.endsWith('\n')).toBe(false);
    expect(summary.split(' ').map((field) => field.split('=')[0])).toEqual(SUMMARY_ORDER.split(' '));
    expect(SUMMARY_ORDER.split(' ')).toHaveLength(62);
  });

  it('renders the Prometheus families with HELP/TYPE and no blank lines', () => {
    const service = new MetaService();
    service.mount(1, MEDIUM.HBM, 8192);
    const text = renderPrometheus(service);
    expect(text).toContain(
      '# HELP memcache_alloc_requests_total Total number of Alloc requests\n# TYPE memcache_alloc_requests_total counter\nmemcache_alloc_requests_total 0\n',
    );
    expect(text).toContain(
      '# HELP memcache_batch_exist_key_not_found_total Total number of BatchExistKey not found results',
    );
    expect(text).toContain('memcache_segment_capacity_bytes{segment="rank-1-hbm"} 8192');
    expect(text).toContain('memcache_total_capacity_bytes{medium="hbm"} 8192');
    expect(text).not.toContain('\n\n');
    expect(text).not.toContain('memcache_remove_all_not_found_total');
  });

  it('traces with fixed-width ptracer rows, bad ends untimed', () => {
    const service = new MetaService();
    service.mount(0, MEDIUM.DRAM, 1 << 20);
    service.alloc('a', { size: 1 });
    service.alloc('a', { size: 1 });
    const text = service.tracer.render(new Date(2026, 0, 2, 3, 4, 5));
    const [header, ...rows] = text.split('\n');
    expect(header?.startsWith(`${'TIME'.padEnd(23)}${'NAME'.padEnd(40)}BEGIN`)).toBe(true);
    const put = rows.find((row) => row.includes('TP_MMC_META_PUT '));
    expect(put?.slice(0, 23)).toBe('2026-01-02 03:04:05    ');
    const columns = put?.slice(63).trim().split(/\s+/);
    expect(columns?.slice(0, 4)).toEqual(['2', '1', '1', '0']);
    expect(text.endsWith('\n')).toBe(true);
    const filtered = service.tracer.render(new Date(), ['TP_MMC_META_ALLOC', 'TP_MMC_META_REMOVE']);
    expect(filtered).toContain('TP_MMC_META_ALLOC');
    expect(filtered).not.toContain('TP_MMC_META_PUT');
  });
});
