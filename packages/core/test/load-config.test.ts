import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createContainer, environmentName, loadConfig, parseConfigObject, type BackendProvider } from '@takhin/core';

/** A backend of the test's own: a provider is all `loadConfig` needs to validate a section. */
const s3Provider: BackendProvider = {
  name: 's3',
  parseConfig: (raw) =>
    parseConfigObject('storage.tiered.s3', raw, {
      bucket: { type: 'string', required: true },
      region: { type: 'string', required: true },
      partSizeMb: { type: 'number', min: 5 },
    }),
  create: () => {
    throw new Error('not used');
  },
};

/** The embedded default's provider, as far as loadConfig sees it: `root` is required. */
const fsProvider: BackendProvider = {
  name: 'fs',
  parseConfig: (raw) => parseConfigObject('storage.tiered.fs', raw, { root: { type: 'string', required: true, nonEmpty: true } }),
  create: () => {
    throw new Error('not used');
  },
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'takhin-config-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function yamlFile(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

/** The error `loadConfig` throws for `source`, as a `ConfigError`. */
function configError(source: string | Record<string, unknown>, env: Record<string, string> = {}, providers: BackendProvider[] = []): ConfigError {
  try {
    loadConfig(source, { env, providers });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it("reads the seed's takhin.yaml with dotted keys, applying the seed's defaults", async () => {
    const path = await yamlFile(
      'seed.yaml',
      `storage:
  data:
    dir: /var/lib/kafka
  tiered:
    enabled: true
    backend: s3
    s3:
      bucket: kafka-archive
      region: eu-west-1
      prefix: segments
      endpoint: http://127.0.0.1:9000
    cold.age.hours: 168
    archive.interval.minutes: 30
`,
    );
    const config = loadConfig(path, { env: {} });
    expect(config.storage.data.dir).toBe('/var/lib/kafka');
    expect(config.storage.tiered).toMatchObject({
      enabled: true,
      backend: 's3',
      coldAgeHours: 168,
      warmAgeHours: 72,
      archiveIntervalMinutes: 30,
      localCacheSizeMb: 10240,
      autoArchiveEnabled: true,
      metadata: { store: 'sqlite', path: '/var/lib/kafka/.takhin-tiered.db' },
      cache: { dir: '/var/lib/kafka-tiered/cache', chunkSizeMb: 4 },
    });
    expect(config.storage.tiered.backends.s3).toEqual({ bucket: 'kafka-archive', region: 'eu-west-1', prefix: 'segments', endpoint: 'http://127.0.0.1:9000' });
    expect(config.console).toEqual({ listen: '127.0.0.1:8080', token: undefined });
  });

  it('accepts nested maps for the same keys, and gives the same result', async () => {
    const nested = await yamlFile(
      'nested.yaml',
      `storage:
  data: { dir: /data }
  tiered:
    cold: { age: { hours: 100 } }
    warm: { age: { hours: 10 } }
    archive: { interval: { minutes: 5 } }
    local: { cache: { size: { mb: 64 } } }
    auto: { archive: { enabled: false } }
`,
    );
    const dotted = loadConfig({
      'storage.data.dir': '/data',
      'storage.tiered.cold.age.hours': 100,
      'storage.tiered.warm.age.hours': 10,
      'storage.tiered.archive.interval.minutes': 5,
      'storage.tiered.local.cache.size.mb': 64,
      'storage.tiered.auto.archive.enabled': false,
    });
    expect(loadConfig(nested)).toEqual(dotted);
    expect(dotted.storage.tiered).toMatchObject({ coldAgeHours: 100, warmAgeHours: 10, archiveIntervalMinutes: 5, localCacheSizeMb: 64, autoArchiveEnabled: false });
  });

  it('defaults to the embedded FS backend beside the data dir, with nothing else set', () => {
    const config = loadConfig({ storage: { data: { dir: '/srv/kafka/' } } });
    expect(config.storage.tiered.backend).toBe('fs');
    expect(config.storage.tiered.enabled).toBe(false);
    expect(config.storage.tiered.backends.fs).toEqual({ root: '/srv/kafka-tiered/cold' });
  });

  it('resolves relative paths in a file against the file’s folder', async () => {
    const path = await yamlFile('relative.yaml', 'storage.data.dir: ./data\nstorage.tiered.cache.dir: cache\n');
    const config = loadConfig(path);
    expect(config.storage.data.dir).toBe(join(dir, 'data'));
    expect(config.storage.tiered.cache.dir).toBe(join(dir, 'cache'));
  });

  it('lets environment variables override the file', async () => {
    const path = await yamlFile('env.yaml', 'storage:\n  tiered:\n    cold.age.hours: 168\n    s3: { bucket: from-file, region: us-east-1 }\n');
    const config = loadConfig(path, {
      env: {
        TAKHIN_STORAGE_TIERED_COLD_AGE_HOURS: '24',
        TAKHIN_STORAGE_TIERED_ENABLED: 'true',
        TAKHIN_STORAGE_TIERED_S3_BUCKET: 'from-env',
        TAKHIN_STORAGE_TIERED_S3_PART_SIZE_MB: '16',
        TAKHIN_CONSOLE_TOKEN: 's3cret',
        // The project's own scripts and the broker's settings share the prefix; they are not ours.
        TAKHIN_ROOT: '/x',
        TAKHIN_STORAGE_LOG_SEGMENT_SIZE: '1073741824',
        PATH: '/usr/bin',
      },
    });
    expect(config.storage.tiered.coldAgeHours).toBe(24);
    // Lowering only the cold age keeps a valid warm age: half of it.
    expect(config.storage.tiered.warmAgeHours).toBe(12);
    expect(config.storage.tiered.enabled).toBe(true);
    expect(config.storage.tiered.backends.s3).toEqual({ bucket: 'from-env', region: 'us-east-1', partSizeMb: '16' });
    expect(config.console.token).toBe('s3cret');
    expect(environmentName('storage.tiered.local.cache.size.mb')).toBe('TAKHIN_STORAGE_TIERED_LOCAL_CACHE_SIZE_MB');
  });

  it('loads a whole broker config, leaving the broker’s own sections alone', async () => {
    const path = await yamlFile(
      'broker.yaml',
      `server: { host: 0.0.0.0, port: 9092 }
kafka: { broker: { id: 1 } }
storage:
  data: { dir: /tmp/takhin-data }
  log: { segment: { size: 1073741824 } }
  cleaner: { enabled: true }
  tiered: { enabled: false }
logging: { level: info }
metrics: { enabled: true, port: 9090 }
`,
    );
    expect(loadConfig(path).storage.data.dir).toBe('/tmp/takhin-data');
  });

  it('keeps topic names whole under storage.tiered.topics, dots included', () => {
    const config = loadConfig({
      storage: {
        tiered: {
          topics: {
            'audit.log': { 'cold.age.hours': 24, warm: { age: { hours: 1 } } },
            'payments-v2': { enabled: false },
          },
        },
      },
    });
    expect(config.storage.tiered.topics).toEqual({
      'audit.log': { enabled: undefined, coldAgeHours: 24, warmAgeHours: 1 },
      'payments-v2': { enabled: false, coldAgeHours: 168, warmAgeHours: 72 },
    });
  });

  it('keeps topics named like Object.prototype members (constructor, toString, __proto__) as topics, and changes no other object', async () => {
    const path = await yamlFile(
      'prototype-names.yaml',
      `storage:
  tiered:
    topics:
      constructor: { enabled: false }
      toString: { cold.age.hours: 5 }
      __proto__: { enabled: false }
`,
    );
    const topics = loadConfig(path).storage.tiered.topics;
    expect(Object.keys(topics).sort()).toEqual(['__proto__', 'constructor', 'toString']);
    expect(topics.constructor).toEqual({ enabled: false, coldAgeHours: 168, warmAgeHours: 72 });
    expect(topics.toString).toEqual({ enabled: undefined, coldAgeHours: 5, warmAgeHours: 2.5 });
    // A topic without a section inherits the global ages, whatever its name.
    expect(loadConfig({}).storage.tiered.topics.valueOf).toBeUndefined();
    expect(({} as Record<string, unknown>).enabled).toBeUndefined();
    expect((Object as unknown as Record<string, unknown>).enabled).toBeUndefined();
  });

  it('refuses a __proto__ key wherever a setting is read, rather than setting the prototype of anything', async () => {
    for (const [text, key] of [
      ['storage.data.__proto__: 5\n', 'storage.data.__proto__'],
      ['console:\n  __proto__: 5\n', 'console.__proto__'],
    ] as const) {
      const error = configError(await yamlFile('prototype-key.yaml', text));
      expect(error.path).toBe(key);
      expect(error.message).toMatch(/unknown key/);
    }
    // A third party's backend section is kept for its provider, under its own name.
    const backends = loadConfig(await yamlFile('prototype-backend.yaml', 'storage.tiered.backend: __proto__\nstorage.tiered.__proto__.polluted: 1\n')).storage.tiered.backends;
    expect(Object.keys(backends)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a topic section whose name Kafka would not allow, so it could never match', () => {
    for (const topic of ['../etc', 'a/b', 'café', '..']) {
      const error = configError({ storage: { tiered: { topics: { [topic]: { enabled: false } } } } });
      expect(error.path).toBe(`storage.tiered.topics.${topic}`);
      expect(error.message).toContain(`${JSON.stringify(topic)} is not a Kafka topic name`);
    }
  });

  it('takes a section written with nothing in it (null, its children commented out) as empty', async () => {
    const commented = await yamlFile(
      'commented.yaml',
      `storage:
  data:
    dir: /data
  tiered:
    # enabled: true
    # cold.age.hours: 24
console:
`,
    );
    const empty = loadConfig({ storage: { data: { dir: '/data' } } });
    expect(loadConfig(commented)).toEqual(empty);
    expect(loadConfig(await yamlFile('storage-only.yaml', 'storage:\n'))).toEqual(loadConfig({}));
    const topic = await yamlFile('empty-topic.yaml', 'storage:\n  data.dir: /data\n  tiered:\n    s3:\n    topics:\n      audit:\n        # cold.age.hours: 24\n');
    expect(loadConfig(topic)).toEqual(empty);
  });

  it('lets a topic inherit what it does not set from the global section', () => {
    const topics = (tiered: Record<string, unknown>, env: Record<string, string> = {}) => loadConfig({ storage: { tiered } }, { env }).storage.tiered.topics;
    const global = { 'warm.age.hours': 100, 'cold.age.hours': 200 };
    expect(topics({ ...global, topics: { audit: { 'cold.age.hours': 150 } } }).audit).toMatchObject({ warmAgeHours: 100, coldAgeHours: 150 });
    expect(topics({ ...global, topics: { audit: { 'warm.age.hours': 20 } } }).audit).toMatchObject({ warmAgeHours: 20, coldAgeHours: 200 });
    expect(topics({ ...global, topics: { audit: { enabled: false } } }).audit).toMatchObject({ warmAgeHours: 100, coldAgeHours: 200 });
    // A warm age set nowhere is the default of the topic's own cold age (72, or half of it).
    expect(topics({ topics: { audit: { 'cold.age.hours': 150 } } }, { TAKHIN_STORAGE_TIERED_COLD_AGE_HOURS: '24' }).audit).toMatchObject({ warmAgeHours: 72, coldAgeHours: 150 });
    expect(topics({ topics: { audit: { 'cold.age.hours': 10 } } }).audit).toMatchObject({ warmAgeHours: 5, coldAgeHours: 10 });
    // An inherited warm age the topic's cold age is not above: named as inherited.
    const error = configError({ storage: { tiered: { ...global, topics: { audit: { 'cold.age.hours': 50 } } } } });
    expect(error.message).toBe(
      'invalid configuration "storage.tiered.topics.audit.cold.age.hours": must be more than storage.tiered.warm.age.hours (100), which the topic inherits, got 50: a segment turns warm before it turns cold',
    );
    expect(configError({ storage: { tiered: { ...global, topics: { audit: { 'warm.age.hours': 250 } } } } }).message).toMatch(
      /"storage.tiered.topics.audit.warm.age.hours": must be less than storage.tiered.cold.age.hours \(200\), which the topic inherits, got 250/,
    );
  });

  describe('errors name the key, the value and what was expected', () => {
    it('a section that is not a map of settings', async () => {
      for (const [source, path, got] of [
        [{ storage: { tiered: [] } }, 'storage.tiered', 'an array'],
        [{ storage: { tiered: 'fast' } }, 'storage.tiered', '"fast"'],
        [{ storage: [] }, 'storage', 'an array'],
        [{ storage: { data: '/data' } }, 'storage.data', '"/data"'],
        [{ console: 8080 }, 'console', 'number 8080'],
        [{ storage: { tiered: { topics: ['audit'] } } }, 'storage.tiered.topics', 'an array'],
        [{ storage: { tiered: { s3: 'bucket' } } }, 'storage.tiered.s3', '"bucket"'],
      ] as const) {
        const error = configError(source as Record<string, unknown>);
        expect(error.path).toBe(path);
        expect(error.message).toBe(`invalid configuration "${path}": expected a map of settings, got ${got}`);
      }
      expect(configError(await yamlFile('list-tiered.yaml', 'storage:\n  tiered: []\n')).message).toMatch(/"storage.tiered": expected a map of settings, got an array/);
      // A misspelt section is still one, empty or not.
      expect(configError({ storage: { tierd: null } }).message).toMatch(/"storage.tierd": unknown key/);
    });


    it('an unknown key, with the nearest known one', () => {
      const error = configError({ storage: { tiered: { 'cold.age.hour': 3 } } });
      expect(error.path).toBe('storage.tiered.cold.age.hour');
      expect(error.message).toMatch(/unknown key \(did you mean "storage.tiered.cold.age.hours"\?\)/);
    });

    it('a misspelt backend section', () => {
      expect(configError({ storage: { tiered: { s4: { bucket: 'b' } } } }).message).toMatch(/"storage.tiered.s4.bucket": unknown key \(did you mean "storage.tiered.s3.bucket"\?\)/);
    });

    it("a value YAML gives as a set, an ordered map, bytes or a date, rather than setting nothing", async () => {
      for (const [text, path, got] of [
        ['storage.tiered.cold.age.hours: !!set { a, b }\n', 'storage.tiered.cold.age.hours', 'a Set'],
        ['storage:\n  tiered: !!omap [ { enabled: true } ]\n', 'storage.tiered', 'a Map'],
        ['storage.tiered.cold.age.hours: !!binary aGVsbG8=\n', 'storage.tiered.cold.age.hours', 'a Buffer'],
        ['storage.tiered.cold.age.hours: 2001-12-14\n', 'storage.tiered.cold.age.hours', '"2001-12-14"'],
        ['storage.tiered.cold.age.hours: !!timestamp 2001-12-14\n', 'storage.tiered.cold.age.hours', 'a Date'],
      ] as const) {
        const error = configError(await yamlFile('yaml-collection.yaml', text));
        expect(error.path).toBe(path);
        expect(error.message).toContain(`got ${got}`);
      }
    });

    it('a misspelt section, even an empty one', () => {
      expect(configError({ storge: {} }).message).toMatch(/"storge": unknown key.*did you mean "storage"/);
    });

    it('a value of the wrong type', () => {
      const error = configError({ storage: { tiered: { 'cold.age.hours': 'a week' } } });
      expect(error.message).toBe('invalid configuration "storage.tiered.cold.age.hours": expected a decimal number, got "a week"');
      expect(configError({ storage: { tiered: { enabled: 'yes' } } }).message).toMatch(/"storage.tiered.enabled": expected true or false, got "yes"/);
      expect(configError({ storage: { tiered: { 'archive.concurrency': 0 } } }).message).toMatch(/"storage.tiered.archive.concurrency": must be at least 1, got 0/);
      expect(configError({ storage: { tiered: { 'metadata.store': 'redis' } } }).message).toMatch(/must be one of "sqlite", "memory", got "redis"/);
    });

    it('a timer interval longer than a Node timer holds (2^31−1 ms), which would fire every 1 ms', () => {
      const longest = loadConfig({ storage: { tiered: { 'archive.interval.minutes': 35791 } } }).storage.tiered.archiveIntervalMinutes;
      expect(longest * 60_000).toBeLessThanOrEqual(2 ** 31 - 1);
      expect(configError({ storage: { tiered: { 'archive.interval.minutes': 100000 } } }).message).toBe(
        'invalid configuration "storage.tiered.archive.interval.minutes": must be at most 35791, got 100000',
      );
      expect(configError({ storage: { tiered: { 'archive.interval.minutes': 35792 } } }).path).toBe('storage.tiered.archive.interval.minutes');
      expect(configError({}, { TAKHIN_STORAGE_TIERED_ARCHIVE_INTERVAL_MINUTES: '100000' }).message).toMatch(/must be at most 35791, got 100000 \(set by environment variable/);
    });

    it('at most a few dozen characters of a value, never a whole file', async () => {
      const lines = Array.from({ length: 50 }, (_, i) => `user${i}:x:${i}:${i}:User ${i}:/home/user${i}:/usr/sbin/nologin`);
      const passwd = configError(await yamlFile('passwd', `${lines.join('\n')}\n`)).message;
      expect(passwd).toMatch(/^invalid configuration "\(root\)": expected a map of settings in passwd, got "user0:x:0:0:User 0:.{20,60}…"$/);
      expect(passwd).not.toContain('user9');
      const long = 'x'.repeat(5000);
      for (const source of [
        { storage: { tiered: { 'cold.age.hours': long } } },
        { storage: { tiered: { 'metadata.store': long } } },
        { storage: { tiered: { enabled: long } } },
        { storage: { tiered: long } },
        { storage: { tiered: { topics: { audit: long } } } },
        { storage: { data: { dir: `/data\0${long}` } } },
      ]) {
        const { message } = configError(source);
        expect(message).toContain('…"');
        expect(message.length).toBeLessThan(200);
      }
    });

    it('a bad value from the environment names the variable', () => {
      const error = configError({}, { TAKHIN_STORAGE_TIERED_COLD_AGE_HOURS: 'abc' });
      expect(error.message).toBe(
        'invalid configuration "storage.tiered.cold.age.hours": expected a decimal number, got "abc" (set by environment variable TAKHIN_STORAGE_TIERED_COLD_AGE_HOURS)',
      );
    });

    it("a bad value a backend's environment variable set names the variable, loaded with the providers or not", () => {
      const env = { TAKHIN_STORAGE_TIERED_BACKEND: 's3', TAKHIN_STORAGE_TIERED_S3_BUCKET: 'b', TAKHIN_STORAGE_TIERED_S3_REGION: 'r', TAKHIN_STORAGE_TIERED_S3_PART_SIZE_MB: 'big' };
      const expected = 'invalid configuration "storage.tiered.s3.partSizeMb": expected a decimal number, got "big" (set by environment variable TAKHIN_STORAGE_TIERED_S3_PART_SIZE_MB)';
      expect(configError({}, env, [s3Provider]).message).toBe(expected);
      expect(() => createContainer(loadConfig({}, { env }), [s3Provider])).toThrow(expected);
      // A value from the file is named as the file's.
      expect(() => createContainer(loadConfig({ 'storage.tiered.backend': 's3', 'storage.tiered.s3': { bucket: 'b', region: 'r', partSizeMb: 'big' } }), [s3Provider])).toThrow(
        'invalid configuration "storage.tiered.s3.partSizeMb": expected a decimal number, got "big"',
      );
    });

    it('an unknown environment variable under our prefixes, with a suggestion', () => {
      expect(configError({}, { TAKHIN_STORAGE_TIERED_COLD_AGE_HOUR: '3' }).message).toMatch(
        /"TAKHIN_STORAGE_TIERED_COLD_AGE_HOUR": unknown environment variable \(did you mean TAKHIN_STORAGE_TIERED_COLD_AGE_HOURS\?\)/,
      );
    });

    it('warm.age.hours at or above cold.age.hours', () => {
      expect(configError({ storage: { tiered: { 'warm.age.hours': 168 } } }).message).toMatch(
        /"storage.tiered.warm.age.hours": must be less than storage.tiered.cold.age.hours \(168, not set: the default\), got 168/,
      );
      expect(configError({ storage: { tiered: { 'warm.age.hours': 100, 'cold.age.hours': 100 } } }).message).toMatch(
        /"storage.tiered.warm.age.hours": must be less than storage.tiered.cold.age.hours \(100\), got 100/,
      );
      expect(configError({ storage: { tiered: { 'warm.age.hours': 100 } } }, { TAKHIN_STORAGE_TIERED_COLD_AGE_HOURS: '24' }).message).toMatch(/must be less than .*\(24\), got 100/);
      expect(configError({ storage: { tiered: { topics: { t: { 'warm.age.hours': 5, 'cold.age.hours': 5 } } } } }).path).toBe('storage.tiered.topics.t.warm.age.hours');
    });

    it('the age the user set, not the one defaulted from it', () => {
      const error = configError({ storage: { tiered: { 'cold.age.hours': 0 } } });
      expect(error.path).toBe('storage.tiered.cold.age.hours');
      expect(error.message).toBe(
        'invalid configuration "storage.tiered.cold.age.hours": must be more than storage.tiered.warm.age.hours (0, not set: half the cold age, at most 72), got 0: a segment turns warm before it turns cold',
      );
      expect(configError({}, { TAKHIN_STORAGE_TIERED_COLD_AGE_HOURS: '0' }).message).toMatch(/"storage.tiered.cold.age.hours": .*got 0.*\(set by environment variable TAKHIN_STORAGE_TIERED_COLD_AGE_HOURS\)/);
      expect(configError({ storage: { tiered: { topics: { audit: { 'cold.age.hours': 0 } } } } }).path).toBe('storage.tiered.topics.audit.cold.age.hours');
    });

    it('one setting written twice, dotted and nested', () => {
      expect(configError({ storage: { tiered: { 'cold.age.hours': 1, cold: { age: { hours: 2 } } } } }).message).toMatch(/"storage.tiered.cold.age.hours": is set twice/);
    });

    it('a per-topic setting written as a dotted path', () => {
      expect(configError({ 'storage.tiered.topics.orders.cold.age.hours': 1 }).message).toMatch(/keyed by topic name/);
    });

    it('a missing or broken file', async () => {
      expect(configError(join(dir, 'nope.yaml')).message).toMatch(/config file does not exist/);
      const broken = await yamlFile('broken.yaml', 'storage:\n  tiered: [1,\n');
      expect(configError(broken).message).toMatch(/is not valid YAML/);
      const duplicate = await yamlFile('duplicate.yaml', 'storage:\n  data: { dir: /a }\n  data: { dir: /b }\n');
      expect(configError(duplicate).message).toMatch(/is not valid YAML.*unique/is);
    });

    it('a missing storage.data.dir, named before the FS root it would have given', async () => {
      const error = configError({ storage: { tiered: { enabled: true } } }, {}, [fsProvider]);
      expect(error.path).toBe('storage.data.dir');
      expect(error.message).toMatch(/"storage.data.dir": is required .*\(or set storage.tiered.fs.root\)/);
      expect(configError(await yamlFile('no-data-dir.yaml', 'storage:\n  tiered:\n    enabled: true\n'), {}, [fsProvider]).path).toBe('storage.data.dir');
      // An fs section that is written, even empty, is missing its root.
      expect(configError({ storage: { tiered: { fs: {} } } }, {}, [fsProvider]).path).toBe('storage.tiered.fs.root');
      expect(configError({ 'storage.tiered.fs': {} }, {}, [fsProvider]).path).toBe('storage.tiered.fs.root');
      expect(loadConfig({ storage: { data: { dir: '/data' } } }, { providers: [fsProvider] }).storage.tiered.backends.fs).toEqual({ root: '/data-tiered/cold' });
      // Loaded without providers (the README's way), the container names it the same way.
      const loaded = loadConfig({ storage: { tiered: { enabled: true } } });
      expect(() => createContainer(loaded, [fsProvider])).toThrow(/"storage.data.dir": is required .*\(or set storage.tiered.fs.root\)/);
    });

    it("the backend's own keys, when its provider is given", () => {
      expect(configError({ storage: { tiered: { backend: 's3', s3: { bucket: 'b', region: 'r', partSizeMb: 1 } } } }, {}, [s3Provider]).path).toBe(
        'storage.tiered.s3.partSizeMb',
      );
    });

    it('a backend section not in use, loaded without providers and given to createContainer (the README way)', () => {
      const loaded = loadConfig({ storage: { data: { dir: '/data' }, tiered: { backend: 'fs', s3: { buckett: 'b', region: 'r' } } } });
      expect(() => createContainer(loaded, [fsProvider, s3Provider])).toThrow(/"storage.tiered.s3.buckett": unknown key \(did you mean "bucket"\?\)/);
      const wrongType = loadConfig({ storage: { data: { dir: '/data' }, tiered: { s3: { bucket: 5, region: 'r' } } } });
      expect(() => createContainer(wrongType, [fsProvider, s3Provider])).toThrow(/"storage.tiered.s3.bucket": expected a string, got number/);
      // A section whose provider is not given is left for that provider.
      expect(() => createContainer(loaded, [fsProvider])).not.toThrow();
    });
  });

  it('returns a frozen config', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config.storage.tiered)).toBe(true);
  });
});
