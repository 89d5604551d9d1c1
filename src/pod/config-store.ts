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
import { DNS1123_SUBDOMAIN_RULE, isSubdomain } from '../names.js';
import { ownDataDir, type Settings } from '../runtime/host.js';
import { ensurePrivateDir, writeFileAtomic } from '../runtime/private-fs.js';

import type { ConfigKind, StoredConfig } from '../model.js';
export type { ConfigKind, ConfigOrigin, StoredConfig } from '../model.js';

/** The directory of one kind for a state root. */
export const configDir = (settings: Pick<Settings, 'dataDir' | 'cgroupRoot'>, kind: ConfigKind): string =>
  ownDataDir(settings, kind === 'Secret' ? 'secrets' : 'configmaps');

/** The file of one object. */
export const configFile = (settings: Pick<Settings, 'dataDir' | 'cgroupRoot'>, kind: ConfigKind, name: string): string =>
  path.join(configDir(settings, kind), `${validConfigName(kind, name)}.json`);

/** A ConfigMap's or Secret's name (a DNS-1123 subdomain), checked before it names a file: `../x` never leaves the store. */
export function validConfigName(kind: ConfigKind, name: string): string {
  if (!isSubdomain(name)) throw new BarepodError('invalid-name', `invalid ${kind} name ${JSON.stringify(name)}: must be ${DNS1123_SUBDOMAIN_RULE}`);
  if (name.length > MAX_STORED_NAME)
    throw new BarepodError('invalid-name', `${kind} name "${name.slice(0, 40)}…" is ${name.length} characters: barepod stores at most ${MAX_STORED_NAME}`, {
      hint: `its store file (<name>.json, written through a temporary .<name>.json.<16 hex>.tmp) must fit in 255 bytes: use a shorter name`,
    });
  return name;
}

/** The longest name whose store file's temporary name (`.<name>.json.<16 hex>.tmp`, private-fs.ts) fits in NAME_MAX (255). */
const MAX_STORED_NAME = 255 - '.'.length - '.json'.length - '.'.length - 16 - '.tmp'.length;

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

type Where = Pick<Settings, 'dataDir' | 'cgroupRoot'>;

/** What a stored object says, without barepod's bookkeeping: two objects with the same content are the same. */
const content = (c: StoredConfig): string => {
  const { barepod: _b, ...rest } = c;
  const sort = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v)
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([k, x]) => [k, sort(x)]),
        )
      : v;
  return JSON.stringify(sort(rest));
};

/** What storing an object did. */
export type StoreOutcome = 'created' | 'configured' | 'unchanged';

/**
 * Refuses storing `c` where an immutable object of the same name differs
 * (Kubernetes: "field is immutable when `immutable` is set"). Separate from
 * the write so `up -f` checks every object before it changes any.
 */
export function checkImmutable(settings: Where, c: StoredConfig): void {
  const old = readConfig(settings, c.kind, c.metadata.name);
  if (!old?.immutable || content(old) === content(c)) return;
  throw new BarepodError('already-exists', `${c.kind} "${c.metadata.name}" is immutable and differs from the one given`, {
    hint: `an immutable ${c.kind} is never changed: remove it first (barepod ${c.kind === 'Secret' ? 'secret' : 'configmap'} rm ${c.metadata.name}), then store the new one`,
  });
}

/**
 * Stores an object (a new file, written atomically, 0600 in a 0700 dir);
 * `unchanged` when the stored one says the same (its file is not touched).
 * `madeBy` records who made it, for `down -f`.
 */
export function writeConfig(settings: Where, c: StoredConfig, madeBy: string): StoreOutcome {
  checkImmutable(settings, c);
  const old = readConfig(settings, c.kind, c.metadata.name);
  if (old && content(old) === content(c) && old.barepod?.madeBy === madeBy) return 'unchanged';
  const now = new Date().toISOString();
  const stored: StoredConfig = { ...c, barepod: { madeBy, createdAt: old?.barepod?.createdAt ?? now, updatedAt: now } };
  if (old && content(old) === content(c)) stored.barepod!.updatedAt = old.barepod?.updatedAt ?? now;
  ensurePrivateDir(configDir(settings, c.kind), `${c.kind} store`);
  writeFileAtomic(configFile(settings, c.kind, c.metadata.name), JSON.stringify(stored, null, 2) + '\n', 0o600);
  return !old ? 'created' : content(old) === content(c) ? 'unchanged' : 'configured';
}

/** Removes a stored object; false when there was none. */
export function removeConfig(settings: Where, kind: ConfigKind, name: string): boolean {
  try {
    fs.unlinkSync(configFile(settings, kind, name));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
