import fs from 'node:fs';
import path from 'node:path';
import { BarepodError } from '../errors.js';
import type { PodDefinition, VolumeDefinition } from '../model.js';
import { podPaths } from '../plan/paths.js';
import { mountTmpfs, unmountAll } from '../runtime/mounts.js';
import type { Rollback } from './rollback.js';
import { explain, explaining } from '../runtime/explain.js';
import { formatBytes } from '../quantity.js';

/** Where each pod volume lives on the host: an emptyDir under the pod's state, a hostPath where it says. */
export function volumeSources(stateRoot: string, def: PodDefinition): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of def.volumes ?? []) {
    out[v.name] = v.hostPath ? v.hostPath.path : path.join(podPaths(stateRoot, def.name).volumes, v.name);
  }
  return out;
}

/**
 * Makes the pod's volumes before any container mounts them: one directory
 * per emptyDir (world-writable, as the kubelet makes them; a size-capped tmpfs
 * for medium Memory), and the hostPath type checks (…OrCreate creates).
 * Everything under the pod dir goes with the pod; a hostPath is never removed.
 */
export async function prepareVolumes(stateRoot: string, rb: Rollback, def: PodDefinition): Promise<void> {
  const sources = volumeSources(stateRoot, def);
  for (const v of def.volumes ?? []) {
    const dir = sources[v.name]!;
    if (explaining) {
      const size = v.emptyDir?.sizeLimitBytes ? `, capped at ${formatBytes(v.emptyDir.sizeLimitBytes)}` : '';
      explain(v.emptyDir ? `volume ${v.name}: emptyDir ${dir}${v.emptyDir.medium === 'Memory' ? ` (a tmpfs${size})` : ''}, mode 0777, removed with the pod` : `volume ${v.name}: hostPath ${dir} (type "${v.hostPath?.type}"), never removed by barepod`);
    }
    if (v.emptyDir) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
      fs.chmodSync(dir, 0o777);
      if (v.emptyDir.medium === 'Memory') {
        await mountTmpfs(dir, v.emptyDir.sizeLimitBytes, { exec: true, source: `emptydir-${v.name}` });
        rb.push(`unmount ${dir}`, () => unmountAll(dir));
      }
    } else if (v.hostPath) {
      checkHostPath(v);
    }
  }
}

const KIND: Record<string, (s: fs.Stats) => boolean> = {
  Directory: (s) => s.isDirectory(),
  File: (s) => s.isFile(),
  Socket: (s) => s.isSocket(),
  CharDevice: (s) => s.isCharacterDevice(),
  BlockDevice: (s) => s.isBlockDevice(),
};

function checkHostPath(v: VolumeDefinition): void {
  const { path: p, type } = v.hostPath!;
  const fail = (why: string) =>
    new BarepodError('invalid-value', `volume "${v.name}": hostPath ${p} ${why}`, { hint: `fix the host, or the volume's hostPath.type (now "${type}")` });
  if (type === '') return; // no check, as in Kubernetes
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (type === 'DirectoryOrCreate' || type === 'FileOrCreate') {
    if (!st) {
      if (type === 'DirectoryOrCreate') fs.mkdirSync(p, { recursive: true, mode: 0o755 });
      else {
        if (!fs.existsSync(path.dirname(p))) throw fail(`cannot be created: ${path.dirname(p)} does not exist`);
        fs.writeFileSync(p, '', { mode: 0o644, flag: 'wx' });
      }
      return;
    }
    const want = type === 'DirectoryOrCreate' ? 'Directory' : 'File';
    if (!KIND[want]!(st)) throw fail(`exists but is not a ${want === 'Directory' ? 'directory' : 'regular file'}`);
    return;
  }
  if (!st) throw fail(`does not exist (type ${type} requires it)`);
  if (!KIND[type]!(st)) throw fail(`is not a ${type}`);
}
