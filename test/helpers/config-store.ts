/**
 * ConfigMaps and Secrets stored for a test's state root, written directly in
 * the store's on-disk format (src/pod/config-store.ts): one JSON file per
 * object, 0600 in 0700 dirs, under the data dir's per-root directory. The
 * directories are removed after the test.
 */
import fs from 'node:fs';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import { configDir, configFile, type ConfigKind, type StoredConfig } from '../../src/pod/config-store.js';
import type { TestEnv } from './harness.js';

/** The data dir the CLI uses in tests (BAREPOD_DATA is not set). */
export const DATA_DIR = '/var/lib/barepod';

const settingsOf = (t: TestEnv) => ({ dataDir: DATA_DIR, cgroupRoot: t.cgroupRoot });

const cleaned = new WeakSet<TestEnv>();

/** Stores a ConfigMap (values as text) or a Secret (values base64-encoded, as the store keeps them) for the test's state root. */
export function storeConfig(t: TestEnv, kind: ConfigKind, name: string, values: Record<string, string>): void {
  const s = settingsOf(t);
  if (!cleaned.has(t)) {
    cleaned.add(t);
    onTestFinished(() => {
      for (const k of ['ConfigMap', 'Secret'] as const) fs.rmSync(configDir(s, k), { recursive: true, force: true });
    });
  }
  const dir = configDir(s, kind);
  // every level the store owns is private: <dataDir>/<kind> and its per-root dir
  for (const d of [path.dirname(dir), dir]) {
    fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    fs.chmodSync(d, 0o700);
  }
  const data = kind === 'Secret' ? Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) : values;
  const obj: StoredConfig = { apiVersion: 'v1', kind, metadata: { name }, data };
  const file = configFile(s, kind, name);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(obj), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

/** Removes a stored object. */
export function unstoreConfig(t: TestEnv, kind: ConfigKind, name: string): void {
  fs.rmSync(configFile(settingsOf(t), kind, name), { force: true });
}
