/**
 * The files of configMap, secret, downwardAPI and projected volumes: what
 * each volume holds (from the ConfigMap/Secret store and the pod itself),
 * written with Kubernetes' `..data` swap (runtime/atomic-writer.ts) into the
 * volume's directory under the pod's (0700) state dir.
 *
 * Written when a container that mounts the volume starts (a missing
 * ConfigMap, Secret or key that is not optional is the container's
 * ContainerConfigError, Kubernetes' CreateContainerConfigError), and again
 * when `up -f` or `barepod configmap`/`secret` changes an object a running
 * pod mounts (refreshPodsUsing): the containers see the new files without a
 * restart. A subPath mount of such a volume keeps the file it was started
 * with, as in Kubernetes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ContainerDefinition, DownwardAPIFile, PodRecord, Projection, VolumeDefinition } from '../model.js';
import { isActive, isProjectedVolume } from '../model.js';
import { isObj } from '../manifest/fields.js';
import { parseBytes, parseMilliCpu } from '../quantity.js';
import { volumeSources } from '../plan/volume-kinds.js';
import { writeAtomically, type Payload } from '../runtime/atomic-writer.js';
import { configValues, ContainerConfigError, readConfig, type ConfigKind, type StoredConfig } from './config-store.js';
import type { Runtime } from './runtime.js';
import { withPod } from './record.js';
import { explain, explaining } from '../runtime/explain.js';

type ProjectedVolumeDef = Extract<VolumeDefinition, { kind: 'configMap' | 'secret' | 'downwardAPI' | 'projected' }>;

/** The store lookup a payload needs (a function, so the payload is computed the same in tests without a store). */
export type ConfigLookup = (kind: ConfigKind, name: string) => StoredConfig | undefined;

/** The pod facts a downwardAPI file needs. */
export interface DownwardFacts {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** per container: its resources as the manifest wrote them */
  resources: Record<string, { limits?: Record<string, unknown>; requests?: Record<string, unknown> }>;
  /** the host's allocatable, for a limit the container does not set (as the kubelet uses the node's) */
  allocatable: { cpuMillis: number; memoryBytes: number };
}

const kindOf = (s: Extract<Projection, { name: string }>): ConfigKind => (s.kind === 'secret' ? 'Secret' : 'ConfigMap');
const lower = (k: ConfigKind) => (k === 'Secret' ? 'secret' : 'configmap');

/** `key="value"` lines, sorted (the kubelet's FormatMap). */
const formatMap = (m: Record<string, string>): string =>
  Object.keys(m)
    .sort()
    .map((k) => `${k}=${JSON.stringify(m[k])}`)
    .join('\n');

/** A resource of a container in units of its divisor, rounded up (Kubernetes' ExtractContainerResourceValue). */
export function resourceValue(facts: DownwardFacts, ref: NonNullable<DownwardAPIFile['resourceFieldRef']>): string {
  const [kind, res] = ref.resource.split('.') as ['limits' | 'requests', 'cpu' | 'memory'];
  const r = facts.resources[ref.containerName] ?? {};
  const read = (m: Record<string, unknown> | undefined): number | undefined => {
    const q = m?.[res];
    if (q === undefined) return undefined;
    return res === 'cpu' ? parseMilliCpu(String(q), res) : parseBytes(String(q), res);
  };
  // a request not given defaults to the limit (API defaulting); a limit not given is the node's allocatable
  const limit = read(r.limits);
  const value = kind === 'limits' ? (limit ?? (res === 'cpu' ? facts.allocatable.cpuMillis : facts.allocatable.memoryBytes)) : (read(r.requests) ?? limit ?? 0);
  if (res === 'cpu') {
    const divisor = ref.divisor === undefined ? 1000 : parseMilliCpu(ref.divisor, 'divisor');
    return String(Math.ceil(value / divisor));
  }
  const divisor = ref.divisor === undefined ? 1 : parseBytes(ref.divisor, 'divisor');
  return String(Math.ceil(value / divisor));
}

/** The content of a downwardAPI file. */
export function downwardValue(facts: DownwardFacts, f: DownwardAPIFile): string {
  if (f.resourceFieldRef) return resourceValue(facts, f.resourceFieldRef);
  const fp = f.fieldRef!.fieldPath;
  const one = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(fp);
  if (one) return (one[1] === 'labels' ? facts.labels : facts.annotations)[one[2]!] ?? '';
  switch (fp) {
    case 'metadata.name':
      return facts.name;
    case 'metadata.namespace':
      return 'default';
    case 'metadata.labels':
      return formatMap(facts.labels);
    case 'metadata.annotations':
      return formatMap(facts.annotations);
  }
  throw new Error(`downwardAPI: fieldPath "${fp}" was not checked by the parser`);
}

/**
 * What a volume holds: its files by path, or the first missing ConfigMap,
 * Secret or key that is not optional (Kubernetes' words), with no files.
 */
export function volumePayload(v: ProjectedVolumeDef, lookup: ConfigLookup, facts: DownwardFacts): { payload: Payload } | { missing: string } {
  const payload: Payload = new Map();
  for (const s of v.sources) {
    if (s.kind === 'downwardAPI') {
      for (const f of s.items) payload.set(f.path, { data: Buffer.from(downwardValue(facts, f)), mode: f.mode ?? v.defaultMode });
      continue;
    }
    const kind = kindOf(s);
    const c = lookup(kind, s.name);
    if (!c) {
      if (s.optional) continue;
      return { missing: `${lower(kind)} "${s.name}" not found (volume "${v.name}")` };
    }
    const values = configValues(c);
    if (s.items) {
      for (const it of s.items) {
        const data = values.get(it.key);
        if (data === undefined) {
          if (s.optional) continue;
          return { missing: `${lower(kind)} "${s.name}" has no key "${it.key}" (volume "${v.name}", items)` };
        }
        payload.set(it.path, { data, mode: it.mode ?? v.defaultMode });
      }
    } else for (const [k, data] of values) payload.set(k, { data, mode: v.defaultMode });
  }
  return { payload };
}

/** The downwardAPI facts of a pod: its name, labels, annotations, and its containers' resources as its manifest wrote them. */
export function downwardFacts(rec: Pick<PodRecord, 'def' | 'manifest'>): DownwardFacts {
  const resources: DownwardFacts['resources'] = {};
  const src = rec.manifest?.source;
  const spec = isObj(src) && isObj(src.spec) ? src.spec : {};
  for (const l of [spec.containers, spec.initContainers]) {
    if (!Array.isArray(l)) continue;
    for (const c of l) {
      if (!isObj(c) || typeof c.name !== 'string') continue;
      const r = isObj(c.resources) ? c.resources : {};
      resources[c.name] = { ...(isObj(r.limits) ? { limits: r.limits } : {}), ...(isObj(r.requests) ? { requests: r.requests } : {}) };
    }
  }
  return {
    name: rec.def.name,
    labels: rec.def.labels ?? {},
    annotations: rec.def.annotations ?? {},
    resources,
    allocatable: { cpuMillis: os.cpus().length * 1000, memoryBytes: os.totalmem() },
  };
}

/** The store of a runtime as a lookup. */
const storeLookup =
  (rt: Runtime): ConfigLookup =>
  (kind, name) =>
    readConfig(rt.settings, kind, name);

/** Writes one volume's files when they differ from what it holds; the missing object's words when one is. */
function writeVolume(rt: Runtime, rec: PodRecord, v: ProjectedVolumeDef): { written: boolean } | { missing: string } {
  const dir = volumeSources(rt.settings.stateRoot, rec.def)[v.name]!;
  const r = volumePayload(v, storeLookup(rt), downwardFacts(rec));
  if ('missing' in r) return r;
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  return { written: writeAtomically(dir, r.payload) };
}

/**
 * Before a container starts: the files of every configMap, secret,
 * downwardAPI and projected volume it mounts, up to date. A missing object
 * or key that is not optional is a ContainerConfigError (nothing is
 * started), unless the volume was written before (a restart, or another
 * container of the pod): it keeps its files, as a volume the kubelet
 * mounted stays when its object goes.
 */
export function projectVolumes(rt: Runtime, rec: PodRecord, def: ContainerDefinition): void {
  const mounted = new Set((def.mounts ?? []).map((m) => m.name));
  for (const v of rec.def.volumes ?? []) {
    if (!isProjectedVolume(v) || !mounted.has(v.name)) continue;
    const r = writeVolume(rt, rec, v);
    if ('missing' in r) {
      // written once already (another container, an earlier start): the kubelet keeps a mounted volume as it is when its object goes
      const dir = volumeSources(rt.settings.stateRoot, rec.def)[v.name]!;
      if (!fs.existsSync(path.join(dir, '..data'))) throw new ContainerConfigError(def.name, r.missing);
      if (explaining) explain(`volume ${v.name}: ${r.missing}; its files stay as they were written last`);
      continue;
    }
    if (explaining)
      explain(
        `volume ${v.name}: ${v.kind} files ${r.written ? 'written as a new version (..data swapped with rename(2))' : 'up to date'} in ${volumeSources(rt.settings.stateRoot, rec.def)[v.name]}, mounted read-only (values not shown)`,
      );
  }
}

/** Whether a volume takes files from an object. */
const uses = (v: ProjectedVolumeDef, kind: ConfigKind, name: string): boolean =>
  v.sources.some((s) => s.kind !== 'downwardAPI' && kindOf(s) === kind && s.name === name);

/** One volume a refresh rewrote. */
export interface RefreshedVolume {
  pod: string;
  volume: string;
  /** the volume kept its files: what it now misses */
  kept?: string;
}

/**
 * After ConfigMaps or Secrets changed: every running pod of the state root
 * whose volumes take files from one of them gets them rewritten (a new
 * version, `..data` swapped) under its lock, without a restart, as the
 * kubelet's sync does. A volume whose object is gone (or now misses a key)
 * keeps its files, as in Kubernetes.
 */
export async function refreshPodsUsing(rt: Runtime, changed: { kind: ConfigKind; name: string }[]): Promise<RefreshedVolume[]> {
  if (!changed.length) return [];
  const out: RefreshedVolume[] = [];
  for (const pod of rt.store.list()) {
    const rec = rt.store.tryRead(pod);
    const touches = (v: VolumeDefinition) => isProjectedVolume(v) && changed.some((c) => uses(v, c.kind, c.name));
    if (!rec || !isActive(rec) || !(rec.def.volumes ?? []).some(touches)) continue;
    await withPod(rt, pod, async (r) => {
      if (!isActive(r)) return;
      const dirs = volumeSources(rt.settings.stateRoot, r.def);
      for (const v of r.def.volumes ?? []) {
        if (!isProjectedVolume(v) || !touches(v) || !fs.existsSync(dirs[v.name]!)) continue; // not written yet: its container's start writes it
        const w = writeVolume(rt, r, v);
        if ('missing' in w) {
          out.push({ pod, volume: v.name, kept: w.missing });
          continue;
        }
        if (w.written) out.push({ pod, volume: v.name });
      }
    }).catch((e: unknown) => {
      if ((e as { code?: string }).code !== 'not-found') throw e; // removed meanwhile
    });
  }
  return out;
}
