/**
 * v1 PersistentVolumeClaim documents: the claim of a named local volume
 * (pod/named-volumes.ts). What it asks for is recorded with the volume; one
 * host has one storage class, a directory of the data dir.
 */
import { validateVolumeName } from '../names.js';
import { parseBytes } from '../quantity.js';
import { checkKeys, Issues, isObj, obj, oneOf, str, stringMap, strings, type Obj } from './fields.js';
import type { DocumentResult, ParseOptions } from './pod.js';

export const ACCESS_MODES = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'] as const;

/** What a claim asks for, as recorded with its volume. */
export interface ClaimRequest {
  accessModes: string[];
  /** resources.requests.storage in bytes (recorded: a directory of the data dir has no size of its own) */
  storageBytes: number;
  storageClassName?: string;
}

export function parseClaim(is: Issues, value: Obj, _o: ParseOptions): DocumentResult | undefined {
  const r = readClaim(is, value);
  return r ? { objects: [{ kind: 'PersistentVolumeClaim', name: r.name, source: value }] } : undefined;
}

/** A PersistentVolumeClaim document's name and request; undefined (problems in `is`) when it is not valid. */
export function readClaim(is: Issues, value: Obj): ({ name: string } & ClaimRequest) | undefined {
  checkKeys(is, value, '', ['apiVersion', 'kind', 'metadata', 'spec'], ['status']);
  if (value.apiVersion !== 'v1') is.error('apiVersion', `must be "v1", got ${JSON.stringify(value.apiVersion ?? null)}`);
  const meta = obj(is, value.metadata, 'metadata') ?? (is.error('metadata', 'is required'), {});
  checkKeys(is, meta, 'metadata', ['name', 'labels', 'annotations', 'namespace'], ['generateName', 'uid', 'ownerReferences', 'finalizers']);
  const name = str(is, meta.name, 'metadata.name', true);
  if (name !== undefined) is.attempt('metadata.name', () => validateVolumeName(name));
  stringMap(is, meta.labels, 'metadata.labels');
  stringMap(is, meta.annotations, 'metadata.annotations');
  if (meta.namespace !== undefined && meta.namespace !== 'default') is.unsupported('metadata.namespace', 'only the "default" namespace exists on one host');
  const spec = obj(is, value.spec, 'spec') ?? (is.error('spec', 'is required'), {});
  checkKeys(
    is,
    spec,
    'spec',
    ['accessModes', 'resources', 'storageClassName', 'volumeMode'],
    ['selector', 'volumeName', 'dataSource', 'dataSourceRef', 'volumeAttributesClassName'],
  );
  const accessModes = strings(is, spec.accessModes, 'spec.accessModes') ?? [];
  if (spec.accessModes === undefined || accessModes.length === 0) is.error('spec.accessModes', 'must list at least one access mode (Kubernetes requires one)');
  accessModes.forEach((m, i) => oneOf(is, m, `spec.accessModes[${i}]`, ACCESS_MODES));
  const storageClassName = str(is, spec.storageClassName, 'spec.storageClassName');
  if (spec.volumeMode !== undefined && spec.volumeMode !== 'Filesystem') {
    if (spec.volumeMode === 'Block') is.unsupported('spec.volumeMode', 'Block is not supported (a named volume is a directory: Filesystem)');
    else oneOf(is, spec.volumeMode, 'spec.volumeMode', ['Filesystem']);
  }
  const resources = obj(is, spec.resources, 'spec.resources') ?? (is.error('spec.resources', 'is required (resources.requests.storage)'), {});
  checkKeys(is, resources, 'spec.resources', ['requests'], ['limits']);
  const requests = obj(is, resources.requests, 'spec.resources.requests') ?? {};
  checkKeys(is, requests, 'spec.resources.requests', ['storage']);
  let storageBytes: number | undefined;
  const q = requests.storage;
  if (q === undefined || q === null) is.error('spec.resources.requests.storage', 'is required (Kubernetes requires it)');
  else if (typeof q !== 'string' && typeof q !== 'number') is.error('spec.resources.requests.storage', `must be a quantity, got ${typeof q}`);
  else storageBytes = is.attempt('spec.resources.requests.storage', () => parseBytes(String(q), 'storage'), 'storage');
  if (name === undefined || storageBytes === undefined || is.errors.length) return undefined;
  return { name, accessModes, storageBytes, ...(storageClassName ? { storageClassName } : {}) };
}

/** The request of a claim document `parseManifests` already accepted (for `up`, which records it with the volume). */
export function claimRequest(source: unknown): ClaimRequest | undefined {
  if (!isObj(source)) return undefined;
  const r = readClaim(new Issues(true), source);
  return r ? { accessModes: r.accessModes, storageBytes: r.storageBytes, ...(r.storageClassName ? { storageClassName: r.storageClassName } : {}) } : undefined;
}
