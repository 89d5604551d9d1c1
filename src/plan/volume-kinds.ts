/**
 * What each kind of volume means, one handler per kind (pure, no I/O): where
 * its source is on the host, its words in a dry run and --explain, its
 * manifest form. A `Record` over VolumeKind, so a new kind of volume that
 * misses a handler does not compile. Making a volume on the host is
 * pod/volumes.ts's table.
 */
import path from 'node:path';
import type { VolumeDefinition, VolumeKind, VolumeOf } from '../model.js';
import { formatBytes } from '../quantity.js';
import { podPaths } from './paths.js';
import { isDeviceType } from './devices.js';
import { projectedManifest } from '../manifest/config-objects.js';

export interface VolumeKindHandler<V extends VolumeDefinition> {
  /** the host path runc binds from */
  source(stateRoot: string, pod: string, v: V): string;
  /** the kind in a few words, as `up --dry-run` lists it */
  label(v: V): string;
  /** what preparing it does, for --explain */
  explain(v: V, source: string): string;
  /** the volume source as a Kubernetes manifest writes it (the key is the kind) */
  manifest(v: V): Record<string, unknown>;
}

/** configMap, secret, downwardAPI, projected: files barepod writes under the pod's state dir (runtime/atomic-writer.ts). */
type ProjectedKind = 'configMap' | 'secret' | 'downwardAPI' | 'projected';
function projectedHandler<K extends ProjectedKind>(kind: K): VolumeKindHandler<VolumeOf<K>> {
  const from = (v: VolumeOf<ProjectedKind>) =>
    v.sources
      .map((s) =>
        s.kind === 'downwardAPI'
          ? `downwardAPI (${s.items.length} file${s.items.length === 1 ? '' : 's'})`
          : `${s.kind} ${s.name}${s.optional ? ' (optional)' : ''}`,
      )
      .join(', ');
  const h: VolumeKindHandler<VolumeOf<ProjectedKind>> = {
    source: (stateRoot, pod, v) => path.join(podPaths(stateRoot, pod).volumes, v.name),
    label: (v) => (kind === 'projected' ? `projected (${from(v)})` : from(v)),
    explain: (v, dir) =>
      `volume ${v.name}: ${kind} ${dir}, its files (${from(v)}, mode ${v.defaultMode.toString(8).padStart(4, '0')} unless an item says) written when a container that mounts it starts and again when what it shows changes (a ..data symlink swapped with rename(2)), mounted read-only, removed with the pod`,
    manifest: (v) => projectedManifest(v),
  };
  return h as unknown as VolumeKindHandler<VolumeOf<K>>;
}

export const VOLUME_KINDS: { [K in VolumeKind]: VolumeKindHandler<VolumeOf<K>> } = {
  configMap: projectedHandler('configMap'),
  secret: projectedHandler('secret'),
  downwardAPI: projectedHandler('downwardAPI'),
  projected: projectedHandler('projected'),
  emptyDir: {
    source: (stateRoot, pod, v) => path.join(podPaths(stateRoot, pod).volumes, v.name),
    label: (v) => (v.medium === 'Memory' ? 'emptyDir (tmpfs)' : 'emptyDir'),
    explain: (v, dir) => {
      const size = v.sizeLimitBytes ? `, capped at ${formatBytes(v.sizeLimitBytes)}` : '';
      return `volume ${v.name}: emptyDir ${dir}${v.medium === 'Memory' ? ` (a tmpfs${size})` : ''}, mode 0777, removed with the pod`;
    },
    manifest: (v) => ({ ...(v.medium ? { medium: v.medium } : {}), ...(v.sizeLimitBytes ? { sizeLimit: formatBytes(v.sizeLimitBytes) } : {}) }),
  },
  hostPath: {
    source: (_root, _pod, v) => v.path,
    label: (v) => `hostPath (${v.type || 'no check'})`,
    explain: (v, dir) =>
      isDeviceType(v.type)
        ? `volume ${v.name}: hostPath ${dir} (type "${v.type}"): a device, made as a node (the host's numbers) in the /dev of each container that mounts it and allowed in its devices cgroup, never a bind mount`
        : `volume ${v.name}: hostPath ${dir} (type "${v.type}"), never removed by barepod`,
    manifest: (v) => ({ path: v.path, ...(v.type ? { type: v.type } : {}) }),
  },
  persistentVolumeClaim: {
    // the named volume's data directory, filled in by up (bindClaims): a record always has it
    source: (_root, _pod, v) => v.path,
    label: (v) => `persistentVolumeClaim (${v.claimName}${v.readOnly ? ', read-only' : ''})`,
    explain: (v, dir) =>
      `volume ${v.name}: persistentVolumeClaim ${v.claimName}: the named volume ${dir} (made on first use, mode 0755 in a 0700 directory), kept by down, removed by barepod volume rm or down --volumes`,
    manifest: (v) => ({ claimName: v.claimName, ...(v.readOnly ? { readOnly: true } : {}) }),
  },
};

/** The handler of a volume's kind. */
export const volumeKind = <V extends VolumeDefinition>(v: V): VolumeKindHandler<V> => VOLUME_KINDS[v.kind] as unknown as VolumeKindHandler<V>;

/** Where each pod volume lives on the host: an emptyDir under the pod's state, a hostPath where it says. */
export function volumeSources(stateRoot: string, def: { name: string; volumes?: VolumeDefinition[] }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of def.volumes ?? []) out[v.name] = volumeKind(v).source(stateRoot, def.name, v);
  return out;
}
