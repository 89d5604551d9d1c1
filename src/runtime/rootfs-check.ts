import fs from 'node:fs';
import path from 'node:path';
import { BarepodError } from '../errors.js';
import { checkRootfsPaths, type Lookup, type Refusal, type VolumeAt } from '../plan/rootfs-paths.js';
import type { Spec } from '../oci/types.js';

/**
 * The rootfs as the checks of plan/rootfs-paths see it: `lstat` of a path
 * built from components that were each found not to be a symlink (the walk
 * never asks through a link), so nothing outside the rootfs is looked at.
 * With `volumes` (the directory binds runc will have mounted by then), a
 * path at or below one of them is looked up in its host directory instead,
 * the deepest one winning, as runc would meet it; a link found there is
 * marked as the volume's.
 */
export function rootfsLookup(rootfs: string, volumes: readonly VolumeAt[] = []): Lookup {
  return (parts) => {
    let base = rootfs;
    let rest = parts;
    let volume: string | undefined;
    for (const v of volumes) {
      if (v.at.length <= parts.length && v.at.every((c, i) => parts[i] === c) && (volume === undefined || v.at.length >= parts.length - rest.length)) {
        base = v.source;
        rest = parts.slice(v.at.length);
        volume = `/${v.at.join('/')}`;
      }
    }
    const p = path.join(base, ...rest);
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(p, { throwIfNoEntry: false });
    } catch (e) {
      // a non-directory on the way (the rules refuse it before asking below it; this keeps a crash out regardless)
      if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return { kind: 'missing' };
      throw e;
    }
    if (!st) return { kind: 'missing' };
    if (st.isSymbolicLink()) return { kind: 'link', target: fs.readlinkSync(p), ...(volume !== undefined ? { volume } : {}) };
    return { kind: st.isDirectory() ? 'dir' : 'other' };
  };
}

/** A bind mount of a host directory (a volume, a staged subPath directory): a container may change what is in it. */
function isDirectoryBind(m: { type?: string; source?: string; options?: string[] }): boolean {
  const bind = m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
  return bind && m.source !== undefined && fs.statSync(m.source, { throwIfNoEntry: false })?.isDirectory() === true;
}

/** The error for a rootfs path the runtime would write through out of the rootfs. */
export function unsafeRootfsError(r: Refusal, where: { pod: string; container: string; source: string }): BarepodError {
  const cwd = r.role === 'the working directory';
  const needed = cwd ? `the working directory ${r.path}` : r.role;
  return new BarepodError(
    'unsafe-rootfs',
    `container "${where.container}" in pod "${where.pod}" refused: ${where.source}: ${r.at} ${r.why} (needed by ${needed})`,
    {
      hint: cwd
        ? "choose a working directory inside the container's own files"
        : '/dev, /proc and /sys must be plain directories (or absent) in a rootfs, no file may stand where a directory is needed, and no link may climb above it with "..": fix the image (or the rootfs directory)',
    },
  );
}

/**
 * Checks an assembled rootfs (the overlay mount or a `--rootfs` directory)
 * against the spec runc will be given, right before `runc create`; throws
 * naming the path, the container and where the rootfs came from.
 */
export function verifyRootfs(rootfs: string, spec: Pick<Spec, 'mounts' | 'process'>, where: { pod: string; container: string; source: string }): void {
  const [first] = checkRootfsPaths(spec, rootfsLookup(rootfs), { through: (volumes) => rootfsLookup(rootfs, volumes), isVolume: isDirectoryBind });
  if (first) throw unsafeRootfsError(first, where);
}
