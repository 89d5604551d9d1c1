/**
 * Looks a program up inside a container's root filesystem, as its shell
 * would: through `/proc/<pid>/root`, with every symlink resolved against that
 * root (an absolute link such as `/bin -> /usr/bin` must not reach the
 * host's `/usr/bin`). Reads only; used to explain a failed `exec`.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The kind of what is at `p` inside `root` (symlinks followed within the root), or undefined when nothing is. */
export function kindInRoot(root: string, p: string, maxLinks = 40): 'file' | 'dir' | 'other' | undefined {
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let links = 0;
  while (parts.length) {
    const part = parts.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    const at = path.join(root, ...done, part);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(at);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++links > maxLinks) return undefined;
      const target = fs.readlinkSync(at);
      if (target.startsWith('/')) done.length = 0;
      parts.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
      continue;
    }
    done.push(part);
    if (parts.length && !st.isDirectory()) return undefined;
    if (!parts.length) return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  }
  return 'dir';
}

/** The default PATH runc uses when the process environment has none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Where a command's program is inside the root: the path itself when it has
 * a slash (relative to `cwd`), else the first directory of `PATH` holding a
 * file of that name. undefined: there is none.
 */
export function findProgram(root: string, program: string, pathEnv: string, cwd = '/'): string | undefined {
  if (program.includes('/')) {
    const p = path.posix.resolve(cwd, program);
    return kindInRoot(root, p) === 'file' ? p : undefined;
  }
  for (const dir of pathEnv.split(':').filter(Boolean)) {
    const p = path.posix.join(dir.startsWith('/') ? dir : path.posix.resolve(cwd, dir), program);
    if (kindInRoot(root, p) === 'file') return p;
  }
  return undefined;
}
