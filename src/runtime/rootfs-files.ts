import fs from 'node:fs';
import path from 'node:path';

/**
 * Resolves `file` inside `root` as the container would see it, without ever
 * leaving `root`: every symlink met on the way is followed *within* root (an
 * absolute target starts again at root, `..` stops at root), as if root were
 * `/`. A rootfs is the image's (or the user's) content, so a link such as
 * `etc -> /etc` must lead to the rootfs's /etc, never the host's.
 */
export function resolveInRoot(root: string, file: string, maxLinks = 40): string {
  const todo = file.split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const part = todo.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const here = path.join(root, ...done, part);
    const st = fs.lstatSync(here, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) {
      if (++links > maxLinks) throw Object.assign(new Error(`${file}: too many levels of symbolic links`), { code: 'ELOOP' });
      const target = fs.readlinkSync(here);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    done.push(part);
  }
  return path.join(root, ...done);
}

/** Reads a regular file of a rootfs (resolved within it); undefined when it is missing or not a regular file. */
export function readFileInRoot(root: string, file: string): string | undefined {
  let fd: number | undefined;
  try {
    const p = resolveInRoot(root, file);
    // O_NOFOLLOW: the last component was resolved above; a link swapped in since is refused, not followed
    fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    if (!fs.fstatSync(fd).isFile()) return undefined;
    return fs.readFileSync(fd, 'utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
