// Kafka's zigzag varints (`ByteUtils.writeVarint`, `writeVarlong`), on plain numbers: every
// value a record holds (lengths, deltas of offsets and of millisecond timestamps) is a safe integer.

/** Zigzag: 0, -1, 1, -2, … become 0, 1, 2, 3, …, so small negatives stay short. */
function zigzag(value: number): number {
  if (!Number.isSafeInteger(value) || Math.abs(value) > 2 ** 52) throw new RangeError(`varint out of range: ${value}`);
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/** Bytes the zigzag varint of `value` takes. */
export function varintSize(value: number): number {
  let rest = zigzag(value);
  let size = 1;
  while (rest >= 0x80) {
    rest = Math.floor(rest / 128);
    size++;
  }
  return size;
}

/** Writes the zigzag varint of `value` at `at`; returns the position after it. */
export function writeVarint(target: Buffer, at: number, value: number): number {
  let rest = zigzag(value);
  while (rest >= 0x80) {
    target[at++] = (rest % 128) | 0x80;
    rest = Math.floor(rest / 128);
  }
  target[at++] = rest;
  return at;
}
