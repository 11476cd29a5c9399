import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
/** What the bench's scenarios before throughput must not carry: every kilobyte of code is marked by V8 again and again. */
const HEAVY = /^(vitest|@vitest\/|@aws-sdk\/|@azure\/|@google-cloud\/|minio$|@takhin\/testkit$)/;

/** A resolve hook that records, at exit, every package a process imported by name. */
const HOOK = `
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const seen = new Set();
registerHooks({
  resolve(specifier, context, next) {
    if (!/^(\\.|\\/|node:|file:)/.test(specifier)) seen.add(specifier);
    return next(specifier, context);
  },
});
process.on('exit', () => writeFileSync(process.env.SEEN_FILE, JSON.stringify([...seen])));
`;

let work: string;

/** The packages a node process imports by name running `args`. */
async function packagesImported(args: string[]): Promise<string[]> {
  const seenFile = join(work, `seen-${Math.random().toString(36).slice(2)}.json`);
  await promisify(execFile)(process.execPath, ['--import', join(work, 'hook.mjs'), ...args], { cwd: DIST, env: { ...process.env, SEEN_FILE: seenFile } });
  return JSON.parse(await readFile(seenFile, 'utf8')) as string[];
}

describe('what the bench process carries', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'takhin-bench-modules-'));
    await writeFile(join(work, 'hook.mjs'), HOOK);
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('loads no SDK, no test runner and not the testkit barrel before the throughput scenario', async () => {
    const imported = await packagesImported([join(DIST, 'main.js'), '--help']);
    expect(imported).toContain('@takhin/core');
    expect(imported).toContain('@takhin/testkit/standalone');
    expect(imported.filter((name) => HEAVY.test(name))).toEqual([]);
  });

  it('loads the SDKs with the throughput scenario, so the check above would see them', async () => {
    const imported = await packagesImported(['--input-type=module', '-e', `await import(${JSON.stringify(join(DIST, 'scenarios/throughput.js'))})`]);
    expect(imported).toEqual(expect.arrayContaining(['@aws-sdk/client-s3', '@aws-sdk/lib-storage', '@azure/storage-blob', '@google-cloud/storage', 'minio']));
  });

  it('@takhin/testkit/standalone generates segments without vitest', async () => {
    const imported = await packagesImported(['--input-type=module', '-e', `const { writeSegment, writeBrokerLogDir, readServiceEnv } = await import('@takhin/testkit/standalone'); if (![writeSegment, writeBrokerLogDir, readServiceEnv].every((f) => typeof f === 'function')) process.exit(3);`]);
    expect(imported).toContain('@takhin/core');
    expect(imported.filter((name) => HEAVY.test(name))).toEqual([]);
  });
});
