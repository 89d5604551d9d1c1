import fs from 'node:fs';
import path from 'node:path';
import { BarepodError, diskFull, isNoSpace } from '../errors.js';
import { isValidName } from '../names.js';
import { POD_DEFAULTS, type PodRecord, type ProcessIdentity } from '../model.js';
import { podPaths, podsDir } from '../plan/paths.js';
import { endProgramsOf, isAlive, selfIdentity } from './procfs.js';
import { timeoutFor } from './exec.js';
import { upgradeRecord } from './record-version.js';
import { explain, explaining } from './explain.js';

import { writeFileAtomic } from './private-fs.js';

export { writeFileAtomic };

/** Whether a path's file system has no free block left (as root sees it): a failure there is most likely a full disk. */
/** A file's text, or undefined when it is not there (or cannot be read as one). */
export function readTextIfThere(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export function fileSystemFull(dir: string): boolean {
  try {
    return fs.statfsSync(dir).bfree === 0;
  } catch {
    return false;
  }
}

/** The pod records under one state root. */
export class StateStore {
  constructor(readonly root: string) {}

  /** Reads a pod's record; a missing pod is a not-found error. */
  read(pod: string): PodRecord {
    const rec = this.tryRead(pod);
    if (!rec) throw new BarepodError('not-found', `pod "${pod}" not found`, { hint: 'list pods with `barepod ps`' });
    return rec;
  }

  /** Reads a pod's record, or undefined when there is none (or it was never completed). */
  tryRead(pod: string): PodRecord | undefined {
    try {
      const rec = upgradeRecord(JSON.parse(fs.readFileSync(podPaths(this.root, pod).record, 'utf8'))); // an older barepod's, in today's format
      rec.def = { ...POD_DEFAULTS, ...rec.def };
      rec.phase ??= 'Running'; // a record of an older barepod
      // a removal that found the disk full marks the pod with an empty file instead (it needs no data block)
      if (fs.existsSync(podPaths(this.root, pod).removing)) rec.phase = 'Removing';
      return rec;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new BarepodError('internal', `pod "${pod}": its record is unreadable: ${(e as Error).message}`, {
        hint: `remove it with \`barepod pod rm -f ${pod}\``,
        cause: e,
      });
    }
  }

  /** Saves a record; one that did not change is not written again (a command that changed nothing works on a full disk). */
  write(rec: PodRecord): void {
    const file = podPaths(this.root, rec.def.name).record;
    const text = JSON.stringify(rec, null, 2) + '\n';
    try {
      if (fs.readFileSync(file, 'utf8') === text) return;
    } catch {
      // not there yet, or unreadable: write it
    }
    writeFileAtomic(file, text);
  }

  /**
   * Marks a pod Removing (an exit handler or gc then finishes the removal
   * instead of restarting anything): in its record, or, when the disk is
   * full, with an empty marker file, which needs no data block.
   */
  markRemoving(rec: PodRecord): 'record' | 'marker' {
    rec.phase = 'Removing';
    try {
      this.write(rec);
      return 'record';
    } catch (e) {
      if (!isNoSpace(e)) throw e;
      fs.closeSync(fs.openSync(podPaths(this.root, rec.def.name).removing, 'w', 0o600));
      return 'marker';
    }
  }

  /** Names of every pod directory (with or without a complete record); an entry no pod could have made (not a valid name) is not a pod. */
  list(): string[] {
    try {
      return fs.readdirSync(podsDir(this.root)).filter(isValidName).sort();
    } catch {
      return [];
    }
  }
}

/**
 * One lock per pod, so two CLIs never interleave on it: a symlink whose
 * target is the owner's pid and start time, made in one symlink(2), so it
 * is never torn or empty and needs no data block (a full disk still lets
 * removal and gc take it). A lock whose owner is gone (a killed CLI) is
 * taken over; a live one is waited for, then reported busy. A regular lock
 * file (an older barepod's) is still understood.
 */
export async function withPodLock<T>(lockFile: string, pod: string, fn: () => Promise<T>, waitMs = 60_000): Promise<T> {
  return withFileLock(lockFile, `pod "${pod}"`, fn, waitMs);
}

/** The lock behind withPodLock, for anything else one command at a time must change (the image store); `what` names it in errors. */
export async function withFileLock<T>(lockFile: string, what: string, fn: () => Promise<T>, waitMs = 60_000): Promise<T> {
  const owner = await acquire(lockFile, waitMs);
  if (owner !== 'mine') {
    throw new BarepodError('busy', `${what} is busy: another barepod command (pid ${owner?.pid ?? '?'}) holds its lock`, {
      hint: 'wait for it to finish and try again',
    });
  }
  return holding(lockFile, fn);
}

/**
 * withPodLock for `gc`: runs `fn` under the pod's lock when it is free (or
 * frees up within `waitMs`); otherwise runs nothing and says who holds it.
 */
export async function tryWithPodLock<T>(
  lockFile: string,
  fn: () => Promise<T>,
  waitMs = 0,
): Promise<{ ran: true; value: T } | { ran: false; owner: ProcessIdentity | undefined }> {
  const owner = await acquire(lockFile, waitMs);
  if (owner !== 'mine') return { ran: false, owner };
  return { ran: true, value: await holding(lockFile, fn) };
}

/** Takes a lock file (a stale one is taken over); 'mine', or who holds it once `waitMs` has passed. */
async function acquire(lockFile: string, waitMs: number): Promise<'mine' | ProcessIdentity | undefined> {
  const me = selfIdentity();
  let deadline = Date.now() + waitMs;
  let said = false;
  fs.mkdirSync(path.dirname(lockFile), { recursive: true, mode: 0o700 });
  for (;;) {
    try {
      takeLock(lockFile, JSON.stringify(me));
      return 'mine';
    } catch (e) {
      if (isNoSpace(e)) throw diskFull(lockFile, e); // not even an inode left
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const { owner, stale } = inspectLock(lockFile);
      if (stale) {
        // the dead holder's programs still running (a plugin finishing its ADD) must not change the host under the next holder
        if (owner) {
          const { finished, killed } = await endProgramsOf(owner, timeoutFor('orphans'));
          if (explaining && finished.length + killed.length) {
            explain(
              `the dead holder (pid ${owner.pid}) of ${lockFile} left programs running: ${finished.length ? `waited for ${finished.join(', ')} to finish` : ''}${finished.length && killed.length ? '; ' : ''}${killed.length ? `killed ${killed.join(', ')} (still running after BAREPOD_TIMEOUT_ORPHANS)` : ''}`,
            );
          }
        }
        // the wait may have been long: remove the lock only if it still names the dead holder (another command,
        // an exit handler, may have taken it over meanwhile), and give a live holder the whole wait again
        if (owner && sameOwner(inspectLock(lockFile).owner, owner) === false) {
          deadline = Math.max(deadline, Date.now() + waitMs);
          continue;
        }
        fs.rmSync(lockFile, { force: true });
        deadline = Math.max(deadline, Date.now() + waitMs);
        continue;
      }
      if (Date.now() >= deadline) return owner;
      if (explaining && !said)
        explain(`${lockFile} is held by another barepod command (pid ${owner?.pid ?? '?'}): wait up to ${Math.round(waitMs / 1000)}s for it`);
      said = true;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** Whether a lock still names `owner`: undefined when it is gone (or unreadable), which the next attempt sorts out. */
function sameOwner(now: ProcessIdentity | undefined, owner: ProcessIdentity): boolean | undefined {
  if (now === undefined) return undefined;
  return now.pid === owner.pid && now.startTime === owner.startTime;
}

/** Runs `fn` holding a lock just taken, and releases it however `fn` ends. */
async function holding<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
  const release = deferSignals();
  try {
    const result = await fn();
    release.check();
    return result;
  } finally {
    release.done();
    fs.rmSync(lockFile, { force: true });
  }
}

/** Creates the lock in one step: a symlink; on a file system without symlinks, an O_EXCL file with the owner written in. */
function takeLock(lockFile: string, owner: string): void {
  try {
    fs.symlinkSync(owner, lockFile);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
    const fd = fs.openSync(lockFile, 'wx', 0o600);
    try {
      fs.writeSync(fd, owner);
    } catch (w) {
      fs.rmSync(lockFile, { force: true }); // never leave an empty lock behind
      throw w;
    } finally {
      fs.closeSync(fd);
    }
  }
}

/**
 * Who holds a lock file, and whether nobody really does: its owner is dead,
 * or it has had no readable owner for more than a moment (its maker was
 * killed between creating it and writing its pid, a window of microseconds).
 */
export function inspectLock(lockFile: string, graceMs = 2000): { owner: ProcessIdentity | undefined; stale: boolean } {
  let owner: ProcessIdentity | undefined;
  try {
    const link = fs.lstatSync(lockFile).isSymbolicLink();
    owner = JSON.parse(link ? fs.readlinkSync(lockFile) : fs.readFileSync(lockFile, 'utf8')) as ProcessIdentity;
  } catch {
    owner = undefined; // an older barepod's lock file being written right now, torn (its maker killed or out of space), or gone
  }
  if (owner) return { owner, stale: !isAlive(owner) };
  try {
    return { owner, stale: Date.now() - fs.lstatSync(lockFile).mtimeMs > graceMs };
  } catch {
    return { owner, stale: false }; // gone meanwhile: the next attempt takes it
  }
}

/**
 * While a pod is being changed, Ctrl-C and SIGTERM do not cut a step in
 * half (a runc container without a record, a mount without an owner): the
 * first one lets the current command finish or roll back, then exits 130; a
 * second one exits at once.
 */
function deferSignals(): { check(): void; done(): void } {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  let received: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (received) process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    received = sig;
    process.stderr.write(`barepod: ${sig}: finishing the current step so nothing is left half-done (again to abort at once)\n`);
  };
  for (const s of signals) process.on(s, onSignal);
  return {
    check() {
      if (received) throw new BarepodError('interrupted', `interrupted by ${received}; the last step completed`);
    },
    done() {
      for (const s of signals) process.off(s, onSignal);
    },
  };
}
