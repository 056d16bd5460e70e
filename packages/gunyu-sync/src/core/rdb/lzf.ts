import { GUNYU_ERROR_CODES, GunyuError } from '../errors';

/** LZF decompression (src/lzf_d.c) into a buffer of exactly `outputLength` bytes. */
export function lzfDecompress(input: Uint8Array, outputLength: number): Buffer {
  const output = Buffer.allocUnsafe(outputLength);
  let inputIndex = 0;
  let outputIndex = 0;
  const inputLength = input.length;
  while (inputIndex < inputLength) {
    const control = input[inputIndex++] as number;
    if (control < 32) {
      const length = control + 1;
      if (outputIndex + length > outputLength || inputIndex + length > inputLength) {
        throw new GunyuError(GUNYU_ERROR_CODES.rdbCorrupted, 'LZF literal run overflows');
      }
      output.set(input.subarray(inputIndex, inputIndex + length), outputIndex);
      inputIndex += length;
      outputIndex += length;
      continue;
    }
    let length = control >> 5;
    let reference = outputIndex - ((control & 0x1f) << 8) - 1;
    if (length === 7) length += input[inputIndex++] as number;
    reference -= input[inputIndex++] as number;
    length += 2;
    if (reference < 0 || outputIndex + length > outputLength) {
      throw new GunyuError(GUNYU_ERROR_CODES.rdbCorrupted, 'LZF back reference out of range');
    }
    // Byte by byte: the reference may overlap the bytes being written.
    for (let i = 0; i < length; i++) output[outputIndex++] = output[reference++] as number;
  }
  if (outputIndex !== outputLength) {
    throw new GunyuError(
      GUNYU_ERROR_CODES.rdbCorrupted,
      `LZF produced ${outputIndex} bytes, expected ${outputLength}`,
    );
  }
  return output;
}
