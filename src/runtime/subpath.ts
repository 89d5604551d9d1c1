/**
 * subPath mounts without following a symlink out of the volume (the class of
 * Kubernetes CVE-2017-1002101 and CVE-2021-25741).
 *
 * runc resolves a bind mount's source on the host, following every symlink:
 * a plain `<volume>/<subPath>` string lets a container that can write into
 * the volume (an emptyDir, a hostPath a sibling shares) point the subPath at
 * any host path, the host's `/` included. So, as the kubelet does, barepod
 * resolves the subPath itself, inside the volume, one component at a time
 * with O_PATH|O_NOFOLLOW relative to the previous component's fd (a symlink
 * that stays inside the volume is followed by barepod, never by the kernel;
 * one that leaves it is refused), then bind-mounts the opened object itself
 * (`/proc/<pid>/fd/<n>`, which the kernel resolves to that very object, not
 * to a path) onto a private staging path, and hands runc the staging path.
 * Whatever the container swaps afterwards, the mount is what was checked.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runTool } from './exec.js';

/** O_PATH on Linux (x86-64 and arm64): an fd that names an object without opening it for I/O. */
export const O_PATH = 0o10000000;
const OPEN_COMPONENT = O_PATH | fs.constants.O_NOFOLLOW;
/** Symlinks followed in one resolution at most, as the kernel's own limit (ELOOP). */
export const MAX_SYMLINKS = 40;

/** Why a subPath cannot be resolved inside its volume; the caller names the volume, subPath and container. */
export class SubPathError extends Error {
  constructor(
    message: string,
    /** 'escape': it leads out of the volume; 'missing': a component does not exist; 'invalid': anything else */
    readonly kind: 'escape' | 'missing' | 'invalid',
  ) {
    super(message);
    this.name = 'SubPathError';
  }
}

/** What openSubPath found: an O_PATH fd of the object (the caller closes it), its kind, and where it is inside the volume. */
export interface OpenedSubPath {
  fd: number;
  isDirectory: boolean;
  /** the resolved path, relative to the volume root ('' for the root itself) */
  resolved: string;
}

/**
 * Where an absolute symlink target lies inside the volume, as components
 * relative to its root; undefined when it lies outside. `roots` are the
 * volume's path as given and as resolved on the host (a symlink the root
 * user wrote, e.g. /tmp → /private/tmp, must not make an inside link look outside).
 */
export function insideRoot(target: string, roots: readonly string[]): string[] | undefined {
  for (const r of roots) {
    const root = r.replace(/\/+$/, '') || '/';
    if (target === root || (root === '/' ? target.startsWith('/') : target.startsWith(root + '/'))) {
      return target.slice(root.length).split('/').filter(Boolean);
    }
  }
  return undefined;
}

const close = (fd: number) => {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
};

/**
 * Opens `subPath` inside the volume rooted at `root`, without ever letting
 * the kernel follow a symlink: each component is opened with
 * O_PATH|O_NOFOLLOW relative to its parent's fd (through /proc/self/fd/N,
 * Node's openat). A symlink is read and resolved here: a relative target
 * from the directory holding it, an absolute one only when it names a path
 * inside the volume on the host (as the kubelet does); `..` steps back to
 * the parent fd already held, and one above the root is an escape. The
 * volume root itself is trusted (the manifest's hostPath, or barepod's own
 * emptyDir directory). Throws SubPathError; returns the final object's fd.
 */
export function openSubPath(root: string, subPath: string): OpenedSubPath {
  const roots = [path.resolve(root)];
  try {
    roots.push(fs.realpathSync(root));
  } catch {
    // opening it below says what is wrong
  }
  let rootFd: number;
  try {
    rootFd = fs.openSync(root, O_PATH);
  } catch (e) {
    throw new SubPathError(`the volume's directory ${root} cannot be opened (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'missing');
  }
  // stack[i] is the fd of names[0..i-1]: real directories (never symlinks) below the root
  const stack = [rootFd];
  const names: string[] = [];
  // each component still to walk, with the symlink it came from (for the error)
  let rest: [string, string | undefined][] = subPath.split('/').map((c) => [c, undefined]);
  let links = 0;
  try {
    while (rest.length > 0) {
      const [c, via] = rest.shift()!;
      if (c === '' || c === '.') continue;
      const here = () => [...names, c].join('/');
      if (c === '..') {
        if (stack.length === 1) throw new SubPathError(`${via ?? '".."'}, outside the volume`, 'escape');
        close(stack.pop()!);
        names.pop();
        continue;
      }
      const parent = stack[stack.length - 1]!;
      if (!fs.fstatSync(parent).isDirectory()) throw new SubPathError(`${names.join('/') || 'the volume'} is not a directory`, 'invalid');
      let fd: number;
      try {
        fd = fs.openSync(`/proc/self/fd/${parent}/${c}`, OPEN_COMPONENT);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new SubPathError(`${here()} does not exist in the volume`, 'missing');
        throw new SubPathError(`${here()} cannot be opened (${code ?? String(e)})`, 'invalid');
      }
      if (!fs.fstatSync(fd).isSymbolicLink()) {
        stack.push(fd);
        names.push(c);
        continue;
      }
      close(fd);
      if (++links > MAX_SYMLINKS) throw new SubPathError(`more than ${MAX_SYMLINKS} symlinks (a loop?) at ${here()}`, 'invalid');
      // read relative to the parent's fd: whatever the link says now is resolved by the same rules
      let target: string;
      try {
        target = fs.readlinkSync(`/proc/self/fd/${parent}/${c}`);
      } catch (e) {
        throw new SubPathError(`${here()} changed while it was resolved (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'invalid');
      }
      const link = `${here()} is a symlink to ${target}`;
      if (target.startsWith('/')) {
        const inside = insideRoot(target.replace(/\/{2,}/g, '/'), roots);
        if (!inside) throw new SubPathError(`${link}, outside the volume`, 'escape');
        while (stack.length > 1) close(stack.pop()!);
        names.length = 0;
        rest = [...inside.map((x): [string, string] => [x, link]), ...rest];
      } else {
        rest = [...target.split('/').map((x): [string, string] => [x, link]), ...rest];
      }
    }
    const fd = stack.pop()!;
    return { fd, isDirectory: fs.fstatSync(fd).isDirectory(), resolved: names.join('/') };
  } finally {
    for (const fd of stack) close(fd);
  }
}

/**
 * Bind-mounts the object an fd of this process names onto `target` (made
 * here: a directory for a directory, an empty file otherwise). The source is
 * `/proc/<our pid>/fd/<n>`: mount(8) runs as a child, so it names our fd
 * table, and with --no-canonicalize it hands the magic link to the kernel
 * as is, which mounts the opened object (never a path looked up again).
 * Checks afterwards that the target is that object (device and inode).
 */
export async function bindOpened(fd: number, isDirectory: boolean, target: string): Promise<void> {
  fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
  if (isDirectory) fs.mkdirSync(target, { mode: 0o700 });
  else fs.closeSync(fs.openSync(target, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW, 0o600));
  await runTool(['mount', '--no-canonicalize', '--bind', `/proc/${process.pid}/fd/${fd}`, target]);
  const want = fs.fstatSync(fd);
  const got = fs.statSync(target);
  if (got.dev !== want.dev || got.ino !== want.ino) {
    await runTool(['umount', target]);
    throw new Error(`the bind mount at ${target} is not the resolved object (dev ${got.dev} ino ${got.ino}, want dev ${want.dev} ino ${want.ino})`);
  }
}
