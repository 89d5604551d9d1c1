import fs from 'node:fs';
import { BarepodError } from '../errors.js';
import type { ProcessIdentity } from '../model.js';
import { containerPaths, podPaths } from '../plan/paths.js';
import { runcId } from '../plan/pod-plan.js';
import type { Spec } from '../spec/types.js';
import { conmonCreate, readExitFile } from '../runtime/conmon.js';
import { catchesSignal, identify, innermostPid, isAlive, readComm } from '../runtime/procfs.js';
import { writeFileAtomic } from '../runtime/state.js';
import type { Rollback } from './rollback.js';
import type { Runtime } from './runtime.js';

/**
 * A pod member is the sandbox or one container: the same create / start /
 * terminate sequence serves both, so it lives here once.
 */
export interface Launched {
  id: string;
  process: ProcessIdentity;
  conmon: ProcessIdentity | undefined;
}

/** Writes the bundle and creates the member through conmon (not started yet); pushes its teardown. */
export async function createMember(rt: Runtime, rb: Rollback, pod: string, name: string, spec: Spec): Promise<Launched> {
  const id = runcId(pod, name);
  const paths = containerPaths(rt.settings.stateRoot, pod, name);
  const exits = podPaths(rt.settings.stateRoot, pod).exits;
  fs.mkdirSync(paths.bundle, { recursive: true });
  fs.mkdirSync(exits, { recursive: true });
  writeFileAtomic(paths.config, JSON.stringify(spec, null, 2) + '\n');
  for (const stale of [`${exits}/${id}`, paths.pidFile, paths.conmonPidFile]) fs.rmSync(stale, { force: true });
  // a leftover of a crashed command under the same id would make runc create fail: clear it first
  if (rt.runc.knows(id)) await terminateMember(rt, pod, name, { process: undefined, graceSeconds: 0 });
  const created = await conmonCreate({
    conmon: rt.conmon,
    runc: rt.runc.bin,
    runcRoot: rt.runc.root,
    id,
    name: id,
    bundle: paths.bundle,
    pidFile: paths.pidFile,
    conmonPidFile: paths.conmonPidFile,
    exitDir: exits,
    logPath: paths.log,
    logSizeMax: rt.settings.logSizeMax,
  });
  const proc = identify(created.pid) ?? { pid: created.pid, startTime: '' };
  const conmon = created.conmonPid > 0 ? identify(created.conmonPid) : undefined;
  rb.push(`remove container ${id}`, () => terminateMember(rt, pod, name, { process: proc, conmon, graceSeconds: 0 }).then(() => undefined));
  return { id, process: proc, conmon };
}

/**
 * Starts a created member and waits until runc's init has exec'd the user's
 * program (or died): `runc start` returns before execve, so an exec failure
 * (a non-executable file, a wrong architecture) shows only as a dead process.
 * Returns whether the process is still alive.
 */
export async function startMember(rt: Runtime, launched: Launched): Promise<boolean> {
  await rt.runc.start(launched.id);
  const { pid } = launched.process;
  await waitFor(() => !isAlive(launched.process) || !readComm(pid)?.startsWith('runc:'), 5_000);
  return isAlive(launched.process);
}

export interface TerminateOptions {
  process: ProcessIdentity | undefined;
  conmon?: ProcessIdentity | undefined;
  graceSeconds: number;
  /** signal every process of the member's cgroup (a container in a shared pid namespace) */
  all?: boolean;
}

/**
 * Stops a member and deletes it from runc: SIGTERM, up to the grace period,
 * then SIGKILL; waits for conmon's exit file; then plain `runc delete`.
 * Returns the exit code conmon recorded, if any.
 */
export async function terminateMember(rt: Runtime, pod: string, name: string, o: TerminateOptions): Promise<number | undefined> {
  const id = runcId(pod, name);
  const exits = podPaths(rt.settings.stateRoot, pod).exits;
  const known = rt.runc.knows(id);
  // Our record usually says whether the process lives; only without one do we ask runc.
  let proc = o.process;
  if (known && !proc) {
    const state = await rt.runc.state(id);
    proc = state && state.status !== 'stopped' ? identify(state.pid) : undefined;
  }
  if (known && isAlive(proc)) {
    const exited = () => readExitFile(exits, id) !== undefined || !isAlive(proc);
    if (o.graceSeconds > 0 && !termIsIgnored(proc, o.all)) {
      await signal(rt, id, proc, 'SIGTERM', o.all);
      await waitFor(exited, o.graceSeconds * 1000);
    }
    if (!exited()) {
      await signal(rt, id, proc, 'SIGKILL', o.all);
      if (!(await waitFor(exited, 10_000))) {
        throw new BarepodError('tool-failed', `container ${id} did not exit after SIGKILL (pid ${proc?.pid})`);
      }
    }
  }
  // conmon writes the exit file after reaping; give it a moment, then wait it out.
  const conmon = o.conmon;
  if (conmon) await waitFor(() => readExitFile(exits, id) !== undefined || !isAlive(conmon), 5_000);
  if (known) await rt.runc.delete(id);
  if (conmon) await waitFor(() => !isAlive(conmon), 5_000);
  return readExitFile(exits, id);
}

/** SIGTERM to a PID 1 without a handler is dropped by the kernel: waiting the grace period out would change nothing. */
function termIsIgnored(proc: ProcessIdentity | undefined, all: boolean | undefined): boolean {
  if (all || !proc || !isAlive(proc)) return false;
  return innermostPid(proc.pid) === 1 && catchesSignal(proc.pid, 15) === false;
}

/**
 * Signals a member. One process we know (pid + start time, checked just now)
 * is signalled directly, as runc itself does after the same check; every
 * process of the cgroup (a shared pid namespace) goes through `runc kill --all`.
 */
async function signal(rt: Runtime, id: string, proc: ProcessIdentity | undefined, sig: NodeJS.Signals, all?: boolean): Promise<void> {
  if (!all && proc && isAlive(proc)) {
    try {
      process.kill(proc.pid, sig);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') return; // exited meanwhile: that is success
      throw e;
    }
  }
  try {
    await rt.runc.kill(id, sig.replace(/^SIG/, ''), all);
  } catch (e) {
    // The process may exit between our check and the signal: that is success.
    const state = await rt.runc.state(id);
    if (state && state.status !== 'stopped') throw e;
  }
}

/** Polls a condition every few milliseconds; true when it held before the deadline. */
export async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    if (cond()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 25);
  }
}
