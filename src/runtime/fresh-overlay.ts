/**
 * A restart by policy is a new container with an empty writable layer. When
 * nothing has written to the previous instance's upper dir since runc made its
 * mount points there, and its overlay is still mounted on the same layers, the
 * mounted overlay already is that fresh view: the restart keeps it instead of
 * unmounting, emptying and mounting again (two programs on its critical path).
 *
 * "Nothing has written" is judged by a fingerprint of the upper dir taken
 * right after `runc create` of a launch that began on an empty upper dir
 * (before `runc start`, so before any of the container's own code ran): every
 * entry's path, inode, type and mode, owner, size, mtime and ctime (ns). Any
 * write, copy-up, whiteout, chmod, chown or xattr change through the overlay
 * changes an entry's ctime or adds one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { unescapeMount } from './cgroupfs.js';
import { readTextIfThere } from './state.js';

/** The overlay mounted at a path: its layers, upper and work dirs (from mountinfo's super options). */
export interface OverlayMount {
  lower: string[];
  upper: string;
  work: string;
}

/**
 * The overlay mounted exactly at `target` when it is the only mount at or below
 * it; undefined for anything else (nothing mounted, another file system, a
 * mount stacked on it or below it).
 */
export function overlayAt(target: string, mountinfo = '/proc/self/mountinfo'): OverlayMount | undefined {
  const base = target.replace(/\/+$/, '');
  let found: OverlayMount | undefined;
  let count = 0;
  for (const line of fs.readFileSync(mountinfo, 'utf8').split('\n')) {
    const fields = line.split(' ');
    const mp = fields[4];
    if (!mp) continue;
    const p = unescapeMount(mp);
    if (p !== base && !p.startsWith(base + '/')) continue;
    count++;
    if (p !== base) continue;
    const dash = fields.indexOf('-', 6);
    if (dash < 0 || fields[dash + 1] !== 'overlay') return undefined;
    const opts = new Map(
      (fields[dash + 3] ?? '').split(',').map((o) => {
        const i = o.indexOf('=');
        return i < 0 ? [o, ''] : [o.slice(0, i), unescapeMount(o.slice(i + 1))];
      }),
    );
    const lower = opts.get('lowerdir');
    const upper = opts.get('upperdir');
    const work = opts.get('workdir');
    if (!lower || !upper || !work) return undefined;
    found = { lower: lower.split(':'), upper, work };
  }
  return count === 1 ? found : undefined;
}

/** The fingerprint of a directory tree (see above); undefined when it cannot be read whole. */
export function treeFingerprint(dir: string): string | undefined {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const full = rel ? path.join(dir, rel) : dir;
    const st = fs.lstatSync(full, { bigint: true });
    out.push(`${rel}\0${st.ino}\0${st.mode}\0${st.uid}:${st.gid}\0${st.size}\0${st.mtimeNs}\0${st.ctimeNs}\0${st.rdev}`);
    if (st.isDirectory()) for (const name of fs.readdirSync(full).sort()) walk(rel ? path.join(rel, name) : name);
  };
  try {
    walk('');
  } catch {
    return undefined;
  }
  return out.join('\n');
}

/** The note a pristine launch leaves: its overlay and the fingerprint of its upper dir. */
interface FreshNote extends OverlayMount {
  fingerprint: string;
}

/**
 * Notes that the overlay at `target` holds only what runc made on an empty
 * upper dir (call it between `runc create` and `runc start`); `known`: the
 * overlay a caller found mounted there just before. A plain write:
 * a lost or torn note only means the next restart mounts afresh.
 */
export function noteFresh(note: string, target: string, known?: OverlayMount): void {
  const mount = known ?? overlayAt(target);
  const fingerprint = mount && treeFingerprint(mount.upper);
  try {
    if (!mount || fingerprint === undefined) return forgetFresh(note);
    const text = JSON.stringify({ ...mount, fingerprint } satisfies FreshNote);
    // a kept overlay (a restart that found it fresh) most often notes exactly what its note already says: no write then,
    // on the restart's critical path between runc create and runc start
    if (readTextIfThere(note) === text) return;
    fs.writeFileSync(note, text, { mode: 0o600 });
  } catch {
    // a full disk: no note, so the next restart mounts afresh
    try {
      forgetFresh(note);
    } catch {
      // nothing to remove, or no way to
    }
  }
}

/** Drops the note: the upper dir is about to change, or holds more than runc's mount points. */
export function forgetFresh(note: string): void {
  fs.rmSync(note, { force: true });
}

/**
 * Whether the overlay mounted at `target` is still a fresh one on exactly
 * these layers, upper and work dirs: the note matches the mount and the upper
 * dir's fingerprint now.
 */
export function stillFresh(note: string, target: string, want: OverlayMount, mountinfo = '/proc/self/mountinfo'): boolean {
  let saved: FreshNote;
  try {
    saved = JSON.parse(fs.readFileSync(note, 'utf8')) as FreshNote;
  } catch {
    return false;
  }
  const mount = overlayAt(target, mountinfo);
  const same = (a: OverlayMount | undefined, b: OverlayMount) =>
    !!a && a.upper === b.upper && a.work === b.work && a.lower.length === b.lower.length && a.lower.every((l, i) => l === b.lower[i]);
  if (!same(mount, want) || !same(saved, want)) return false;
  return typeof saved.fingerprint === 'string' && treeFingerprint(want.upper) === saved.fingerprint;
}
