import fs from 'node:fs';
import path from 'node:path';
import { unescapeMount } from './cgroupfs.js';
import { runTool } from './exec.js';

/** Mount points in this mount namespace at or below `prefix`, deepest first. */
export function mountsUnder(prefix: string, mountinfo = '/proc/self/mountinfo'): string[] {
  const base = prefix.replace(/\/+$/, '');
  const out: string[] = [];
  for (const line of fs.readFileSync(mountinfo, 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const p = unescapeMount(mp);
    if (p === base || p.startsWith(base + '/')) out.push(p);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Whether something is mounted exactly at `target`. */
export function isMounted(target: string): boolean {
  return mountsUnder(target).includes(target.replace(/\/+$/, ''));
}

/**
 * Mounts an overlay: the image's read-only layers below, a per-container
 * upper and work dir on top, so creating a container copies nothing.
 */
export async function mountOverlay(lower: string[], upper: string, work: string, target: string): Promise<void> {
  // their parent (a container's bundle: config.json with its env, the log) is root's alone; the
  // dirs themselves keep 0755: upper's mode becomes the container's `/`, which a non-root user must traverse
  for (const d of new Set([upper, work, target].map((p) => path.dirname(p)))) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  for (const d of [upper, work, target]) fs.mkdirSync(d, { recursive: true });
  const options = `lowerdir=${lower.join(':')},upperdir=${upper},workdir=${work}`;
  await runTool(['mount', '-t', 'overlay', 'overlay', '-o', options, target], {
    hint: 'overlayfs must be available (modprobe overlay); or use --rootfs DIR',
  });
}

/** Mounts a tmpfs (the pod's /dev/shm: sticky, world-writable, capped, noexec; an emptyDir of medium Memory: exec allowed). */
export async function mountTmpfs(target: string, sizeBytes: number | undefined, o: { exec?: boolean; source?: string } = {}): Promise<void> {
  fs.mkdirSync(target, { recursive: true });
  const options = ['mode=1777', 'nosuid', 'nodev', ...(o.exec ? [] : ['noexec']), ...(sizeBytes ? [`size=${sizeBytes}`] : [])];
  await runTool(['mount', '-t', 'tmpfs', '-o', options.join(','), o.source ?? 'shm', target]);
}

/**
 * Unmounts everything at or below `target` (deepest first) but `keep`; a no-op when nothing is mounted. One umount
 * takes them all, in that order (a pod's rootfs overlays and /dev/shm: one program, not one each); it goes on past
 * one it cannot unmount and then fails, naming it.
 */
export async function unmountAll(target: string, keep: string[] = [], o: { lazy?: boolean } = {}): Promise<void> {
  const mounted = mountsUnder(target).filter((mp) => !keep.includes(mp));
  if (mounted.length) await runTool(['umount', ...(o.lazy ? ['--lazy'] : []), ...mounted]);
}

/** Pins a process's netns with a bind mount, so it outlives the process (and CNI DEL can enter it). */
export async function pinNetns(pid: number, target: string): Promise<number> {
  fs.writeFileSync(target, '');
  await runTool(['mount', '--bind', `/proc/${pid}/ns/net`, target]);
  return fs.statSync(target).ino;
}

/** Releases a pinned netns (the namespace goes once nothing else holds it). */
export async function unpinNetns(target: string): Promise<void> {
  if (isMounted(target)) await runTool(['umount', target]);
  fs.rmSync(target, { force: true });
}

/**
 * Makes the sysfs of a network namespace writable at the superblock, for a
 * privileged container of the pod. Every sysfs mounted in one netns shares
 * one superblock, and the pod's first one (the pause's, read-only) made it
 * read-only: a privileged container's read-write /sys would be read-only
 * still. This mounts that sysfs in a private mount namespace of its own
 * (host binaries only, nothing of an image runs) and remounts it read-write;
 * the other containers' mounts keep their own read-only flag.
 */
export async function makeSysfsWritable(netns: string): Promise<void> {
  await runTool(
    ['nsenter', `--net=${netns}`, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mount -t sysfs sysfs /sys && mount -o remount,rw /sys'],
    {
      hint: 'a privileged container needs a writable /sys: util-linux (nsenter, unshare) and mount must be installed',
    },
  );
}
