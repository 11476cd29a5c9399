import type { BackendTarget, ColdStore } from '@takhin/core';

/** What the contract suite needs from a backend under test. */
export interface ContractSubject {
  /** The store under test, configured with the `prefix` the factory was given. */
  store: ColdStore;
  /**
   * Bytes per part (S3 part, Azure block, GCS resumable chunk, an FS write), so the suite can
   * put objects on both sides of a part boundary. Default: `store.capabilities.partSize`.
   */
  partSize?: number;
  /**
   * The most body bytes the store may hold in memory at once during one put; the 64 MiB round
   * trip checks the peak against it. Default: `store.capabilities.memoryBoundBytes`.
   */
  memoryBoundBytes?: number;
  /**
   * Names of multipart uploads (or staged, uncommitted blocks) still open under the prefix,
   * so the suite can prove that a failed or aborted put leaves none. Backends without such
   * a notion return [] from a real check (the FS backend lists its temp files).
   */
  listPendingUploads(): Promise<string[]>;
  /**
   * A store of the same backend pointed at a server that is not there (a closed port, a root
   * that is a file), so the suite can prove that invalid keys fail before any request.
   */
  createUnreachableStore(): ColdStore;
  /**
   * The same store as plain data (`{ module, config }`), so the suite's pool variant can build
   * it inside TransferPool worker threads.
   */
  target: BackendTarget;
  /**
   * Whether the store has `readInto` (docs/ARCHITECTURE.md, "Plain reads"): its driver reads
   * into a sink itself (a filesystem), or signs reads sent over core's lean client (plain http).
   */
  readsInto?: boolean;
  /** Removes what the suite left behind and closes clients; called once after the suite. */
  cleanup?(): Promise<void>;
}

export interface ContractContext {
  /** A prefix unique to this run of the suite, for the backend's `prefix` config. */
  prefix: string;
}

export type ContractSubjectFactory = (context: ContractContext) => ContractSubject | Promise<ContractSubject>;

/** A subject whose part size and memory bound are known (given, or from the store's capabilities). */
export type ResolvedContractSubject = ContractSubject & { partSize: number; memoryBoundBytes: number };

/** Fills in what a subject left to the store's capabilities; a store that reports neither fails here. */
export function resolveSubject(subject: ContractSubject): ResolvedContractSubject {
  const partSize = subject.partSize ?? subject.store.capabilities.partSize;
  const memoryBoundBytes = subject.memoryBoundBytes ?? subject.store.capabilities.memoryBoundBytes;
  if (partSize === undefined || memoryBoundBytes === undefined) {
    throw new Error(`the ${subject.store.backend} subject must give partSize and memoryBoundBytes: its store's capabilities do not report them`);
  }
  return { ...subject, partSize, memoryBoundBytes };
}

/**
 * Replaces one contract case for a backend that differs, with the reason written down.
 * The replacement still runs and must assert the backend's actual behaviour: nothing skips.
 */
export interface ContractOverride {
  reason: string;
  test: (subject: ResolvedContractSubject) => Promise<void>;
}

export type ContractOverrides = Partial<Record<string, ContractOverride>>;

/** Registers one contract case under its name, or the backend's override of it. */
export type ContractCase = (caseName: string, body: (subject: ResolvedContractSubject) => Promise<void>) => void;
