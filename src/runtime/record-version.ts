/**
 * Pod records of older barepods, converted on read to the current format
 * (PodRecord.version): records on disk outlive the barepod that wrote them
 * (its pods keep running, their conmons call the new one on exit).
 *
 * - version 1: volumes as a struct of optional sources (`emptyDir` /
 *   `hostPath`), the network as `{ name, ports }` (`none`, `host` or a CNI
 *   network's name), a container's kind as `init` / `sidecar` flags.
 * - version 2: each a union on `kind`.
 */
import { RECORD_VERSION, type ContainerKind, type NetworkDefinition, type PodRecord, type VolumeDefinition } from '../model.js';
import { networkNamed } from '../plan/network.js';

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A record as read from disk, in the current format; one of a newer barepod is refused (its meaning is unknown here). */
export function upgradeRecord(raw: unknown): PodRecord {
  if (!isObj(raw)) throw new Error('not a JSON object');
  const version = typeof raw.version === 'number' ? raw.version : 1;
  if (version > RECORD_VERSION) throw new Error(`written by a newer barepod (record version ${version}; this one reads up to ${RECORD_VERSION})`);
  if (version < 2) fromV1(raw);
  raw.version = RECORD_VERSION;
  return raw as unknown as PodRecord;
}

/** Version 1 → 2: kinds as unions. Parts already in the new form (a kind present) are kept. */
function fromV1(rec: Raw): void {
  const def = isObj(rec.def) ? rec.def : undefined;
  if (def) {
    if (Array.isArray(def.volumes)) def.volumes = def.volumes.map((v: unknown) => (isObj(v) ? volumeV1(v) : v));
    if (isObj(def.network) && def.network.kind === undefined) def.network = networkV1(def.network);
  }
  if (Array.isArray(rec.containers)) {
    for (const c of rec.containers) if (isObj(c) && isObj(c.def)) containerV1(c.def);
  }
}

function volumeV1(v: Raw): VolumeDefinition | Raw {
  if (v.kind !== undefined) return v;
  const name = String(v.name ?? '');
  if (isObj(v.hostPath))
    return {
      kind: 'hostPath',
      name,
      path: String(v.hostPath.path ?? ''),
      type: (v.hostPath.type ?? '') as Extract<VolumeDefinition, { kind: 'hostPath' }>['type'],
    };
  // version 1 gave every volume without a hostPath an emptyDir's directory
  const e = isObj(v.emptyDir) ? v.emptyDir : {};
  return {
    kind: 'emptyDir',
    name,
    medium: e.medium === 'Memory' ? 'Memory' : '',
    ...(typeof e.sizeLimitBytes === 'number' ? { sizeLimitBytes: e.sizeLimitBytes } : {}),
  };
}

function networkV1(n: Raw): NetworkDefinition {
  return networkNamed(typeof n.name === 'string' ? n.name : 'none', Array.isArray(n.ports) ? (n.ports as never[]) : []);
}

function containerV1(def: Raw): void {
  if (def.kind === undefined) {
    const kind: ContainerKind = def.sidecar === true ? 'sidecar' : def.init === true ? 'init' : 'app';
    def.kind = kind;
  }
  delete def.init;
  delete def.sidecar;
}
