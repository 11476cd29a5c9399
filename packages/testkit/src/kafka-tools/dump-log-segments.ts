import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** One batch line of DumpLogSegments' output. */
export interface DumpedBatch {
  baseOffset: bigint;
  lastOffset: bigint;
  count: number;
  baseSequence: number;
  producerId: bigint;
  producerEpoch: number;
  partitionLeaderEpoch: number;
  isTransactional: boolean;
  isControl: boolean;
  position: number;
  timestampType: string;
  maxTimestamp: bigint;
  size: number;
  compression: string;
  crc: number;
  isValid: boolean;
}

/** One record line (`| offset: …`) of `--deep-iteration` output. */
export interface DumpedRecord {
  offset: bigint;
  timestamp: bigint;
  keySize: number;
  valueSize: number;
  sequence: number;
  headerKeys: string[];
  /** With `clusterMetadataDecoder`: the metadata record as Kafka prints it (`{"type":"TOPIC_RECORD",…}`). */
  payload?: string;
}

/** What DumpLogSegments printed for one file. */
export interface DumpedFile {
  file: string;
  batches: DumpedBatch[];
  records: DumpedRecord[];
  /** `.index` entries (`offset: … position: …`). */
  indexEntries: Array<{ offset: bigint; position: number }>;
  /** `.timeindex` entries (`timestamp: … offset: …`). */
  timeIndexEntries: Array<{ timestamp: bigint; offset: bigint }>;
  /** `.txnindex` entries and `.snapshot` producer entries, as printed. */
  lines: string[];
}

export interface DumpLogSegmentsResult {
  kafkaVersion: string;
  files: DumpedFile[];
  /** Everything that reports a problem: stderr (mismatches, exceptions), invalid batches, trailing bytes. */
  problems: string[];
  stdout: string;
  stderr: string;
}

export interface DumpLogSegmentsOptions {
  /** `--deep-iteration`: decode every record (checks offsets are consecutive). */
  deepIteration?: boolean;
  /** `--verify-index-only`: check each index entry against the log, print only mismatches. */
  verifyIndexOnly?: boolean;
  /** `--index-sanity-check`: the check Kafka runs on startup to decide whether to rebuild an index. */
  indexSanityCheck?: boolean;
  /** `--cluster-metadata-decoder`: decode `__cluster_metadata` records and snapshots (implies deep iteration). */
  clusterMetadataDecoder?: boolean;
}

const KAFKA_TOOLS = fileURLToPath(new URL('../../../../scripts/kafka-tools', import.meta.url));

/**
 * Runs Apache Kafka's own `kafka.tools.DumpLogSegments` (Kafka 4.2's class name; the jars come
 * from `scripts/kafka-tools`, fetched from Maven Central once and cached) on `files` in one JVM,
 * and parses what it prints. Fails, never skips, when Java or the jars are missing.
 */
export async function runDumpLogSegments(files: readonly string[], options: DumpLogSegmentsOptions = {}): Promise<DumpLogSegmentsResult> {
  if (files.length === 0) throw new RangeError('runDumpLogSegments: no files');
  const args = ['run', 'kafka.tools.DumpLogSegments', '--files', files.join(',')];
  if (options.deepIteration) args.push('--deep-iteration');
  if (options.verifyIndexOnly) args.push('--verify-index-only');
  if (options.indexSanityCheck) args.push('--index-sanity-check');
  if (options.clusterMetadataDecoder) args.push('--cluster-metadata-decoder');
  const [kafkaVersion, { stdout, stderr }] = await Promise.all([run(['version']), run(args)]);
  const parsed = parseDump(stdout);
  const problems = [
    ...stderr.split('\n').filter((line) => line.trim() !== ''),
    ...parsed.flatMap((file) => file.batches.filter((b) => !b.isValid).map((b) => `${file.file}: batch at position ${b.position} is not valid`)),
    ...stdout.split('\n').filter((line) => /invalid bytes at the end/.test(line)),
  ];
  return { kafkaVersion: kafkaVersion.stdout.trim(), files: parsed, problems, stdout, stderr };
}

function run(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('bash', [KAFKA_TOOLS, ...args], { maxBuffer: 256 * 1024 * 1024, timeout: 600_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`scripts/kafka-tools ${args.slice(0, 2).join(' ')} failed (${error.message.split('\n')[0]}):\n${stderr.slice(-4000)}`));
      else resolve({ stdout, stderr });
    });
  });
}

const field = (line: string, name: string): string => {
  const match = new RegExp(`(?:^|\\s)${name}: (\\S+)`).exec(line);
  if (match === null) throw new Error(`DumpLogSegments line has no "${name}": ${line}`);
  return match[1]!;
};

function parseDump(stdout: string): DumpedFile[] {
  const files: DumpedFile[] = [];
  let current: DumpedFile | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('Dumping ')) {
      current = { file: line.slice('Dumping '.length), batches: [], records: [], indexEntries: [], timeIndexEntries: [], lines: [] };
      files.push(current);
    } else if (current === undefined || line.trim() === '') {
      continue;
    } else if (line.startsWith('baseOffset: ')) {
      const type = /position: \d+ (\S+): (-?\d+)/.exec(line);
      current.batches.push({
        baseOffset: BigInt(field(line, 'baseOffset')),
        lastOffset: BigInt(field(line, 'lastOffset')),
        count: Number(field(line, 'count')),
        baseSequence: Number(field(line, 'baseSequence')),
        producerId: BigInt(field(line, 'producerId')),
        producerEpoch: Number(field(line, 'producerEpoch')),
        partitionLeaderEpoch: Number(field(line, 'partitionLeaderEpoch')),
        isTransactional: field(line, 'isTransactional') === 'true',
        isControl: field(line, 'isControl') === 'true',
        position: Number(field(line, 'position')),
        timestampType: type?.[1] ?? '',
        maxTimestamp: BigInt(type?.[2] ?? 'NaN'),
        size: Number(field(line, 'size')),
        compression: field(line, 'compresscodec'),
        crc: Number(field(line, 'crc')),
        isValid: field(line, 'isvalid') === 'true',
      });
    } else if (line.startsWith('| offset: ')) {
      const stamp = /offset: \d+ \S+: (-?\d+)/.exec(line);
      const headerKeys = /headerKeys: \[([^\]]*)\]/.exec(line)?.[1] ?? '';
      current.records.push({
        offset: BigInt(field(line, 'offset')),
        timestamp: BigInt(stamp?.[1] ?? 'NaN'),
        keySize: Number(field(line, 'keySize')),
        valueSize: Number(field(line, 'valueSize')),
        sequence: Number(field(line, 'sequence')),
        headerKeys: headerKeys === '' ? [] : headerKeys.split(','),
        ...(line.includes(' payload: ') ? { payload: line.slice(line.indexOf(' payload: ') + ' payload: '.length) } : {}),
      });
    } else if (/^offset: \d+ position: \d+$/.test(line)) {
      current.indexEntries.push({ offset: BigInt(field(line, 'offset')), position: Number(field(line, 'position')) });
    } else if (/^timestamp: -?\d+ offset: \d+$/.test(line)) {
      current.timeIndexEntries.push({ timestamp: BigInt(field(line, 'timestamp')), offset: BigInt(field(line, 'offset')) });
    } else {
      current.lines.push(line);
    }
  }
  return files;
}
