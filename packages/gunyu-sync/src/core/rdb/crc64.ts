/**
 * Redis' CRC64 ("Jones" polynomial, reflected, init 0, no final xor), as in src/crc64.c.
 * 64-bit values are kept as two uint32 halves; slicing-by-8 tables keep it fast without BigInt.
 */
const POLY_REFLECTED = 0x95ac9329ac4bc9b5n;
const TABLE_LO: Uint32Array[] = [];
const TABLE_HI: Uint32Array[] = [];

function buildTables(): void {
  const base = new Array<bigint>(256);
  for (let i = 0; i < 256; i++) {
    let crc = BigInt(i);
    for (let bit = 0; bit < 8; bit++) crc = crc & 1n ? (crc >> 1n) ^ POLY_REFLECTED : crc >> 1n;
    base[i] = crc;
  }
  let previous = base;
  for (let slice = 0; slice < 8; slice++) {
    const lo = new Uint32Array(256);
    const hi = new Uint32Array(256);
    const next = new Array<bigint>(256);
    for (let i = 0; i < 256; i++) {
      const value =
        slice === 0
          ? (base[i] as bigint)
          : ((previous[i] as bigint) >> 8n) ^ (base[Number((previous[i] as bigint) & 0xffn)] as bigint);
      next[i] = value;
      lo[i] = Number(value & 0xffffffffn);
      hi[i] = Number(value >> 32n);
    }
    TABLE_LO.push(lo);
    TABLE_HI.push(hi);
    previous = next;
  }
}
buildTables();
type Tables = [
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
];
const [, L1, L2, L3, L4, L5, L6, L7] = TABLE_LO as Tables;
const [, H1, H2, H3, H4, H5, H6, H7] = TABLE_HI as Tables;

/** Incremental CRC64; `update` any number of times, read with `value()` / `low`/`high`. */
export class Crc64 {
  low = 0;
  high = 0;

  update(data: Uint8Array, start = 0, end = data.length): this {
    let lo = this.low;
    let hi = this.high;
    let i = start;
    const t0l = TABLE_LO[0] as Uint32Array;
    const t0h = TABLE_HI[0] as Uint32Array;
    while (end - i >= 8) {
      const a =
        (lo ^
          ((data[i] as number) |
            ((data[i + 1] as number) << 8) |
            ((data[i + 2] as number) << 16) |
            ((data[i + 3] as number) << 24))) >>>
        0;
      const b =
        (hi ^
          ((data[i + 4] as number) |
            ((data[i + 5] as number) << 8) |
            ((data[i + 6] as number) << 16) |
            ((data[i + 7] as number) << 24))) >>>
        0;
      const i7 = a & 0xff;
      const i6 = (a >>> 8) & 0xff;
      const i5 = (a >>> 16) & 0xff;
      const i4 = a >>> 24;
      const i3 = b & 0xff;
      const i2 = (b >>> 8) & 0xff;
      const i1 = (b >>> 16) & 0xff;
      const i0 = b >>> 24;
      lo = (L7[i7]! ^ L6[i6]! ^ L5[i5]! ^ L4[i4]! ^ L3[i3]! ^ L2[i2]! ^ L1[i1]! ^ t0l[i0]!) >>> 0;
      hi = (H7[i7]! ^ H6[i6]! ^ H5[i5]! ^ H4[i4]! ^ H3[i3]! ^ H2[i2]! ^ H1[i1]! ^ t0h[i0]!) >>> 0;
      i += 8;
    }
    for (; i < end; i++) {
      const index = (lo ^ (data[i] as number)) & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ (t0l[index] as number)) >>> 0;
      hi = ((hi >>> 8) ^ (t0h[index] as number)) >>> 0;
    }
    this.low = lo;
    this.high = hi;
    return this;
  }

  value(): bigint {
    return (BigInt(this.high) << 32n) | BigInt(this.low);
  }

  /** Writes the checksum as 8 little-endian bytes (the RDB footer / DUMP payload layout). */
  writeLittleEndian(target: Uint8Array, offset: number): this {
    for (let i = 0; i < 4; i++) {
      target[offset + i] = (this.low >>> (8 * i)) & 0xff;
      target[offset + 4 + i] = (this.high >>> (8 * i)) & 0xff;
    }
    return this;
  }
}

export function crc64(data: Uint8Array): bigint {
  return new Crc64().update(data).value();
}
