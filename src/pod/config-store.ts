/**
 * ConfigMaps and Secrets kept for a state root: one JSON file per object,
 * `<dataDir>/configmaps[/<root tag>]/<name>.json` and
 * `<dataDir>/secrets[/<root tag>]/<name>.json`, each 0600 in 0700 dirs.
 *
 * The file holds the object as Kubernetes has it (`apiVersion`, `kind`,
 * `metadata`, `data`, `binaryData` for a ConfigMap; `data` base64 with
 * `stringData` folded into it for a Secret, plus `type`, `immutable`), so
 * `inspect` can print it as it was given. This module is the one reader:
 * volumes and env read values through `configValues`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BarepodError } from '../errors.js';
import { ownDataDir, type Settings } from '../runtime/host.js';

export type ConfigKind = 'ConfigMap' | 'Secret';

/** The directory of one kind for a state root. */
export const configDir = (settings: Pick<Settings, 'dataDir' | 'cgroupRoot'>, kind: ConfigKind): string =>
  ownDataDir(settings, kind === 'Secret' ? 'secrets' : 'configmaps');

/** The file of one object. */
export const configFile = (settings: Pick<Settings, 'dataDir' | 'cgroupRoot'>, kind: ConfigKind, name: string): string =>
  path.join(configDir(settings, kind), `${name}.json`);

/** A stored object as its file holds it. */
export interface StoredConfig {
  apiVersion: 'v1';
  kind: ConfigKind;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  /** ConfigMap: text values; Secret: base64 values */
  data?: Record<string, string>;
  /** ConfigMap only: base64 values */
  binaryData?: Record<string, string>;
  type?: string;
  immutable?: boolean;
}

/** The stored object, or undefined when there is none. */
export function readConfig(settings: Pick<Settings, 'dataDir' | 'cgroupRoot'>, kind: ConfigKind, name: string): StoredConfig | undefined {
  let text: string;
  try {
    text = fs.readFileSync(configFile(settings, kind, name), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return JSON.parse(text) as StoredConfig;
}

/** The names stored of one kind, sorted. */
export function listConfigs(settings: Pick<Settings, 'dataDir' | 'cgroupRoot'>, kind: ConfigKind): string[] {
  try {
    return fs
      .readdirSync(configDir(settings, kind))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** An object's values as bytes, by key (a ConfigMap's data and binaryData, a Secret's decoded data). */
export function configValues(c: StoredConfig): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const b64 = c.kind === 'Secret';
  for (const [k, v] of Object.entries(c.data ?? {})) out.set(k, b64 ? Buffer.from(v, 'base64') : Buffer.from(v, 'utf8'));
  for (const [k, v] of Object.entries(c.binaryData ?? {})) out.set(k, Buffer.from(v, 'base64'));
  return out;
}

/**
 * A container that cannot be configured: a ConfigMap, Secret or key its env
 * or volumes need is missing (and not optional). Kubernetes leaves such a
 * container waiting with reason `CreateContainerConfigError`; `ps` and `wait`
 * show that reason and this message.
 */
export class ContainerConfigError extends BarepodError {
  readonly reason = 'CreateContainerConfigError';
  constructor(
    readonly container: string,
    message: string,
  ) {
    super('container-config', `container ${container}: ${message}`, {
      hint: 'create what is missing (barepod configmap/secret, or the document in the file), or mark the reference optional: true',
    });
  }
}
