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
    if (end - i >= 8) {
      const [l1, l2, l3, l4, l5, l6, l7] = TABLE_LO.slice(1) as Uint32Array[];
      const [h1, h2, h3, h4, h5, h6, h7] = TABLE_HI.slice(1) as Uint32Array[];
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
        lo =
          ((l7 as Uint32Array)[i7]! ^
            (l6 as Uint32Array)[i6]! ^
            (l5 as Uint32Array)[i5]! ^
            (l4 as Uint32Array)[i4]! ^
            (l3 as Uint32Array)[i3]! ^
            (l2 as Uint32Array)[i2]! ^
            (l1 as Uint32Array)[i1]! ^
            t0l[i0]!) >>>
          0;
        hi =
          ((h7 as Uint32Array)[i7]! ^
            (h6 as Uint32Array)[i6]! ^
            (h5 as Uint32Array)[i5]! ^
            (h4 as Uint32Array)[i4]! ^
            (h3 as Uint32Array)[i3]! ^
            (h2 as Uint32Array)[i2]! ^
            (h1 as Uint32Array)[i1]! ^
            t0h[i0]!) >>>
          0;
        i += 8;
      }
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
  writeLittleEndian(target: Uint8Array, offset: number): void {
    const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
    view.setUint32(offset, this.low, true);
    view.setUint32(offset + 4, this.high, true);
  }
}

export function crc64(data: Uint8Array): bigint {
  return new Crc64().update(data).value();
}
