import { MMC, type MmcResult } from './codes';

/** The operation families of /metrics, in the spec's order; `notFound` marks families with not_found. */
export const OPERATIONS = [
  { id: 'alloc', help: 'Alloc', notFound: false },
  { id: 'batch_alloc', help: 'BatchAlloc', notFound: false },
  { id: 'get', help: 'Get', notFound: true },
  { id: 'batch_get', help: 'BatchGet', notFound: true },
  { id: 'remove', help: 'Remove', notFound: true },
  { id: 'batch_remove', help: 'BatchRemove', notFound: true },
  { id: 'remove_all', help: 'RemoveAll', notFound: false },
  { id: 'update_state', help: 'UpdateState', notFound: true },
  { id: 'batch_update_state', help: 'BatchUpdateState', notFound: true },
  { id: 'query', help: 'Query', notFound: true },
  { id: 'batch_query', help: 'BatchQuery', notFound: true },
  { id: 'get_all_keys', help: 'GetAllKeys', notFound: false },
  { id: 'exist_key', help: 'ExistKey', notFound: true },
  { id: 'batch_exist_key', help: 'BatchExistKey', notFound: true },
  { id: 'mount', help: 'Mount', notFound: false },
  { id: 'unmount', help: 'Unmount', notFound: false },
] as const;

export type OperationId = (typeof OPERATIONS)[number]['id'];

export interface OperationCount {
  requests: number;
  successes: number;
  failures: number;
  notFound: number;
}

/**
 * Business counters with the spec's result rules: every call is a request; MMC_OK is a success;
 * MMC_UNMATCHED_KEY is not_found where the family has one (a failure elsewhere); anything else — the
 * duplicate alloc too — is a failure. A batch call is a success unless some item had a real error, and
 * additionally not_found when some item was missing (the spec's example: req=3 success=3 not_found=1).
 */
export class OperationCounters {
  private readonly counts = new Map<OperationId, OperationCount>();

  constructor() {
    for (const operation of OPERATIONS) {
      this.counts.set(operation.id, { requests: 0, successes: 0, failures: 0, notFound: 0 });
    }
  }

  get(id: OperationId): OperationCount {
    return this.counts.get(id) as OperationCount;
  }

  record(id: OperationId, result: MmcResult): void {
    const count = this.get(id);
    count.requests++;
    if (result === MMC.OK) count.successes++;
    else if (result === MMC.UNMATCHED_KEY && hasNotFound(id)) count.notFound++;
    else count.failures++;
  }

  /** One batch call after its items were recorded: `realError` = some item failed; `missing` = some not found. */
  recordBatch(id: OperationId, realError: boolean, missing: boolean): void {
    const count = this.get(id);
    count.requests++;
    if (realError) count.failures++;
    else count.successes++;
    if (missing && !realError && hasNotFound(id)) count.notFound++;
  }
}

const NOT_FOUND_FAMILIES = new Set<string>(
  OPERATIONS.filter((operation) => operation.notFound).map((o) => o.id),
);

function hasNotFound(id: OperationId): boolean {
  return NOT_FOUND_FAMILIES.has(id);
}
