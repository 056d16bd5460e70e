/** The original's result codes (MmcErrorCode); RPC replies carry them unchanged. */
export const MMC = {
  OK: 0,
  ERROR: -1,
  INVALID_PARAM: -3000,
  DUPLICATED_OBJECT: -3006,
  OBJECT_NOT_EXISTS: -3007,
  EXCEED_CAPACITY: -3013,
  NOT_ENOUGH_MEMORY: -3016,
  UNMATCHED_STATE: -3101,
  UNMATCHED_KEY: -3102,
  UNMATCHED_RET: -3103,
  LEASE_NOT_EXPIRED: -3104,
  /** kvforge: this meta service is not the HA leader; the reply's second element is the leader's URL or null. */
  NOT_LEADER: -3201,
  /** kvforge: a WRITE_OK/WRITE_FAIL stamped with an older leader's view_version (its alloc is not ours). */
  STALE_VIEW: -3202,
} as const;
export type MmcResult = number;

export const MEDIUM = { HBM: 0, DRAM: 1 } as const;
export type Medium = (typeof MEDIUM)[keyof typeof MEDIUM];
export const MEDIUM_NAMES = ['HBM', 'DRAM'] as const;

/** Blob actions of UpdateState (the original's numbering). */
export const BLOB_ACTION = { WRITE_OK: 1, WRITE_FAIL: 2, READ_START: 3, READ_FINISH: 4 } as const;
export type BlobAction = (typeof BLOB_ACTION)[keyof typeof BLOB_ACTION];

export const BLOB_STATE = { ALLOCATED: 0, READABLE: 1 } as const;
export type BlobState = (typeof BLOB_STATE)[keyof typeof BLOB_STATE];

export const MAX_KEY_LENGTH = 256;
export const MAX_BLOB_COPIES = 8;
export const MAX_BATCH_OP_COUNT = 16_384;
export const ALLOCATION_ALIGNMENT = 4096;

export function segmentName(rank: number, medium: Medium): string {
  return `rank-${rank}-${medium === MEDIUM.HBM ? 'hbm' : 'dram'}`;
}
