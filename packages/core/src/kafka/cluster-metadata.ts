import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openFileRangeReader } from './byte-range-reader.js';
import { walkBatchHeaders } from './batch-walker.js';
import { corrupt, truncated, unsupported } from './kafka-format-error.js';
import { OffsetIndex } from './offset-index.js';
import { verifyRecordBatch } from './record-batch.js';
import { decodeRecords } from './records.js';
import { parseSegmentFileName } from './segment-file-name.js';

// A KRaft broker's metadata log (docs/ARCHITECTURE.md, "Topic ids"): the `__cluster_metadata-0`
// partition of its metadata log dir, a snapshot (`<end offset>-<epoch>.checkpoint`) and record
// batches after it. Of its records only those that create and remove topics are read here, to
// tell a topic deleted for good from a partition moved to another broker: both take the
// partition's folder away, but only the first takes the topic's id out of the metadata.

/** The metadata log's partition folder, in the metadata log dir (a broker's first log dir unless `metadata.log.dir` says otherwise). */
export const CLUSTER_METADATA_DIR = '__cluster_metadata-0';

/** Kafka's `Uuid.METADATA_TOPIC_ID`: the metadata log's own id, in its `partition.metadata`, never a topic's. */
export const METADATA_TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ';

/** Kafka's metadata record api keys (`metadata/src/main/resources/common/metadata/*.json`). */
const ApiKey = { TOPIC: 2, REMOVE_TOPIC: 9, BEGIN_TRANSACTION: 23, END_TRANSACTION: 24, ABORT_TRANSACTION: 25 } as const;

/** `ControlRecordType.SNAPSHOT_FOOTER`: the control record a snapshot is finished with. */
const SNAPSHOT_FOOTER = 4;

/**
 * How long the metadata log must go on after a `RemoveTopicRecord` before the removal is acted
 * on. A KRaft leader that cannot reach a majority resigns within `controller.quorum.fetch.timeout.ms`
 * (2 s by default) and appends nothing more; records still arriving this long after a removal
 * come from a leader that had its majority, so the removal was committed.
 */
export const REMOVAL_SETTLED_MS = 10_000;

/** `MetadataRecordSerde`'s frame version, the first varint of every record's value. */
const FRAME_VERSION = 1;

/** What the metadata log says of topics after its last record. */
export interface ClusterTopics {
  /** Ids (base64url, as `partition.metadata` writes them) of the topics that exist, with their names. */
  readonly live: ReadonlyMap<string, string>;
  /**
   * Ids a `RemoveTopicRecord` still in the log removed (a snapshot keeps only what exists), each
   * with when: its batch's timestamp (ms since the epoch, by the controller's clock).
   */
  readonly removed: ReadonlyMap<string, number>;
  /** The offset after the last record read. */
  readonly endOffset: bigint;
  /**
   * The latest batch timestamp (ms since the epoch, by the controller's clock) of the log after the
   * snapshot: the log knows nothing of what happened after it. Undefined when no batch follows the
   * snapshot (whose own times are when it was written, not when what it holds happened).
   */
  readonly lastRecordAt: number | undefined;
}

const SNAPSHOT = /^(\d{20})-(\d{10})\.checkpoint$/;

/**
 * Reads the topics of the metadata log under `dataDir`: the latest snapshot, then every record
 * batch of the log from the snapshot's end offset (found through each segment's offset index),
 * each batch's CRC checked. A metadata transaction's records count only once it ends
 * (`EndTransactionRecord`); an aborted one's or one still open at the end of the log never do.
 * The active segment may be written meanwhile: a batch cut short at its end is the one being
 * written, and the log ends before it.
 *
 * Undefined when the data dir holds no metadata log (not a KRaft broker's metadata log dir).
 * Throws `KafkaFormatError` for a log that cannot be read whole: a gap between the snapshot and
 * the log, a corrupt or compressed batch, a record of an unknown frame version.
 */
export async function readClusterTopics(dataDir: string): Promise<ClusterTopics | undefined> {
  const dir = join(dataDir, CLUSTER_METADATA_DIR);
  const names = await metadataLogFiles(dir);
  if (names === undefined) return undefined;
  const state = new TopicState();
  const snapshot = names
    .map((name) => SNAPSHOT.exec(name))
    .filter((match) => match !== null)
    .map((match) => ({ name: match[0], endOffset: BigInt(match[1]!) }))
    .reduce<{ name: string; endOffset: bigint } | undefined>((latest, next) => (latest === undefined || next.endOffset > latest.endOffset ? next : latest), undefined);
  const apply = (offset: bigint, value: Buffer, source: string, timestamp: bigint) => state.apply(value, source, offset, timestamp);
  let lastRecordAt: number | undefined;
  const seen = (timestamp: bigint) => {
    if (lastRecordAt === undefined || Number(timestamp) > lastRecordAt) lastRecordAt = Number(timestamp);
  };
  if (snapshot) await readBatches(join(dir, snapshot.name), 0, { appending: false, from: 0n, snapshot: true }, apply, () => {});
  state.commit();
  const start = snapshot?.endOffset ?? 0n;

  const segments = names
    .map((name) => parseSegmentFileName(name))
    .filter((parsed) => parsed?.extension === 'log')
    .map((parsed) => parsed!.baseOffset)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // The segments that hold offsets from `start` on: the last one starting at or before it, and all after.
  const first = segments.findLastIndex((base) => base <= start);
  if (segments.length > 0 && first < 0) {
    const source = join(dir, `${segments[0]!.toString().padStart(20, '0')}.log`);
    throw corrupt('metadata log', `it starts at offset ${segments[0]}, after ${snapshot ? `its latest snapshot's end offset ${start} (${snapshot.name})` : 'offset 0, and it has no snapshot'}: records are missing`, source);
  }
  let next = start;
  for (let i = Math.max(first, 0); i < segments.length; i++) {
    const base = segments[i]!;
    const prefix = join(dir, base.toString().padStart(20, '0'));
    if (base > next) throw corrupt('metadata log', `its segment starts at offset ${base}, but the one before ends at ${next}: records are missing`, `${prefix}.log`);
    const position = base < start ? await indexFloor(`${prefix}.index`, base, start) : 0;
    const last = i === segments.length - 1;
    next = (await readBatches(`${prefix}.log`, position, { appending: last, from: start }, apply, seen)) ?? next;
  }
  return { live: state.live, removed: state.removed, endOffset: next, lastRecordAt };
}

/**
 * A stamp of the metadata log's files (names, sizes, modification times): what was read from it
 * holds while the stamp is the same. Undefined when there is no metadata log.
 */
export async function clusterMetadataStamp(dataDir: string): Promise<string | undefined> {
  const dir = join(dataDir, CLUSTER_METADATA_DIR);
  const names = await metadataLogFiles(dir).catch(() => undefined);
  if (names === undefined) return undefined;
  const parts = await Promise.all(
    names
      .sort()
      .map(async (name) => {
        const stats = await stat(join(dir, name)).catch(() => undefined);
        return stats ? `${name}:${stats.size}:${stats.mtimeMs}` : `${name}:gone`;
      }),
  );
  return parts.join('|');
}

/** The snapshots and `.log` segments in the metadata log's folder `dir`; undefined when there is no such folder. */
async function metadataLogFiles(dir: string): Promise<string[] | undefined> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
    throw error;
  });
  return names?.filter((name) => SNAPSHOT.test(name) || parseSegmentFileName(name)?.extension === 'log');
}

/** The position of the floor entry for `target` in a segment's offset index (0 without one). */
async function indexFloor(path: string, baseOffset: bigint, target: bigint): Promise<number> {
  const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  return bytes === undefined ? 0 : OffsetIndex.parse(bytes, baseOffset, path).lookup(target).position;
}

/**
 * Hands every record value of the data batches of `path` from `position` to `onRecord`, skipping
 * records below `from` and control batches (snapshot headers and footers, leader changes).
 * Hands `onTimestamp` the max timestamp of every batch from `from` on, control batches too.
 * A snapshot must end with its footer: one cut short at a batch boundary would read as a
 * whole one that lacks topics. Returns the offset after the last batch read, undefined when
 * there was none.
 */
async function readBatches(
  path: string,
  position: number,
  options: { appending: boolean; from: bigint; snapshot?: boolean },
  onRecord: (offset: bigint, value: Buffer, source: string, timestamp: bigint) => void,
  onTimestamp: (maxTimestamp: bigint) => void,
): Promise<bigint | undefined> {
  const reader = await openFileRangeReader(path);
  let next: bigint | undefined;
  let footer = false;
  try {
    for await (const { position: at, header } of walkBatchHeaders(reader.read, position, { source: path, appending: options.appending })) {
      next = header.lastOffset + 1n;
      if (header.lastOffset < options.from) continue;
      onTimestamp(header.maxTimestamp);
      footer = false;
      if (header.isControl && !options.snapshot) continue;
      const bytes = await reader.read(at, header.sizeInBytes);
      if (bytes.length < header.sizeInBytes) throw truncated(`record batch of offsets ${header.baseOffset}..${header.lastOffset}`, header.sizeInBytes, bytes.length, path, at);
      verifyRecordBatch(bytes, { source: path, position: at });
      if (header.isControl) {
        // A control record's key: version (int16), then type (int16).
        footer = decodeRecords(bytes, { source: path, position: at }).some((record) => record.key !== null && record.key.length >= 4 && record.key.readInt16BE(2) === SNAPSHOT_FOOTER);
        continue;
      }
      for (const record of decodeRecords(bytes, { source: path, position: at })) {
        if (record.offset < options.from) continue;
        if (record.value === null) throw corrupt('metadata record', `offset ${record.offset} has no value`, path, at);
        onRecord(record.offset, record.value, path, header.maxTimestamp);
      }
    }
    if (options.snapshot && !footer) throw corrupt('metadata snapshot', 'it does not end with its footer (SnapshotFooterRecord): it is cut short, and may lack topics', path);
  } finally {
    await reader.close();
  }
  return next;
}

/** The topics as the records read so far leave them; a metadata transaction's changes wait for its end. */
class TopicState {
  readonly live = new Map<string, string>();
  readonly removed = new Map<string, number>();
  /** Changes inside an open metadata transaction, applied at its end. */
  #pending: Array<() => void> | undefined;

  apply(value: Buffer, source: string, offset: bigint, timestamp: bigint): void {
    const reader = new MetadataReader(value, source, offset);
    const frame = reader.uvarint();
    if (frame !== FRAME_VERSION) throw unsupported(`metadata record at offset ${offset}`, `its frame version is ${frame}; only ${FRAME_VERSION} is known`, source);
    const apiKey = reader.uvarint();
    const version = reader.uvarint();
    switch (apiKey) {
      case ApiKey.TOPIC: {
        // TopicRecord v0: Name (compact string), TopicId (uuid), tagged fields.
        if (version !== 0) throw unsupported(`metadata record at offset ${offset}`, `TopicRecord version ${version}; only 0 is known`, source);
        const name = reader.compactString();
        const id = reader.uuid();
        return this.#change(() => {
          this.live.set(id, name);
          this.removed.delete(id);
        });
      }
      case ApiKey.REMOVE_TOPIC: {
        if (version !== 0) throw unsupported(`metadata record at offset ${offset}`, `RemoveTopicRecord version ${version}; only 0 is known`, source);
        const id = reader.uuid();
        return this.#change(() => {
          this.live.delete(id);
          this.removed.set(id, Number(timestamp));
        });
      }
      case ApiKey.BEGIN_TRANSACTION:
        this.#pending = [];
        return;
      case ApiKey.END_TRANSACTION:
        return this.commit();
      case ApiKey.ABORT_TRANSACTION:
        this.#pending = undefined;
        return;
    }
  }

  /** Ends an open transaction as committed (`EndTransactionRecord`; a snapshot holds only committed state). */
  commit(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    for (const change of pending ?? []) change();
  }

  #change(change: () => void): void {
    if (this.#pending) this.#pending.push(change);
    else change();
  }
}

/** Reads the fields of one metadata record's value (Kafka's flexible-version encoding). */
class MetadataReader {
  #at = 0;

  constructor(
    private readonly value: Buffer,
    private readonly source: string,
    private readonly offset: bigint,
  ) {}

  uvarint(): number {
    let result = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      const byte = this.#take(1)[0]!;
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
    }
    throw this.#fail('a varint runs over 5 bytes');
  }

  compactString(): string {
    const length = this.uvarint() - 1;
    if (length < 0) throw this.#fail('a topic name is null');
    return this.#take(length).toString('utf8');
  }

  /** A `Uuid` (16 bytes) as Kafka prints it: base64url, no padding. */
  uuid(): string {
    return this.#take(16).toString('base64url');
  }

  #take(length: number): Buffer {
    if (this.#at + length > this.value.length) throw this.#fail(`it ends at byte ${this.value.length}, before the field at byte ${this.#at} of ${length} bytes`);
    const bytes = this.value.subarray(this.#at, this.#at + length);
    this.#at += length;
    return bytes;
  }

  #fail(detail: string): Error {
    return corrupt(`metadata record at offset ${this.offset}`, detail, this.source);
  }
}
