// CRC32C of a concatenation from the CRCs of its pieces, without reading the bytes again
// (zlib's crc32_combine, for the Castagnoli polynomial). This is what lets one hashing pass
// yield per-part, per-chunk and whole-object CRC32Cs at once: each byte is hashed once, and
// the larger CRCs are combined from the smaller ones in O(log n) word operations.

/** The reflected Castagnoli polynomial. */
const POLY = 0x82f63b78;

/** a(x) · b(x) modulo the polynomial, both reflected. */
function multiplyModPoly(a: number, b: number): number {
  let product = 0;
  for (let bit = 0x80000000; bit !== 0; bit >>>= 1) {
    if (a & bit) {
      product ^= b;
      if ((a & (bit - 1)) === 0) break;
    }
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo the polynomial, for k = 0…31. */
const X_POW_2K: readonly number[] = (() => {
  const table: number[] = [];
  let power = 0x40000000; // x^1
  table.push(power);
  for (let k = 1; k < 32; k++) {
    power = multiplyModPoly(power, power);
    table.push(power);
  }
  return table;
})();

/** x^(8n) modulo the polynomial: the operator that shifts a CRC past `n` zero bytes. */
function shiftOperator(bytes: number): number {
  let operator = 0x80000000; // x^0
  // n·8 = n·2^3: walk n's bits starting at table index 3. Numbers above 2^32 need Math.floor.
  for (let n = bytes, k = 3; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) operator = multiplyModPoly(X_POW_2K[k % 32]!, operator);
  }
  return operator;
}

const operators = new Map<number, number>();

/**
 * The CRC32C of A followed by B, from `crcA`, `crcB` and B's length. The shift operator of the
 * few lengths a transfer uses (its part and chunk sizes) is cached.
 */
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB === 0) return crcA >>> 0;
  let operator = operators.get(lengthB);
  if (operator === undefined) {
    operator = shiftOperator(lengthB);
    if (operators.size < 64) operators.set(lengthB, operator);
  }
  return (multiplyModPoly(operator, crcA >>> 0) ^ crcB) >>> 0;
}
