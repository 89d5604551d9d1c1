import fs from 'node:fs';
import path from 'node:path';
import { BarepodError } from '../errors.js';
import type { ContainerDefinition, HostPathType, HostPathVolume, PodDefinition, VolumeDefinition, VolumeKind, VolumeOf } from '../model.js';
import { subPathStaging } from '../plan/paths.js';
import { volumeKind, volumeSources } from '../plan/volume-kinds.js';
import { isDeviceType } from '../plan/devices.js';
import { hostDevice } from '../runtime/devices.js';
import type { HostPathFacts } from '../plan/mounts.js';
import { isMounted, mountTmpfs, unmountAll } from '../runtime/mounts.js';
import { bindOpened, openSubPath, SubPathError } from '../runtime/subpath.js';
import type { Rollback } from './rollback.js';
import { explain, explaining } from '../runtime/explain.js';
import { ensureVolumeAt } from './named-volumes.js';

export { volumeSources };

/** How each kind of volume is made on the host before a container mounts it (a Record over VolumeKind: a new kind must say). */
const PREPARE: { [K in VolumeKind]: (v: VolumeOf<K>, dir: string, rb: Rollback, pod: string) => Promise<void> } = {
  // one directory per pod, world-writable as the kubelet makes it; a size-capped tmpfs for medium Memory
  emptyDir: async (v, dir, rb) => {
    fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
    fs.chmodSync(dir, 0o777);
    if (v.medium === 'Memory') {
      await mountTmpfs(dir, v.sizeLimitBytes, { exec: true, source: `emptydir-${v.name}` });
      rb.push(`unmount ${dir}`, () => unmountAll(dir));
    }
  },
  // the type checks (…OrCreate creates); a hostPath is never removed
  hostPath: async (v) => checkHostPath(v),
  // the directory only: the files are written when a container that mounts it starts (pod/config-volumes.ts)
  configMap: async (_v, dir) => projectedDir(dir),
  secret: async (_v, dir) => projectedDir(dir),
  downwardAPI: async (_v, dir) => projectedDir(dir),
  projected: async (_v, dir) => projectedDir(dir),
  // a named volume (named-volumes.ts), made on first use and kept by down; one this up made goes with its rollback while still empty
  persistentVolumeClaim: async (v, dir, rb, pod) => {
    if (!path.isAbsolute(dir)) throw new BarepodError('internal', `volume "${v.name}": claim "${v.claimName}" has no host path (up binds it)`);
    const { created } = await ensureVolumeAt(path.dirname(dir), { pod, createdBy: 'pod' });
    if (created)
      rb.push(`remove the new volume ${v.claimName}`, () => {
        if (fs.readdirSync(dir).length === 0) fs.rmSync(path.dirname(dir), { recursive: true, force: true });
      });
  },
};

/** A projected volume's directory: readable in the container (the pod's 0700 dir keeps other host users out), written by barepod only. */
function projectedDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
}

/**
 * Makes the pod's volumes before any container mounts them, each by its
 * kind's handler. Everything under the pod dir goes with the pod.
 */
export async function prepareVolumes(stateRoot: string, rb: Rollback, def: Pick<PodDefinition, 'name' | 'volumes'>): Promise<void> {
  const sources = volumeSources(stateRoot, def);
  for (const v of def.volumes ?? []) {
    const dir = sources[v.name]!;
    if (explaining) explain(volumeKind(v).explain(v, dir));
    await (PREPARE[v.kind] as (v: VolumeDefinition, dir: string, rb: Rollback, pod: string) => Promise<void>)(v, dir, rb, def.name);
  }
}

const KIND: Record<string, (s: fs.Stats) => boolean> = {
  Directory: (s) => s.isDirectory(),
  File: (s) => s.isFile(),
  Socket: (s) => s.isSocket(),
  CharDevice: (s) => s.isCharacterDevice(),
  BlockDevice: (s) => s.isBlockDevice(),
};

/** What is at a host path (`run -v`): its hostPath type (Directory, File, …; symlinks followed, as the user named the path) and its real path; undefined when nothing is. */
export function hostPathFacts(p: string): HostPathFacts | undefined {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) return undefined;
  const prefixes: HostPathFacts['prefixes'] = [];
  for (let a = p; ; a = path.dirname(a)) {
    prefixes.push({ path: a, real: fs.realpathSync(a) });
    if (a === '/') break;
  }
  return { type: (Object.keys(KIND) as HostPathType[]).find((k) => KIND[k]!(st)) ?? '', real: fs.realpathSync(p), prefixes };
}

function checkHostPath(v: HostPathVolume): void {
  const { path: p, type } = v;
  const fail = (why: string) =>
    new BarepodError('invalid-value', `volume "${v.name}": hostPath ${p} ${why}`, { hint: `fix the host, or the volume's hostPath.type (now "${type}")` });
  if (type === '') return; // no check, as in Kubernetes
  if (isDeviceType(type)) {
    // a device is made in the container from the node's numbers, never bound: the path must be the node itself (no link)
    const dev = hostDevice(p, p, `volume "${v.name}": hostPath`, `fix the host, or the volume's hostPath.type (now "${type}")`);
    if ((dev.type === 'c') !== (type === 'CharDevice')) throw fail(`is not a ${type} (it is a ${dev.type === 'c' ? 'character' : 'block'} device)`);
    return;
  }
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

/**
 * Resolves a container's subPath mounts inside their volumes and binds each
 * object found to `<pod>/subpaths/<container>/<mount index>`, the source
 * runc gets (see runtime/subpath.ts). Runs at every start of the container
 * (restarts and sandbox recreation included): what a container changed in a
 * volume since is checked again. Returns the staged source per mount index;
 * a subPath that leaves its volume is refused and nothing of it is left.
 */
export async function stageSubPaths(stateRoot: string, rb: Rollback, def: PodDefinition, ctr: ContainerDefinition): Promise<(string | undefined)[]> {
  const dir = subPathStaging(stateRoot, def.name, ctr.name);
  await removeSubPathStaging(dir); // the previous instance's
  const mounts = ctr.mounts ?? [];
  if (!mounts.some((m) => m.subPath)) return [];
  const sources = volumeSources(stateRoot, def);
  rb.push(`unmount ${dir}`, () => removeSubPathStaging(dir));
  const out: (string | undefined)[] = [];
  for (const [i, m] of mounts.entries()) {
    if (!m.subPath) {
      out.push(undefined);
      continue;
    }
    const volume = sources[m.name]!;
    let opened;
    try {
      opened = openSubPath(volume, m.subPath);
    } catch (e) {
      if (!(e instanceof SubPathError)) throw e;
      throw new BarepodError(
        'invalid-value',
        `pod "${def.name}", container "${ctr.name}": subPath "${m.subPath}" of volume "${m.name}" (${volume}): ${e.message}; the container was not started`,
        {
          hint:
            e.kind === 'escape'
              ? 'a subPath must stay inside its volume: a symlink in it is followed only when its target is inside the volume too (a container may have made it: remove it, or mount the volume without subPath)'
              : e.kind === 'missing'
                ? 'create it in the volume first (an init container can); barepod does not create a subPath'
                : "fix the volume's content, or the volumeMount's subPath",
          cause: e,
        },
      );
    }
    const target = path.join(dir, String(i));
    try {
      await bindOpened(opened.fd, opened.isDirectory, target);
    } finally {
      fs.closeSync(opened.fd);
    }
    if (explaining)
      explain(
        `volume ${m.name}, subPath ${m.subPath}: resolved inside ${volume} without following a symlink out of it (${opened.resolved || '.'}), bound to ${target}, the source runc gets`,
      );
    out.push(target);
  }
  return out;
}

/**
 * Unmounts and removes a container's subPath staging directory; never
 * recursive (a mount still there makes it fail, never delete into a volume).
 */
export async function removeSubPathStaging(dir: string): Promise<void> {
  if (!fs.existsSync(dir)) return;
  await unmountAll(dir);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (isMounted(p)) throw new BarepodError('tool-failed', `${p} is still mounted`, { hint: `unmount it (umount ${p}) and try again` });
    if (e.isDirectory()) fs.rmdirSync(p);
    else fs.unlinkSync(p);
  }
  fs.rmdirSync(dir);
}
