import { randomUUID } from 'node:crypto';
import { readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ColdStore } from '../contracts/cold-store.js';
import { ColdStoreError } from '../errors/cold-store-error.js';
import { TieringError } from '../errors/tiering-error.js';
import type { Clock } from '../policy/clock.js';
import { syncDirectory } from '../transfer/sync-directory.js';
import { readSmallObject } from './manifest-io.js';

/**
 * The object naming the data dir that owns the cold store's prefix. A segment's keys are all
 * under `<topic>-<partition>/`, so a key without a `/` is never one of theirs.
 */
export const CLAIM_KEY = 'takhin-tiered.owner.json';

/** The data dir's own id, written once, the first time it is opened. */
export const DATA_DIR_ID_FILE = '.takhin-tiered.id';

const CLAIM_FORMAT = 'takhin-tiered.owner';
/** How long a check holds before a sync asks the cold store again (one small read each time). */
export const CLAIM_RECHECK_MS = 15 * 60_000;
/**
 * An archive whose uploads took longer than this since the last check asks again before it
 * writes its manifest; a shorter one (most: the check made as it began is that recent) does not.
 */
export const MANIFEST_RECHECK_MS = 5_000;
/** A draft of the id file, written before its rename into place (`#dataDirId`). */
const DRAFT_NAME = /^\.takhin-tiered\.id\.\d+\.tmp$/;
/** A claim is a few hundred bytes; anything far larger is not one. */
const MAX_CLAIM_BYTES = 64 * 1024;

/** What the claim object holds. */
export interface OwnerClaim {
  readonly format: typeof CLAIM_FORMAT;
  readonly version: 1;
  /** The owning data dir's id (its `.takhin-tiered.id`). */
  readonly id: string;
  /** For people: where the owner is, and since when. */
  readonly dataDir: string;
  readonly host: string;
  readonly claimedAt: string;
}

/**
 * What the last check of the claim found (docs/ARCHITECTURE.md, "The cold store's owner"), for
 * an operator: `owned`, the prefix this data dir's; `claimed`, another data dir's (`owner`, when
 * its claim could be read) or one this version cannot read, so nothing is written or deleted
 * there; `unchecked`, not asked yet or the check failed (`error`: the cold store did not answer,
 * or the data dir's id file could not be read), so nothing is written or deleted there either.
 * `checkedAt` is when that check was made (the clock's time): an `owned` check stands for
 * `CLAIM_RECHECK_MS` of syncs, and every archive asks again.
 */
export type ColdStoreClaimState =
  | { readonly status: 'owned'; readonly checkedAt: number }
  | { readonly status: 'claimed'; readonly checkedAt: number; readonly owner: OwnerClaim | undefined; readonly error: TieringError }
  | { readonly status: 'unchecked'; readonly checkedAt: number | undefined; readonly error: Error | undefined };

/**
 * One data dir owns a cold store's prefix (docs/ARCHITECTURE.md, "The cold store's owner"): its
 * records alone describe the objects there, and the protocols overwrite and delete under the
 * prefix on that assumption. Two brokers configured with one prefix would overwrite each other's
 * segments, which share their keys, and each would delete what it took for its own leftovers. So
 * the first data dir to open writes its id into `CLAIM_KEY`, and any other is refused with
 * `COLD_STORE_CLAIMED` before it writes or deletes a thing, until an operator says it takes the
 * first one's place (`requestTakeOver`).
 */
export class ColdStoreClaim {
  #id: string | undefined;
  /** Whether this process made the id, its file having been missing. */
  #made = false;
  #verified = false;
  /** A take-over asked for (`requestTakeOver`) and not yet made: the next check makes it. */
  #takeOver = false;
  /** When the claim was last found ours (the clock's time). */
  #checkedAt = 0;
  #state: ColdStoreClaimState = { status: 'unchecked', checkedAt: undefined, error: undefined };
  /** The other data dir's claim the last refusal named (undefined when it could not be read). */
  #refusedBy: OwnerClaim | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly store: ColdStore,
    private readonly clock: Clock,
  ) {}

  /**
   * Makes sure the prefix is this data dir's: claims it when unclaimed (or, after `requestTakeOver`,
   * claimed by another), and reads the claim back. Another's claim: `COLD_STORE_CLAIMED`; a
   * cold store that does not answer: its error, and the claim counts as unchecked.
   */
  async check(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#verified = false;
    const checkedAt = this.clock.now();
    try {
      await this.#check(options);
      this.#state = { status: 'owned', checkedAt: this.#checkedAt };
    } catch (error) {
      // An abort (the archiver stopping) found out nothing about the claim.
      if (!options.signal?.aborted) this.#state = this.#failedState(error as Error, checkedAt);
      throw error;
    }
  }

  /** Checks unless a check less than `maxAgeMs` ago found the claim ours (and no take-over waits). */
  async ensure(maxAgeMs: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (!this.#takeOver && this.#verified && this.clock.now() - this.#checkedAt < maxAgeMs) return;
    await this.check(options);
  }

  /**
   * This data dir takes the prefix over from whoever claimed it (a replaced disk): made by the
   * next check that reaches the store, the open's own or, if the store was down then, a later one.
   */
  requestTakeOver(): void {
    this.#takeOver = true;
  }

  /** What the last check found; asks nothing (see `ColdStoreClaimState`). */
  get state(): ColdStoreClaimState {
    return this.#state;
  }

  #failedState(error: Error, checkedAt: number): ColdStoreClaimState {
    if (error instanceof TieringError && error.code === 'COLD_STORE_CLAIMED') return { status: 'claimed', checkedAt, owner: this.#refusedBy, error };
    return { status: 'unchecked', checkedAt, error };
  }

  async #check(options: { signal?: AbortSignal }): Promise<void> {
    const id = await this.#dataDirId();
    const found = await this.#read(options.signal);
    if (typeof found === 'object' && found.id === id) return this.#found();
    if (found !== undefined && !this.#takeOver) throw this.#refusal(found);
    if (typeof found === 'object') await this.#requireReplaced(found);
    const claim: OwnerClaim = { format: CLAIM_FORMAT, version: 1, id, dataDir: this.dataDir, host: hostname(), claimedAt: new Date(this.clock.now()).toISOString() };
    try {
      // Create-only unless taking over: of two data dirs claiming at once, one wins.
      await this.store.put(CLAIM_KEY, Buffer.from(`${JSON.stringify(claim, null, 2)}\n`), { ifNoneMatch: found === undefined, signal: options.signal });
    } catch (error) {
      if (!(error instanceof ColdStoreError && error.code === 'ALREADY_EXISTS')) throw error;
    }
    // Some S3-compatible servers ignore create-only writes: what is there now decides.
    const stored = await this.#read(options.signal);
    if (typeof stored !== 'object' || stored.id !== id) throw this.#refusal(stored);
    this.#found();
  }

  #found(): void {
    this.#verified = true;
    this.#takeOver = false;
    this.#checkedAt = this.clock.now();
  }

  /** The claim in the cold store; undefined when there is none, and why when it cannot be read. */
  async #read(signal: AbortSignal | undefined): Promise<OwnerClaim | string | undefined> {
    const text = await readSmallObject(this.store, CLAIM_KEY, MAX_CLAIM_BYTES, signal, () => {
      throw this.#refusal(`it is over ${MAX_CLAIM_BYTES} bytes`);
    });
    return text && parseClaim(text);
  }

  /** The data dir's id: read, or made and written durably the first time. */
  async #dataDirId(): Promise<string> {
    if (this.#id !== undefined) return this.#id;
    const path = join(this.dataDir, DATA_DIR_ID_FILE);
    const existing = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw new TieringError('LOCAL_FAILURE', `cannot read the data dir's id ${path}: ${error.message}`, undefined, { cause: error });
    });
    const id = existing?.trim();
    if (id !== undefined && /^[0-9a-f-]{36}$/.test(id)) return (this.#id = id);
    if (id !== undefined) throw new TieringError('LOCAL_FAILURE', `the data dir's id ${path} holds ${JSON.stringify(id.slice(0, 64))}, not an id (a UUID): restore it; deleted, it is made anew, and the cold store's prefix then has to be taken over (takhin-tiered rebuild --take-over)`);
    const made = randomUUID();
    const draft = `${path}.${process.pid}.tmp`;
    // Drafts of a process that died before its rename (this one holds the data dir's lock, so no other writes one now).
    await this.#removeDrafts();
    try {
      await writeFile(draft, `${made}\n`, { flush: true });
      await rename(draft, path);
      await syncDirectory(this.dataDir);
    } catch (error) {
      await unlink(draft).catch(() => {});
      throw new TieringError('LOCAL_FAILURE', `cannot write the data dir's id ${path}: ${(error as Error).message}`, undefined, { cause: error });
    }
    this.#made = true;
    return (this.#id = made);
  }

  /** Removes `<id file>.<pid>.tmp` drafts left by a process killed while it wrote the id; nothing else. */
  async #removeDrafts(): Promise<void> {
    const names = await readdir(this.dataDir).catch(() => []);
    for (const name of names) {
      if (DRAFT_NAME.test(name)) await unlink(join(this.dataDir, name)).catch(() => {});
    }
  }

  /**
   * A take-over is for a data dir that is gone (a replaced disk): refused while the owner's data
   * dir is still on this host holding the claimed id, as when a second broker's config was copied
   * from the first's and its operator followed the refusal's advice. Another host's data dir
   * cannot be looked at, and is taken on the operator's word.
   */
  async #requireReplaced(found: OwnerClaim): Promise<void> {
    if (found.host !== hostname() || found.dataDir === this.dataDir) return;
    const path = join(found.dataDir, DATA_DIR_ID_FILE);
    const theirs = await readFile(path, 'utf8').then((text) => text.trim(), () => undefined);
    if (theirs !== found.id) return;
    this.#refusedBy = found;
    throw new TieringError(
      'COLD_STORE_CLAIMED',
      `cannot take the ${this.store.backend} cold store's prefix over: it belongs to the data dir ${found.dataDir} on this host (since ${found.claimedAt}), which is still there with its id (${path} holds ${found.id}), so it was not replaced; two data dirs under one prefix would overwrite each other's archives, so nothing was changed. Give ${this.dataDir} a prefix (or bucket) of its own; if ${found.dataDir} is retired for good, delete ${path} first`,
    );
  }

  /** Why this data dir may not use the prefix: `found` is another's claim, or why the object there is none. */
  #refusal(found: OwnerClaim | string | undefined): TieringError {
    this.#refusedBy = typeof found === 'object' ? found : undefined;
    const which = this.store.backend;
    if (typeof found === 'string') {
      return new TieringError(
        'COLD_STORE_CLAIMED',
        `the ${which} cold store's prefix holds a ${CLAIM_KEY} this version cannot read (${found}), so ${this.dataDir} writes and deletes nothing there; if no other data dir uses this prefix, run \`takhin-tiered rebuild --take-over\``,
      );
    }
    if (found !== undefined && found.dataDir === this.dataDir && found.host === hostname()) return this.#lostId(found);
    const who = found === undefined ? 'another data dir (its claim vanished as this one was written)' : `the data dir ${found.dataDir} on ${found.host} (since ${found.claimedAt})`;
    return new TieringError(
      'COLD_STORE_CLAIMED',
      `the ${which} cold store's prefix belongs to ${who}, by its ${CLAIM_KEY}: two data dirs under one prefix would overwrite each other's archives, so ${this.dataDir} writes and deletes nothing there. Give it a prefix (or bucket) of its own; or, if it takes that data dir's place for good (a replaced disk), run \`takhin-tiered rebuild --take-over\``,
    );
  }

  /**
   * The claim names this very path on this host, under another id: the id file was deleted or
   * lost (or the disk replaced and mounted in the same place). Saying "another data dir" there
   * would send the operator looking for one that does not exist.
   */
  #lostId(found: OwnerClaim): TieringError {
    const path = join(this.dataDir, DATA_DIR_ID_FILE);
    const now = this.#made ? `, made just now since the file was missing` : '';
    return new TieringError(
      'COLD_STORE_CLAIMED',
      `the ${this.store.backend} cold store's prefix was claimed by this data dir's path on this host, ${found.dataDir} on ${found.host} (since ${found.claimedAt}), under the id ${found.id}, but ${path} holds ${this.#id ?? 'another'}${now}; so this data dir writes and deletes nothing there. If it is the same data dir and its id file was lost, write ${found.id} into ${path}; if it is a new disk in that place, run \`takhin-tiered rebuild --take-over\`; if another broker uses the same path on this host (a container), give each its own prefix (or bucket)`,
    );
  }
}

/** The claim in `text`, or why it is not one. */
function parseClaim(text: Buffer): OwnerClaim | string {
  let value: unknown;
  try {
    value = JSON.parse(text.toString('utf8'));
  } catch {
    return 'not JSON';
  }
  const claim = value as Partial<OwnerClaim> | null;
  if (typeof claim !== 'object' || claim === null || claim.format !== CLAIM_FORMAT) return `not a ${CLAIM_FORMAT} claim`;
  if (claim.version !== 1) return `version ${String(claim.version)}`;
  if (typeof claim.id !== 'string' || claim.id === '') return 'no id';
  return { format: CLAIM_FORMAT, version: 1, id: claim.id, dataDir: String(claim.dataDir), host: String(claim.host), claimedAt: String(claim.claimedAt) };
}
