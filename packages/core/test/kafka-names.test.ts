import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatPartitionDirName, formatSegmentFileName, offsetFileNamePrefix, parsePartitionDirName, parsePartitionMetadata, parseSegmentFileName, readTopicId } from '@takhin/core';
import { KAFKA_LOG_DIR } from './fixtures/kafka-logdir.js';

describe('segment file names', () => {
  it('formats 20-digit zero-padded base offsets and parses them back', () => {
    expect(formatSegmentFileName(0n, 'log')).toBe('00000000000000000000.log');
    expect(formatSegmentFileName(9_223_372_036_854_775_807n, 'txnindex')).toBe('09223372036854775807.txnindex');
    for (const extension of ['log', 'index', 'timeindex', 'txnindex'] as const) {
      expect(parseSegmentFileName(formatSegmentFileName(1234n, extension))).toEqual({ baseOffset: 1234n, extension });
    }
    expect(offsetFileNamePrefix(42n)).toBe('00000000000000000042');
    expect(() => formatSegmentFileName(-1n, 'log')).toThrow('an offset is a non-negative int64, got -1');
    expect(() => formatSegmentFileName(2n ** 63n, 'log')).toThrow(RangeError);
    expect(() => formatSegmentFileName(1n, 'snapshot' as 'log')).toThrow('not a segment file extension: "snapshot"');
  });

  it('classifies every file of the real log dir: only live segment files parse', async () => {
    const kinds = new Map<string, string[]>();
    for (const folder of await readdir(KAFKA_LOG_DIR)) {
      if (parsePartitionDirName(folder) === undefined) continue;
      for (const name of await readdir(join(KAFKA_LOG_DIR, folder))) {
        const parsed = parseSegmentFileName(name);
        const kind = parsed === undefined ? 'other' : parsed.extension;
        kinds.set(kind, [...(kinds.get(kind) ?? []), name]);
      }
    }
    expect(new Set(kinds.get('other')!.map((name) => name.replace(/^\d{20}/, '<offset>').replace(/^<offset>-\d{10}/, '<offset>-<epoch>')))).toEqual(
      new Set([
        '<offset>.snapshot',
        '<offset>.log.deleted',
        '<offset>.index.deleted',
        '<offset>.timeindex.deleted',
        '<offset>.snapshot.deleted',
        '<offset>-<epoch>.checkpoint',
        'leader-epoch-checkpoint',
        'partition.metadata',
        'quorum-state',
      ]),
    );
    expect(kinds.get('log')!.length).toBeGreaterThan(10);
    expect(kinds.get('txnindex')!.length).toBeGreaterThan(0);
  });

  it('refuses names that only look like segments', () => {
    for (const name of [
      '00000000000000000000.log.deleted',
      '00000000000000000000.log.cleaned',
      '00000000000000000000.log.swap',
      '00000000000000000000.index.swap',
      '00000000000000000000.snapshot',
      '00000000000000000041-0000000001.checkpoint',
      '0000000000000000000.log',
      '000000000000000000000.log',
      '99999999999999999999.log',
      '0000000000000000000a.log',
      '00000000000000000000.LOG',
      'leader-epoch-checkpoint',
    ]) {
      expect(parseSegmentFileName(name), name).toBeUndefined();
    }
  });
});

describe('partition folder names', () => {
  it('parses the folders of the real log dir, topics with "-" and "." included', async () => {
    const folders = (await readdir(KAFKA_LOG_DIR, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    const parsed = Object.fromEntries(folders.map((name) => [name, parsePartitionDirName(name)]));
    expect(parsed['orders.v1-events-1']).toEqual({ topic: 'orders.v1-events', partition: 1, kind: 'live' });
    expect(parsed['clickstream.v2-0']).toEqual({ topic: 'clickstream.v2', partition: 0, kind: 'live' });
    expect(parsed['__cluster_metadata-0']).toEqual({ topic: '__cluster_metadata', partition: 0, kind: 'live' });
    const deleted = folders.find((name) => name.endsWith('-delete'))!;
    expect(deleted).toMatch(/^scratch-topic-0\.[0-9a-f]{32}-delete$/);
    expect(parsed[deleted]).toEqual({ topic: 'scratch-topic', partition: 0, kind: 'delete' });
    expect(folders.every((name) => parsed[name] !== undefined)).toBe(true);
  });

  it('knows -future and -stray folders, and refuses what is not a partition folder', () => {
    expect(parsePartitionDirName('orders.v1-events-2.3b2f4c6d8e0a1b2c3d4e5f60718293a4-future')).toEqual({ topic: 'orders.v1-events', partition: 2, kind: 'future' });
    expect(parsePartitionDirName('a-b-7.0123456789abcdef0123456789abcdef-stray')).toEqual({ topic: 'a-b', partition: 7, kind: 'stray' });
    for (const name of ['orders', 'orders-', '-0', 'orders-01', 'orders-x', 'orders-2147483648', 'bad topic-0', '.-0', '..-0', 'meta.properties', '.kafka_cleanshutdown']) {
      expect(parsePartitionDirName(name), name).toBeUndefined();
    }
    expect(formatPartitionDirName('orders.v1-events', 3)).toBe('orders.v1-events-3');
    expect(() => formatPartitionDirName('bad/topic', 0)).toThrow('not a legal Kafka topic name: "bad/topic"');
    expect(() => formatPartitionDirName('t', -1)).toThrow('a partition is a non-negative int32, got -1');
  });
});

describe('partition.metadata, the topic id', () => {
  it('reads the id of every partition of the real log dir; the partitions of one topic share it', async () => {
    const ids = new Map<string, string | undefined>();
    for (const folder of await readdir(KAFKA_LOG_DIR)) {
      if (parsePartitionDirName(folder) !== undefined) ids.set(folder, await readTopicId(join(KAFKA_LOG_DIR, folder)));
    }
    expect([...ids.values()].every((id) => id !== undefined && /^[A-Za-z0-9_-]{22}$/.test(id))).toBe(true);
    expect(ids.get('__consumer_offsets-0')).toBe(ids.get('__consumer_offsets-1'));
    expect(ids.get('orders.v1-events-0')).toBe(ids.get('orders.v1-events-1'));
    expect(ids.get('orders.v1-events-0')).not.toBe(ids.get('payments-0'));
    // The metadata topic's id is Kafka's Uuid.METADATA_TOPIC_ID, 1.
    expect(ids.get('__cluster_metadata-0')).toBe('AAAAAAAAAAAAAAAAAAAAAQ');
  });

  it('takes only what Kafka would accept, and nothing from a file it cannot read', async () => {
    expect(parsePartitionMetadata('version: 0\ntopic_id: HShgCd_Pq0sIZAZQ3EO_2w')).toBe('HShgCd_Pq0sIZAZQ3EO_2w');
    expect(parsePartitionMetadata('version: 0\r\ntopic_id:  HShgCd_Pq0sIZAZQ3EO_2w\n')).toBe('HShgCd_Pq0sIZAZQ3EO_2w');
    for (const text of [
      '',
      'version: 1\ntopic_id: HShgCd_Pq0sIZAZQ3EO_2w', // a version this does not know
      'version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA', // the zero id, never a topic's
      'version: 0\ntopic_id: HShgCd_Pq0sIZAZQ3EO_2', // 21 characters
      'version: 0\ntopic_id: HShgCd_Pq0sIZAZQ3EO_2x', // more than 16 bytes' worth
      'version: 0\ntopic_id: HShgCd_Pq0sIZAZQ3EO+2w', // not base64url
      'version: 0\ntopic_id: HShgCd_Pq0sIZAZQ3EO_2w\nextra: 1',
    ]) {
      expect(parsePartitionMetadata(text), JSON.stringify(text)).toBeUndefined();
    }
    const dir = await mkdtemp(join(tmpdir(), 'takhin-partition-metadata-'));
    try {
      expect(await readTopicId(dir)).toBeUndefined();
      // A FIFO under that name with no writer: opened without blocking, and refused.
      execFileSync('mkfifo', [join(dir, 'partition.metadata')]);
      expect(await readTopicId(dir)).toBeUndefined();
      await rm(join(dir, 'partition.metadata'));
      await mkdir(join(dir, 'partition.metadata'));
      expect(await readTopicId(dir)).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
