import fs from 'node:fs';
import path from 'node:path';
import { BarepodError } from '../errors.js';
import { POD_DEFAULTS, type PodRecord, type ProcessIdentity } from '../model.js';
import { podPaths, podsDir } from '../plan/paths.js';
import { identify, isAlive } from './procfs.js';

/** Writes a file atomically: temp file, fsync, rename; readers see the old or the new content, never half. */
export function writeFileAtomic(file: string, data: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
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
      const rec = JSON.parse(fs.readFileSync(podPaths(this.root, pod).record, 'utf8')) as PodRecord;
      rec.def = { ...POD_DEFAULTS, ...rec.def };
      rec.phase ??= 'Running'; // a record of an older barepod
      return rec;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new BarepodError('internal', `pod "${pod}": its record is unreadable: ${(e as Error).message}`, {
        hint: `remove it with \`barepod pod rm -f ${pod}\``,
      });
    }
  }

  write(rec: PodRecord): void {
    writeFileAtomic(podPaths(this.root, rec.def.name).record, JSON.stringify(rec, null, 2) + '\n');
  }

  /** Names of every pod directory (with or without a complete record). */
  list(): string[] {
    try {
      return fs.readdirSync(podsDir(this.root)).filter((n) => !n.startsWith('.')).sort();
    } catch {
      return [];
    }
  }
}

/**
 * One lock per pod, so two CLIs never interleave on it: an O_EXCL lock file
 * holding the owner's pid and start time. A lock whose owner is gone (a
 * killed CLI) is taken over; a live one is waited for, then reported busy.
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
export async function tryWithPodLock<T>(lockFile: string, fn: () => Promise<T>, waitMs = 0): Promise<{ ran: true; value: T } | { ran: false; owner: ProcessIdentity | undefined }> {
  const owner = await acquire(lockFile, waitMs);
  if (owner !== 'mine') return { ran: false, owner };
  return { ran: true, value: await holding(lockFile, fn) };
}

/** Takes a lock file (a stale one is taken over); 'mine', or who holds it once `waitMs` has passed. */
async function acquire(lockFile: string, waitMs: number): Promise<'mine' | ProcessIdentity | undefined> {
  const me = identify(process.pid);
  const deadline = Date.now() + waitMs;
  fs.mkdirSync(path.dirname(lockFile), { recursive: true });
  for (;;) {
    try {
      const fd = fs.openSync(lockFile, 'wx', 0o600);
      fs.writeSync(fd, JSON.stringify(me));
      fs.closeSync(fd);
      return 'mine';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const { owner, stale } = inspectLock(lockFile);
      if (stale) {
        fs.rmSync(lockFile, { force: true });
        continue;
      }
      if (Date.now() >= deadline) return owner;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
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

/**
 * Who holds a lock file, and whether nobody really does: its owner is dead,
 * or it has had no readable owner for more than a moment (its maker was
 * killed between creating it and writing its pid, a window of microseconds).
 */
export function inspectLock(lockFile: string, graceMs = 2000): { owner: ProcessIdentity | undefined; stale: boolean } {
  let owner: ProcessIdentity | undefined;
  try {
    owner = JSON.parse(fs.readFileSync(lockFile, 'utf8')) as ProcessIdentity;
  } catch {
    owner = undefined; // being written right now, torn, or gone
  }
  if (owner) return { owner, stale: !isAlive(owner) };
  try {
    return { owner, stale: Date.now() - fs.statSync(lockFile).mtimeMs > graceMs };
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
