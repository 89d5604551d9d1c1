/**
 * Which paths of a container's rootfs the runtime writes through, and the
 * rules they must obey before `runc create` (pure: the file system is asked
 * through a lookup function, so every rule is unit-tested on a fake tree).
 *
 * runc 1.1.5 builds /dev with plain path joins (`<rootfs>/dev/ptmx`, …): when
 * the image makes `dev` a symbolic link, the kernel follows it on the host and
 * runc deletes and creates files in whatever host directory it names. Its
 * other mount points are joined with securejoin (symlinks followed inside the
 * rootfs), but proc and sysfs on a symlink are refused late and unclearly. So:
 * - the runtime's own mount points (/dev, /proc, /sys and everything under
 *   them) may not have a symbolic link in any existing component;
 * - every other destination (the pod's /etc files, volumes, the working
 *   directory) is resolved inside the rootfs, as if it were `/` (an absolute
 *   link starts again at the rootfs): a `..` that would climb above the rootfs
 *   is refused, since only a plain host-side join would follow it out, and
 *   so is a link that leads it into /dev, /proc or /sys (runc would mount the
 *   volume over its own /dev, then build /dev in it: on the host);
 * - the working directory may not resolve into /proc or /dev/fd (the
 *   CVE-2024-21626 class: a leaked runc fd reached as /proc/self/fd/N).
 */
import type { Spec } from '../oci/types.js';

/** What a path of the rootfs is: a symbolic link (with its target), something else, or nothing. */
export type Lookup = (components: readonly string[]) => { kind: 'link'; target: string; volume?: string } | { kind: 'dir' | 'other' | 'missing' };

/** A directory bind mount (a volume) runc has already mounted when a later mount is made: where it landed, and its host source. */
export interface VolumeAt {
  /** its destination as resolved inside the rootfs, in components */
  at: string[];
  source: string;
}

/** A path the runtime writes through, and why it is checked. */
export interface CheckedPath {
  path: string;
  /** what puts it there: "mount /dev (tmpfs)", "the working directory", … */
  role: string;
  /** the runtime's own mount point: no symlink anywhere */
  strict: boolean;
  cwd?: boolean;
  /** the index of the mount in the spec (runc mounts in this order) */
  index?: number;
}

/** Why a path was refused: the component (from the rootfs's root) and what is wrong with it. */
export interface Refusal {
  path: string;
  role: string;
  /** the component that is wrong, e.g. "/dev" */
  at: string;
  why: string;
}

const RUNTIME_ROOTS = ['dev', 'proc', 'sys'];

/** The components of an absolute container path (`.` and empty ones dropped, `..` kept). */
export const components = (p: string): string[] => p.split('/').filter((c) => c !== '' && c !== '.');

/** Whether the runtime itself mounts at or below this path (/dev, /proc, /sys and what is under them). */
export function runtimeOwned(p: string): boolean {
  const first = components(p)[0];
  return first !== undefined && RUNTIME_ROOTS.includes(first);
}

/** The paths of a spec that the runtime writes through inside the rootfs: every mount destination and the working directory. */
export function checkedPaths(spec: Pick<Spec, 'mounts' | 'process'>): CheckedPath[] {
  const out: CheckedPath[] = (spec.mounts ?? []).map((m, index) => ({
    index,
    path: m.destination,
    role: `mount ${m.destination}${m.type ? ` (${m.type})` : ''}`,
    strict: runtimeOwned(m.destination),
  }));
  out.push({ path: spec.process?.cwd ?? '/', role: 'the working directory', strict: false, cwd: true });
  return out;
}

/**
 * A working directory that reaches runc's own file descriptors (CVE-2024-21626):
 * anything under /proc (/proc/self/fd/N, /proc/<pid>/cwd, /proc/thread-self/…)
 * or /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr (links into /proc/self/fd).
 * Lexical, after `.` and `..` are applied; says where ("inside /proc, …"), or undefined when the path is fine.
 */
export function procWorkdir(p: string): string | undefined {
  const parts: string[] = [];
  for (const c of components(p)) {
    if (c === '..') parts.pop();
    else parts.push(c);
  }
  if (parts[0] === 'proc') return "inside /proc, where runc's own file descriptors can be reached (CVE-2024-21626)";
  if (parts[0] === 'dev' && ['fd', 'stdin', 'stdout', 'stderr'].includes(parts[1] ?? ''))
    return `under /dev/${parts[1]}, a link into /proc/self/fd, where runc's own file descriptors can be reached (CVE-2024-21626)`;
  return undefined;
}

/** Whether a path climbs above `/` with `..` (`../x`, `/a/../../b`). */
export function climbsOut(p: string): boolean {
  let depth = 0;
  for (const c of components(p)) {
    depth += c === '..' ? -1 : 1;
    if (depth < 0) return true;
  }
  return false;
}

/**
 * Checks one path against the rootfs (asked through `lookup`, which sees
 * only the rootfs): the first rule it breaks, or undefined.
 */
export function checkPath(c: CheckedPath, lookup: Lookup, maxLinks = 40, resolved?: { to?: string[] }): Refusal | undefined {
  const refuse = (at: string, why: string): Refusal => ({ path: c.path, role: c.role, at, why });
  const todo = components(c.path);
  const done: string[] = [];
  let links = 0;
  let lastLink: { at: string; target: string } | undefined;
  const climb = () =>
    lastLink
      ? refuse(lastLink.at, `is a symbolic link (to ${lastLink.target}) that climbs above the root of the container with ".."`)
      : refuse(c.path, 'climbs above the root of the container with ".."');
  while (todo.length > 0) {
    const part = todo.shift()!;
    if (part === '..') {
      if (done.length === 0) return climb();
      done.pop();
      continue;
    }
    const here = [...done, part];
    const st = lookup(here);
    if (st.kind === 'missing') {
      // runc creates what is missing, inside the rootfs; the rest of the path is lexical
      done.push(part);
      for (const rest of todo) {
        if (rest !== '..') done.push(rest);
        else if (done.pop() === undefined) return climb();
      }
      break;
    }
    if (st.kind === 'link') {
      const at = `/${here.join('/')}`;
      // a volume's content is a container's to change (an init container, a sibling): a later mount is never carried through
      // a link in it (runc would follow it inside the rootfs, e.g. onto its own /dev, and build /dev in the host directory)
      if (st.volume !== undefined && !c.cwd)
        return refuse(
          at,
          `is a symbolic link (to ${st.target}) inside the volume mounted at ${st.volume}: a mount below a volume may not go through a link in it (a container may have made it)`,
        );
      if (c.strict)
        return refuse(
          at,
          `is a symbolic link (to ${st.target}): a mount point of the runtime's own must be a plain directory (runc 1.1.5 builds /dev with plain path joins, which the kernel follows out of the rootfs onto the host)`,
        );
      if (++links > maxLinks) return refuse(at, 'leads through too many levels of symbolic links');
      lastLink = { at, target: st.target };
      if (st.target.startsWith('/')) done.length = 0;
      todo.unshift(...components(st.target));
      continue;
    }
    // a file (or device, socket…) with more of the path below it: runc's mkdir or mount there fails late and unclearly;
    // /dev, /proc, /sys themselves must be directories too (runc mounts a tmpfs, proc or sysfs on them)
    if (st.kind === 'other' && (todo.length > 0 || (c.strict && here.length === 1))) {
      return refuse(
        `/${here.join('/')}`,
        `is not a directory${c.strict && here.length === 1 ? ": a mount point of the runtime's own must be a plain directory" : ''}`,
      );
    }
    done.push(part);
  }
  // a link that carries a volume or a pod file onto /dev, /proc or /sys: runc mounts it over its own mount (securejoin
  // stays inside the rootfs) and then builds /dev in it with plain joins, i.e. deletes ptmx and mknods in a host directory
  if (!c.cwd && lastLink && !c.strict && runtimeOwned(`/${done.join('/')}`)) {
    return refuse(
      lastLink.at,
      `is a symbolic link (to ${lastLink.target}) that leads into /${done.join('/')}, under a mount point of the runtime's own (runc would mount over it, and build /dev in what it mounted there: on the host)`,
    );
  }
  if (resolved) resolved.to = done;
  if (c.cwd) {
    const resolved = `/${done.join('/')}`;
    const why = procWorkdir(resolved);
    if (why) return refuse(resolved, `is ${why}`);
  }
  return undefined;
}

/**
 * Every refusal of a spec's paths against a rootfs. With `volumes`, a mount
 * destination is looked up as runc will meet it: through the directory bind
 * mounts made before it (`through` sees those volumes' host directories,
 * `isVolume` says which mounts are such binds); the working directory is
 * checked against the rootfs alone (a link in a volume may lead it anywhere
 * inside the container).
 */
export function checkRootfsPaths(
  spec: Pick<Spec, 'mounts' | 'process'>,
  lookup: Lookup,
  volumes?: { through: (volumes: readonly VolumeAt[]) => Lookup; isVolume: (m: NonNullable<Spec['mounts']>[number]) => boolean },
): Refusal[] {
  const mounted: VolumeAt[] = [];
  const out: Refusal[] = [];
  for (const c of checkedPaths(spec)) {
    const m = c.index === undefined ? undefined : spec.mounts?.[c.index];
    const resolved: { to?: string[] } = {};
    const r = checkPath(c, volumes && m && mounted.length > 0 ? volumes.through(mounted) : lookup, 40, resolved);
    if (r) out.push(r);
    else if (volumes && m?.source && !c.strict && resolved.to && volumes.isVolume(m)) mounted.push({ at: resolved.to, source: m.source });
  }
  return out;
}
