/**
 * v1 ConfigMap and Secret documents, read strictly (every problem names its
 * field path), and the volume sources that project them into a pod
 * (`configMap`, `secret`, `downwardAPI`, `projected`). Kubernetes' rules:
 * object names are DNS-1123 subdomains, keys `[-._a-zA-Z0-9]+` (at most 253
 * characters, not `.` or `..`, not starting with `..`), at most 1 MiB of
 * data per object; a Secret's `data` is base64 and `stringData` is folded
 * into it.
 */
import type { DownwardAPIFile, KeyToPath, Projection, VolumeKind, VolumeOf } from '../model.js';
import type { DocumentResult, ManifestObject, ParseOptions } from './pod.js';
import type { StoredConfig, ConfigKind } from '../model.js';
import { DNS1123_SUBDOMAIN_RULE, isSubdomain } from '../names.js';
import { bool, checkKeys, int, Issues, list, obj, str, stringMap, type Obj } from './fields.js';

/** Kubernetes' limit on the data of one ConfigMap or Secret (keys and values). */
const CONFIG_MAX_BYTES = 1024 * 1024;

/** Kubernetes' DNS-1123 subdomain: what ConfigMaps and Secrets are named by. */
export const SUBDOMAIN_RULE =
  "a DNS-1123 subdomain: at most 253 characters, lower-case letters, digits, '-' and '.', starting and ending with a letter or digit";
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Whether `name` may name a ConfigMap or Secret (and so its file in the store). */
export const isConfigName = (name: string): boolean => name.length > 0 && name.length <= 253 && SUBDOMAIN.test(name);

/** Why a ConfigMap/Secret key is refused, or undefined when it is valid (Kubernetes' IsConfigMapKey). */
export function configKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'a key must not be empty';
  if (key.length > 253) return `"${key.slice(0, 40)}…" is ${key.length} characters: a key has at most 253`;
  if (!/^[-._a-zA-Z0-9]+$/.test(key)) return `"${key}" is not a valid key: letters, digits, '-', '_' and '.' only`;
  if (key === '.' || key === '..') return `"${key}" is not a valid key`;
  if (key.startsWith('..')) return `"${key}" must not start with ".." (that names the volume's own entries)`;
  return undefined;
}

const META_KEYS = ['name', 'namespace', 'labels', 'annotations'];
const META_UNSUPPORTED = ['generateName', 'uid', 'ownerReferences', 'finalizers', 'resourceVersion', 'creationTimestamp', 'managedFields'];

/** The metadata of a ConfigMap or Secret: its name (a subdomain), labels, annotations. */
function readMeta(is: Issues, value: Obj): StoredConfig['metadata'] | undefined {
  const meta = obj(is, value.metadata, 'metadata') ?? (is.error('metadata', 'is required'), undefined);
  if (!meta) return undefined;
  checkKeys(is, meta, 'metadata', META_KEYS, META_UNSUPPORTED);
  const name = str(is, meta.name, 'metadata.name', true);
  if (name !== undefined && !isSubdomain(name)) is.error('metadata.name', `"${name}" must be ${DNS1123_SUBDOMAIN_RULE}`);
  if (meta.namespace !== undefined && meta.namespace !== 'default') is.unsupported('metadata.namespace', 'only the "default" namespace exists on one host');
  const labels = stringMap(is, meta.labels, 'metadata.labels');
  const annotations = stringMap(is, meta.annotations, 'metadata.annotations');
  if (name === undefined) return undefined;
  return {
    name,
    ...(labels && Object.keys(labels).length ? { labels } : {}),
    ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
  };
}

/** A map of string values whose keys are ConfigMap keys. */
function keyedStrings(is: Issues, v: unknown, path: string): Record<string, string> | undefined {
  const m = stringMap(is, v, path);
  if (!m) return undefined;
  for (const k of Object.keys(m)) {
    const why = configKeyProblem(k);
    if (why) is.error(`${path}.${k}`, why);
  }
  return m;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A map of base64 values (binaryData, a Secret's data): each value checked, never echoed (it may be a secret). */
function base64Values(is: Issues, v: unknown, path: string): Record<string, string> | undefined {
  const m = keyedStrings(is, v, path);
  if (!m) return undefined;
  for (const [k, val] of Object.entries(m)) {
    if (!BASE64.test(val.replace(/\s+/g, ''))) is.error(`${path}.${k}`, 'is not valid base64 (its value is not shown)');
    else m[k] = val.replace(/\s+/g, '');
  }
  return m;
}

/** Keys plus values of an object's data, in bytes (values decoded). */
export function configBytes(c: Pick<StoredConfig, 'kind' | 'data' | 'binaryData'>): number {
  let n = 0;
  for (const [k, v] of Object.entries(c.data ?? {})) n += Buffer.byteLength(k) + (c.kind === 'Secret' ? Buffer.from(v, 'base64').length : Buffer.byteLength(v));
  for (const [k, v] of Object.entries(c.binaryData ?? {})) n += Buffer.byteLength(k) + Buffer.from(v, 'base64').length;
  return n;
}

function checkSize(is: Issues, c: StoredConfig): void {
  const n = configBytes(c);
  if (n > CONFIG_MAX_BYTES) is.error('data', `${n} bytes of keys and values: more than the limit of 1 MiB (${CONFIG_MAX_BYTES} bytes) of a ${c.kind}`);
}

/** The keys a Secret of a known type must hold (Kubernetes' validation of those types). */
const SECRET_TYPE_KEYS: Record<string, string[]> = {
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
  'kubernetes.io/basic-auth': [],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/dockercfg': ['.dockercfg'],
};

/** A v1 ConfigMap into the form the store keeps. */
export function parseConfigMap(is: Issues, value: Obj): StoredConfig | undefined {
  checkKeys(is, value, '', ['apiVersion', 'kind', 'metadata', 'data', 'binaryData', 'immutable']);
  if (value.apiVersion !== 'v1') is.error('apiVersion', `must be "v1", got ${JSON.stringify(value.apiVersion ?? null)}`);
  const metadata = readMeta(is, value);
  const data = keyedStrings(is, value.data, 'data');
  const binaryData = base64Values(is, value.binaryData, 'binaryData');
  for (const k of Object.keys(binaryData ?? {}))
    if (data && Object.hasOwn(data, k)) is.error(`binaryData.${k}`, 'is a key of data too: a key is in one of them');
  const immutable = bool(is, value.immutable, 'immutable');
  if (!metadata) return undefined;
  const c: StoredConfig = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata,
    ...(data && Object.keys(data).length ? { data } : {}),
    ...(binaryData && Object.keys(binaryData).length ? { binaryData } : {}),
    ...(immutable !== undefined ? { immutable } : {}),
  };
  checkSize(is, c);
  return c;
}

/** A v1 Secret into the form the store keeps: `stringData` folded into `data` (base64), as the API server does. */
export function parseSecret(is: Issues, value: Obj): StoredConfig | undefined {
  checkKeys(is, value, '', ['apiVersion', 'kind', 'metadata', 'data', 'stringData', 'type', 'immutable']);
  if (value.apiVersion !== 'v1') is.error('apiVersion', `must be "v1", got ${JSON.stringify(value.apiVersion ?? null)}`);
  const metadata = readMeta(is, value);
  const data = base64Values(is, value.data, 'data') ?? {};
  const stringData = keyedStrings(is, value.stringData, 'stringData') ?? {};
  for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(v, 'utf8').toString('base64');
  const type = str(is, value.type, 'type') ?? 'Opaque';
  if (!/^[-._a-zA-Z0-9/]+$/.test(type) || type.length > 253) is.error('type', `"${type}" is not a Secret type (such as Opaque or kubernetes.io/tls)`);
  if (type === 'kubernetes.io/service-account-token') is.unsupported('type', 'service account tokens need a cluster: barepod has none');
  for (const k of SECRET_TYPE_KEYS[type] ?? []) if (!Object.hasOwn(data, k)) is.error('data', `a Secret of type ${type} must have the key "${k}"`);
  if (type === 'kubernetes.io/basic-auth' && !Object.hasOwn(data, 'username') && !Object.hasOwn(data, 'password'))
    is.error('data', 'a Secret of type kubernetes.io/basic-auth must have the key "username" or "password"');
  const immutable = bool(is, value.immutable, 'immutable');
  if (!metadata) return undefined;
  const c: StoredConfig = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata,
    ...(Object.keys(data).length ? { data } : {}),
    type,
    ...(immutable !== undefined ? { immutable } : {}),
  };
  checkSize(is, c);
  return c;
}

/** The document readers of the two kinds (registered in DOCUMENT_KINDS): each gives one object, in the store's form. */
export const configDocument =
  (kind: ConfigKind) =>
  (is: Issues, value: Obj, _o: ParseOptions): DocumentResult | undefined => {
    const c = kind === 'Secret' ? parseSecret(is, value) : parseConfigMap(is, value);
    if (!c || is.errors.length) return undefined;
    const object: ManifestObject = { kind, name: c.metadata.name, source: c as unknown as Obj };
    return { objects: [object] };
  };

/** The stored form of a ConfigMap or Secret object of a manifest (its reader put it in `source`). */
export const storedForm = (o: ManifestObject): StoredConfig => o.source as unknown as StoredConfig;

/** Whether a manifest object is a ConfigMap or Secret. */
export const isConfigObject = (o: ManifestObject): boolean => o.kind === 'ConfigMap' || o.kind === 'Secret';

// ---- volume sources ----

/** Kubernetes' defaultMode of configMap, secret, downwardAPI and projected volumes. */
export const DEFAULT_FILE_MODE = 0o644;

/** A file mode: 0 to 0777 (YAML's 0644 is octal, as in Kubernetes). */
function fileMode(is: Issues, v: unknown, path: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number' && Number.isInteger(v) && (v < 0 || v > 0o777))
    return is.error(path, `must be a file mode from 0 to 0777 (511), got 0${v.toString(8)} (${v}); YAML's 0644 and 0o644 are octal`);
  return int(is, v, path, 0, 0o777);
}

/** A relative path below the volume: no "..", not absolute, not starting with "..". */
function itemPath(is: Issues, v: unknown, at: string): string | undefined {
  const p = str(is, v, at, true);
  if (p === undefined) return undefined;
  if (p === '' || p.startsWith('/')) return is.error(at, `"${p}" must be a relative path`);
  if (p.split('/').includes('..')) return is.error(at, `"${p}" must not contain ".."`);
  if (p.startsWith('..')) return is.error(at, `"${p}" must not start with ".."`);
  if (p.length > 4096 || /[\0\n]/.test(p)) return is.error(at, 'is not a path');
  return p;
}

function keyItems(is: Issues, v: unknown, path: string): KeyToPath[] | undefined {
  const items = list(is, v, path);
  if (!items) return undefined;
  const out: KeyToPath[] = [];
  items.forEach((item, i) => {
    const at = `${path}[${i}]`;
    const o = obj(is, item, at);
    if (!o) return;
    checkKeys(is, o, at, ['key', 'path', 'mode']);
    const key = str(is, o.key, `${at}.key`, true);
    if (key !== undefined && configKeyProblem(key)) is.error(`${at}.key`, configKeyProblem(key)!);
    const p = itemPath(is, o.path, `${at}.path`);
    const mode = fileMode(is, o.mode, `${at}.mode`);
    if (key !== undefined && p !== undefined) out.push({ key, path: p, ...(mode !== undefined ? { mode } : {}) });
  });
  return out;
}

/** The pod fields a downwardAPI volume can project (Kubernetes' list for volumes, but metadata.uid: a barepod pod has none). */
const DOWNWARD_FIELDS = ['metadata.name', 'metadata.namespace', 'metadata.labels', 'metadata.annotations'];
const RESOURCES = ['limits.cpu', 'limits.memory', 'requests.cpu', 'requests.memory'];

function downwardItems(is: Issues, v: unknown, path: string, containers?: Set<string>): DownwardAPIFile[] {
  const out: DownwardAPIFile[] = [];
  (list(is, v, path) ?? []).forEach((item, i) => {
    const at = `${path}[${i}]`;
    const o = obj(is, item, at);
    if (!o) return;
    checkKeys(is, o, at, ['path', 'mode', 'fieldRef', 'resourceFieldRef']);
    const p = itemPath(is, o.path, `${at}.path`);
    const mode = fileMode(is, o.mode, `${at}.mode`);
    const f = obj(is, o.fieldRef, `${at}.fieldRef`);
    const r = obj(is, o.resourceFieldRef, `${at}.resourceFieldRef`);
    if ((f === undefined) === (r === undefined)) is.error(at, 'needs exactly one of fieldRef and resourceFieldRef');
    let file: DownwardAPIFile | undefined;
    if (f) {
      checkKeys(is, f, `${at}.fieldRef`, ['fieldPath', 'apiVersion']);
      const fp = str(is, f.fieldPath, `${at}.fieldRef.fieldPath`, true);
      if (f.apiVersion !== undefined && f.apiVersion !== 'v1') is.error(`${at}.fieldRef.apiVersion`, 'must be "v1"');
      const known = fp !== undefined && (DOWNWARD_FIELDS.includes(fp) || /^metadata\.(labels|annotations)\['[^']+'\]$/.test(fp));
      if (fp !== undefined && !known)
        is.error(
          `${at}.fieldRef.fieldPath`,
          `"${fp}" is not supported in a volume (${DOWNWARD_FIELDS.join(', ')}, metadata.labels['KEY'], metadata.annotations['KEY'])`,
        );
      if (fp !== undefined && known && p !== undefined) file = { path: p, fieldRef: { fieldPath: fp } };
    }
    if (r) {
      checkKeys(is, r, `${at}.resourceFieldRef`, ['containerName', 'resource', 'divisor']);
      const containerName = str(is, r.containerName, `${at}.resourceFieldRef.containerName`, true);
      if (containerName !== undefined && containers && !containers.has(containerName))
        is.error(`${at}.resourceFieldRef.containerName`, `"${containerName}" is not a container of this pod`);
      const resource = str(is, r.resource, `${at}.resourceFieldRef.resource`, true);
      if (resource !== undefined && !RESOURCES.includes(resource))
        is.error(`${at}.resourceFieldRef.resource`, `"${resource}" is not supported (${RESOURCES.join(', ')})`);
      const divisor = r.divisor === undefined ? undefined : String(r.divisor);
      if (divisor !== undefined && resource !== undefined) {
        const ok = resource.endsWith('cpu') ? ['1', '1m'].includes(divisor) : /^1(k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.test(divisor);
        if (!ok)
          is.error(
            `${at}.resourceFieldRef.divisor`,
            `"${divisor}" is not a divisor of ${resource} (${resource.endsWith('cpu') ? '1 or 1m' : '1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei'})`,
          );
      }
      if (containerName !== undefined && resource !== undefined && p !== undefined)
        file = { path: p, resourceFieldRef: { containerName, resource, ...(divisor !== undefined ? { divisor } : {}) } };
    }
    if (file) out.push({ ...file, ...(mode !== undefined ? { mode } : {}) });
  });
  return out;
}

/** A configMap (`name`) or secret (`secretName`) source: its object, items, optional. */
function configSource(is: Issues, o: Obj, at: string, kind: 'configMap' | 'secret', nameKey: string): Projection | undefined {
  const name = str(is, o[nameKey], `${at}.${nameKey}`, true);
  if (name !== undefined && !isSubdomain(name)) is.error(`${at}.${nameKey}`, `"${name}" must be ${DNS1123_SUBDOMAIN_RULE}`);
  const items = keyItems(is, o.items, `${at}.items`);
  const optional = bool(is, o.optional, `${at}.optional`) ?? false;
  if (name === undefined) return undefined;
  return { kind, name, ...(items ? { items } : {}), optional };
}

/** The paths two sources (or items) of one volume both write are an error (Kubernetes refuses a projected volume's conflicts). */
function checkPaths(is: Issues, at: string, sources: Projection[]): void {
  const seen = new Set<string>();
  for (const s of sources) {
    const paths = s.kind === 'downwardAPI' ? s.items.map((i) => i.path) : (s.items ?? []).map((i) => i.path);
    for (const p of paths) {
      if (seen.has(p)) is.error(at, `path "${p}" is written twice`);
      seen.add(p);
    }
  }
}

type ProjectedKind = 'configMap' | 'secret' | 'downwardAPI' | 'projected';
type Parser<K extends VolumeKind> = (is: Issues, raw: unknown, at: string, name: string, containers?: Set<string>) => VolumeOf<K> | undefined;

/** The parsers of the four volume kinds barepod writes files for (manifest/pod.ts's VOLUME_PARSERS takes them). */
export const PROJECTED_VOLUME_PARSERS: { [K in ProjectedKind]: Parser<K> } = {
  configMap: (is, raw, at, name) => {
    const o = obj(is, raw, at);
    if (!o) return undefined;
    checkKeys(is, o, at, ['name', 'items', 'defaultMode', 'optional']);
    const defaultMode = fileMode(is, o.defaultMode, `${at}.defaultMode`) ?? DEFAULT_FILE_MODE;
    const s = configSource(is, o, at, 'configMap', 'name');
    if (s) checkPaths(is, `${at}.items`, [s]);
    return s ? { kind: 'configMap', name, defaultMode, sources: [s] } : undefined;
  },
  secret: (is, raw, at, name) => {
    const o = obj(is, raw, at);
    if (!o) return undefined;
    checkKeys(is, o, at, ['secretName', 'items', 'defaultMode', 'optional']);
    const defaultMode = fileMode(is, o.defaultMode, `${at}.defaultMode`) ?? DEFAULT_FILE_MODE;
    const s = configSource(is, o, at, 'secret', 'secretName');
    if (s) checkPaths(is, `${at}.items`, [s]);
    return s ? { kind: 'secret', name, defaultMode, sources: [s] } : undefined;
  },
  downwardAPI: (is, raw, at, name, containers) => {
    const o = obj(is, raw, at);
    if (!o) return undefined;
    checkKeys(is, o, at, ['items', 'defaultMode']);
    const defaultMode = fileMode(is, o.defaultMode, `${at}.defaultMode`) ?? DEFAULT_FILE_MODE;
    const s: Projection = { kind: 'downwardAPI', items: downwardItems(is, o.items, `${at}.items`, containers) };
    checkPaths(is, `${at}.items`, [s]);
    return { kind: 'downwardAPI', name, defaultMode, sources: [s] };
  },
  projected: (is, raw, at, name, containers) => {
    const o = obj(is, raw, at);
    if (!o) return undefined;
    checkKeys(is, o, at, ['sources', 'defaultMode']);
    const defaultMode = fileMode(is, o.defaultMode, `${at}.defaultMode`) ?? DEFAULT_FILE_MODE;
    const sources: Projection[] = [];
    (list(is, o.sources, `${at}.sources`) ?? []).forEach((item, i) => {
      const sat = `${at}.sources[${i}]`;
      const so = obj(is, item, sat);
      if (!so) return;
      checkKeys(is, so, sat, ['configMap', 'secret', 'downwardAPI'], ['serviceAccountToken', 'clusterTrustBundle', 'podCertificate']);
      const given = ['configMap', 'secret', 'downwardAPI'].filter((k) => so[k] !== undefined);
      if (given.length !== 1 && Object.keys(so).every((k) => ['configMap', 'secret', 'downwardAPI'].includes(k)))
        is.error(sat, 'must have exactly one of configMap, secret, downwardAPI');
      const c = obj(is, so.configMap, `${sat}.configMap`);
      if (c) {
        checkKeys(is, c, `${sat}.configMap`, ['name', 'items', 'optional']);
        const s = configSource(is, c, `${sat}.configMap`, 'configMap', 'name');
        if (s) sources.push(s);
      }
      const sc = obj(is, so.secret, `${sat}.secret`);
      if (sc) {
        checkKeys(is, sc, `${sat}.secret`, ['name', 'items', 'optional']);
        const s = configSource(is, sc, `${sat}.secret`, 'secret', 'name');
        if (s) sources.push(s);
      }
      const d = obj(is, so.downwardAPI, `${sat}.downwardAPI`);
      if (d) {
        checkKeys(is, d, `${sat}.downwardAPI`, ['items']);
        sources.push({ kind: 'downwardAPI', items: downwardItems(is, d.items, `${sat}.downwardAPI.items`, containers) });
      }
    });
    checkPaths(is, `${at}.sources`, sources);
    return { kind: 'projected', name, defaultMode, sources };
  },
};

/** A projected volume as a manifest writes it (export): the kind's own form. */
export function projectedManifest(v: VolumeOf<ProjectedKind>): Record<string, unknown> {
  const mode = v.defaultMode !== DEFAULT_FILE_MODE ? { defaultMode: v.defaultMode } : {};
  const source = (s: Projection, nameKey: string): Record<string, unknown> =>
    s.kind === 'downwardAPI' ? { items: s.items } : { [nameKey]: s.name, ...(s.items ? { items: s.items } : {}), ...(s.optional ? { optional: true } : {}) };
  if (v.kind === 'projected') return { sources: v.sources.map((s) => ({ [s.kind]: source(s, 'name') })), ...mode };
  const s = v.sources[0]!;
  return { ...source(s, v.kind === 'secret' ? 'secretName' : 'name'), ...mode };
}
