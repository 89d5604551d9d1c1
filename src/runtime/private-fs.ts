/**
 * Files and directories only root may read or change: barepod's state root,
 * image store and stored manifests hold env values (passwords) and are
 * written as root, so
 * - every file that can hold them is created 0600, every directory 0700;
 * - a temp file is created with O_CREAT|O_EXCL|O_NOFOLLOW under a random
 *   name, never by a predictable name another user could plant a symlink at;
 * - a directory barepod writes into must be trusted the way OpenSSH's
 *   StrictModes trusts a home: owned by root (or the user running barepod),
 *   not writable by group or others, and so is every ancestor, except that an
 *   ancestor may be a root-owned sticky directory such as /tmp.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BarepodError, diskFull, isNoSpace } from '../errors.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
const S_ISVTX = 0o1000;

/** Flags of every file barepod creates afresh: a new inode or an error, never through a symlink. */
export const CREATE_EXCL = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW; // libuv adds O_CLOEXEC itself

/** A temp name next to `file` that nobody can guess: `.<name>.<random>.tmp`. */
export function tempNameFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(8).toString('hex')}.tmp`);
}

/**
 * Writes a file atomically: a fresh temp file (O_EXCL|O_NOFOLLOW, random
 * name, `mode`), fsync, rename over `file`. Readers see the old or the new
 * content, never half; a symlink planted anywhere near is never followed
 * (rename replaces a symlink at `file` itself, it does not write through it).
 */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600): void {
  const tmp = tempNameFor(file);
  const fd = fs.openSync(tmp, CREATE_EXCL, mode);
  try {
    try {
      fs.fchmodSync(fd, mode); // the umask never loosens or tightens what was asked
      fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true }); // the old content stays, whole
    throw isNoSpace(e) ? diskFull(file, e) : e;
  }
}

/** Who may own a trusted directory: root, or the user running barepod. */
const trustedOwner = (uid: number): boolean => uid === 0 || uid === (process.geteuid?.() ?? 0);

/**
 * Refuses a directory (and its ancestors) another local user could change:
 * owned by someone else than root (or the user running barepod), or writable
 * by group or others; an ancestor may be world-writable only with the sticky
 * bit and root as owner (/tmp). A directory that does not exist yet is judged
 * by its nearest existing ancestor. `what` names it in the error. Says whether
 * the dir itself was there to judge (false: only its nearest ancestor was).
 */
export function requireTrustedDir(dir: string, what: string): boolean {
  const abs = path.resolve(dir);
  // a dir whose real path is itself has no symlink on the way (the usual case: every call's state root), so the
  // walk below would find none: one realpath(3) instead of an lstat per component
  if (realPathOrUndefined(abs) === abs) {
    judgeChain(abs, abs, abs, what);
    return true;
  }
  // judge the real path: a symlinked component is judged where it leads
  let existing = abs;
  for (;;) {
    if (fs.lstatSync(existing, { throwIfNoEntry: false })) break;
    const up = path.dirname(existing);
    if (up === existing) break;
    existing = up;
  }
  // a symlink on the way, in a dir others can write to, may have been planted (or swapped) by one of them (/tmp/x → /etc);
  // in a root-owned sticky dir only its owner can replace it, so one of root's is fine there
  for (let p = existing; p !== path.dirname(p); p = path.dirname(p)) {
    const link = fs.lstatSync(p);
    if (!link.isSymbolicLink()) continue;
    const parent = fs.statSync(path.dirname(p));
    const open = (parent.mode & 0o022) !== 0 || !trustedOwner(parent.uid);
    const guarded = (parent.mode & S_ISVTX) !== 0 && trustedOwner(parent.uid) && trustedOwner(link.uid);
    if (open && !guarded) {
      throw new BarepodError(
        'unsafe-dir',
        `the ${what} ${abs}: ${p} is a symlink in ${path.dirname(p)}, which others can write to: one of them could have planted it`,
        {
          hint: `give the real path if it is yours, or pick another ${what}`,
        },
      );
    }
  }
  let real: string;
  try {
    real = fs.realpathSync.native(existing);
  } catch (e) {
    throw new BarepodError('unsafe-dir', `the ${what} ${abs}: ${existing} is a symlink that leads nowhere (${(e as Error).message})`, {
      hint: `remove it, or pick another ${what}`,
      cause: e,
    });
  }
  judgeChain(abs, existing, real, what);
  return existing === abs;
}

function realPathOrUndefined(p: string): string | undefined {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return undefined;
  }
}

/** The owner and mode test of requireTrustedDir, on `real` (the real path of `existing`, `abs` or its nearest ancestor) and each of its ancestors. */
function judgeChain(abs: string, existing: string, real: string, what: string): void {
  const chain: string[] = [];
  for (let p = real; ; p = path.dirname(p)) {
    chain.push(p);
    if (p === path.dirname(p)) break;
  }
  for (const p of chain) {
    const st = fs.statSync(p);
    const self = p === real && existing === abs;
    const shown = p === abs ? abs : `${abs}: its ${self ? 'real path' : 'ancestor'} ${p}`;
    if (!st.isDirectory()) {
      throw new BarepodError('unsafe-dir', `the ${what} ${abs}: ${p} is not a directory`, { hint: `pick another ${what}` });
    }
    if (!trustedOwner(st.uid)) {
      throw new BarepodError(
        'unsafe-dir',
        `the ${what} ${shown} is owned by uid ${st.uid}, not root: that user could read or replace what barepod keeps there`,
        {
          hint: `chown root:root ${p} (or pick another ${what})`,
        },
      );
    }
    const othersWrite = (st.mode & 0o022) !== 0;
    const stickyRoot = (st.mode & S_ISVTX) !== 0 && st.uid === 0;
    if (othersWrite && (self || !stickyRoot)) {
      throw new BarepodError(
        'unsafe-dir',
        `the ${what} ${shown} is writable by ${st.mode & 0o002 ? 'every local user' : 'its group'} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}): another user could plant files or symlinks there`,
        {
          hint: `chmod ${self ? '0700' : 'go-w'} ${p} (or pick another ${what})`,
        },
      );
    }
  }
}

/**
 * A directory only root can read: checked with requireTrustedDir, created
 * 0700 (with any missing parents) when missing, and tightened to 0700 when
 * an older barepod (or a user) made it readable by others.
 */
export function ensurePrivateDir(dir: string, what: string): void {
  // a dir that was there and passed stays barepod's: it and every ancestor are root's, not writable by others (a
  // sticky ancestor lets no one else rename it away), so it is judged once (every call opens its state root)
  if (!requireTrustedDir(dir, what)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // again, now that it exists: another user may have made it (or a symlink there) between the check and mkdir
    requireTrustedDir(dir, what);
  }
  tighten(dir);
}

/** Makes a directory barepod owns 0700 (created when missing, without a trust check: its parent is private already). */
export function privateSubdir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  tighten(dir);
}

function tighten(dir: string): void {
  const st = fs.statSync(dir);
  if ((st.mode & 0o077) !== 0) fs.chmodSync(dir, st.mode & 0o7700);
}
