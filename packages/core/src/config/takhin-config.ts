/** Per-topic settings under `storage.tiered.topics.<topic>`; absent keys inherit the global ones. */
export interface TopicOverride {
  /** `false`: this topic is never tiered (pinned to local disk). */
  readonly enabled?: boolean;
  readonly coldAgeHours?: number;
  readonly warmAgeHours?: number;
}

/** The `storage.tiered` section, typed and with every default filled in. */
export interface TieredSettings {
  /** `storage.tiered.enabled`: without it nothing moves automatically and archiving is refused. */
  readonly enabled: boolean;
  /** `storage.tiered.backend`: the name of the backend section in use (`fs`, `s3`, …). */
  readonly backend: string;
  /** `storage.tiered.cold.age.hours`: segments unused this long go to the cold store. */
  readonly coldAgeHours: number;
  /** `storage.tiered.warm.age.hours`: segments unused this long are warm (still local). */
  readonly warmAgeHours: number;
  /** `storage.tiered.archive.interval.minutes`: how often the background archiver runs a cycle. */
  readonly archiveIntervalMinutes: number;
  /** `storage.tiered.archive.concurrency`: segments a cycle moves at once. */
  readonly archiveConcurrency: number;
  /** `storage.tiered.local.cache.size.mb`: budget for restored and warm segments plus cached chunks. */
  readonly localCacheSizeMb: number;
  /** `storage.tiered.auto.archive.enabled`: whether `start()` runs cycles on a timer. */
  readonly autoArchiveEnabled: boolean;
  /** `storage.tiered.cache.*`: the local chunk cache of remote reads. */
  readonly cache: { readonly dir: string | undefined; readonly chunkSizeMb: number };
  /** `storage.tiered.metadata.*`: where segment records are kept. */
  readonly metadata: { readonly store: 'sqlite' | 'memory'; readonly path: string | undefined };
  /** `storage.tiered.topics.<topic>.*`, keyed by the exact topic name. */
  readonly topics: Readonly<Record<string, TopicOverride>>;
  /** `storage.tiered.<backend>.*`: each backend's own section, validated by its provider. */
  readonly backends: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** The `console` section: the operator console's REST API and dashboard. */
export interface ConsoleSettings {
  /** `console.listen`: `host:port`; loopback unless said otherwise. */
  readonly listen: string;
  /** `console.token`: the bearer token every endpoint but `/healthz` requires. */
  readonly token: string | undefined;
}

/** Everything `loadConfig` returns: the settings this library reads, typed, defaults applied. */
export interface TakhinConfig {
  readonly storage: {
    readonly data: { readonly dir: string | undefined };
    readonly tiered: TieredSettings;
  };
  readonly console: ConsoleSettings;
}
