import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BarepodError } from '../errors.js';
import { trace } from '../runtime/exec.js';
import type { PodRecord, ProcessIdentity } from '../model.js';
import { containerPaths } from '../plan/paths.js';
import { monitorCgroupOf, runcId } from '../plan/pod-plan.js';
import type { Spec } from '../oci/types.js';
import { conmonCreate, exitDirOf, readExitFile, readPidFile } from '../runtime/conmon.js';
import { catchesSignal, childrenOf, identify, innermostPid, isAlive, readCmdline, readComm } from '../runtime/procfs.js';
import { HANDLER_PRELUDE_SH, handlerArgv } from '../runtime/self.js';
import { readTextIfThere, writeFileAtomic } from '../runtime/state.js';
import { explain, explaining, explainResult } from '../runtime/explain.js';
import { bundleLines } from '../plan/narration.js';
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
  /** where its conmon writes its exit file (this launch's own dir) */
  exitDir: string;
}

export interface MemberOptions {
  /** names this launch; the exit command carries it */
  launchId: string;
  logSizeMax: number;
  /** the container's terminal and stdin (its definition's tty, stdin, stdinOnce) */
  stdio?: { terminal?: boolean; stdin?: boolean; stdinOnce?: boolean };
  /** the argv --explain shows instead of the spec's (one expanded from Secret values shows its `$(VAR)` references) */
  shownArgs?: string[];
  /** leave a config.json identical to the spec as it is (no write, no fsync): a container's launch when its file system has room */
  keepSameConfig?: boolean;
  /** the launch this one replaces (the record's): where its exit file is, when its instance is still to remove */
  replaces?: string;
  /** the previous instance's removal, started early by the caller: awaited before runc is asked about the id */
  removing?: Promise<void>;
}

/**
 * conmon's exit command for a member: barepod's `_exited` handler, unless
 * barepod itself is stopping the member (the `stopping` marker), which
 * spares a Node start on every stop and removal.
 */
export function exitCommand(rt: Runtime, pod: string, name: string, launchId: string): string[] {
  const marker = containerPaths(rt.settings.stateRoot, pod, name).stopping;
  return [
    '/bin/sh',
    '-c',
    `test -e "$0" || { ${HANDLER_PRELUDE_SH}exec "$@"; }`,
    marker,
    ...handlerArgv(),
    '--root',
    rt.settings.stateRoot,
    '_exited',
    pod,
    name,
    launchId,
  ];
}

/**
 * Moves one of the pod's monitors (a conmon before its start pipe is released,
 * the prober, a restart timer) into the pod's monitor leaf, out of the cgroup
 * of whoever ran barepod: a systemd scope stopped or a session ended there no
 * longer takes the pod's supervision with it. What they start inherits it.
 */
export function placeMonitor(rt: Runtime, podCgroupPath: string, pid: number): void {
  const cgroup = monitorCgroupOf(podCgroupPath);
  if (explaining)
    explain(
      `echo ${pid} > cgroup.procs of ${cgroup} (in every hierarchy where it is not there already): the monitor leaves the caller's cgroup, so it outlives the caller's session`,
    );
  rt.cgroups.placeProcess(cgroup, pid);
}

/** placeMonitor for a process that already runs (a timer, the prober): a failure leaves it where it is, said with --explain. */
export function tryPlaceMonitor(rt: Runtime, rec: PodRecord, pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    placeMonitor(rt, rt.pod(rec).cgroup, pid);
  } catch (e) {
    if (explaining) explain(`could not move pid ${pid} into the pod's monitor cgroup: ${(e as Error).message}`);
  }
}

/** Writes the bundle and creates the member through conmon (not started yet); pushes its teardown. */
export async function createMember(rt: Runtime, rb: Rollback, pod: string, name: string, spec: Spec, o: MemberOptions): Promise<Launched> {
  const id = runcId(pod, name);
  const paths = containerPaths(rt.settings.stateRoot, pod, name);
  const exits = rt.pod(pod).paths.exits;
  // one exit dir per launch: a previous instance's conmon writing late can never write where this one is read
  const exitDir = `${exits}/${o.launchId}`;
  fs.mkdirSync(paths.bundle, { recursive: true, mode: 0o700 });
  // a restart's spec is most often the very last one: leaving an identical file spares the write and its fsync
  const config = JSON.stringify(spec, null, 2) + '\n';
  if (!o.keepSameConfig || readTextIfThere(paths.config) !== config) writeFileAtomic(paths.config, config);
  else trace(`${paths.config}: unchanged, not rewritten`, performance.now());
  if (explaining) {
    const shown = o.shownArgs ? { ...spec, process: { ...spec.process, args: o.shownArgs } } : spec;
    for (const line of bundleLines(shown, paths.config)) explain(line);
  }
  if (o.removing) await o.removing;
  // a leftover of a crashed command (or the previous instance) under the same id would make runc create fail: clear it first
  await rt.runc.settle(id);
  if (rt.runc.knows(id)) {
    if (explaining) explain(`runc still knows ${id} (a previous instance): remove it first`);
    await terminateMember(rt, pod, name, { process: undefined, graceSeconds: 0, launchId: o.replaces });
  } else await rt.runc.clearLeftovers(id); // a state dir runc no longer knows would make it refuse the id
  // the replaced launch's exit dir stays until the record no longer names it (withRecord's sweep): a command killed
  // before it saves the record leaves the exit code there for the next one; an older build's exit file goes now
  fs.mkdirSync(exitDir, { recursive: true, mode: 0o700 });
  for (const stale of [`${exits}/${id}`, `${exitDir}/${id}`, paths.pidFile, paths.conmonPidFile, paths.oom, paths.stopping]) unlinkIfThere(stale);
  const created = await conmonCreate({
    conmon: rt.conmon,
    runc: rt.runc.bin,
    runcRoot: rt.runc.root,
    id,
    name: id,
    bundle: paths.bundle,
    pidFile: paths.pidFile,
    conmonPidFile: paths.conmonPidFile,
    exitDir,
    logPath: paths.log,
    logSizeMax: o.logSizeMax,
    ...o.stdio,
    exitCommand: exitCommand(rt, pod, name, o.launchId),
    // the pod's cgroup is the parent of the member's (the record's top dir: an older pod keeps /barepod)
    place: (pid) => placeMonitor(rt, spec.linux?.cgroupsPath ? path.dirname(spec.linux.cgroupsPath) : rt.pod(pod).cgroup, pid),
  }).catch(async (e: unknown) => {
    // runc create failed or was cut off: a runc init killed inside its copy guard leaves the id's state dir behind
    await rt.runc.clearLeftovers(id).catch(() => undefined);
    throw e;
  });
  const proc = identify(created.pid) ?? { pid: created.pid, startTime: '' };
  const conmon = created.conmonPid > 0 ? identify(created.conmonPid) : undefined;
  rb.push(`remove container ${id}`, async () => {
    await terminateMember(rt, pod, name, { process: proc, conmon, graceSeconds: 0, launchId: o.launchId });
    fs.rmSync(exitDir, { recursive: true, force: true });
  });
  return { id, process: proc, conmon, exitDir };
}

/** Removes a file that may not be there: one unlink (rmSync's lstat first is a syscall more on the restart's path). */
function unlinkIfThere(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** A fresh id for one launch of a member. */
export const newLaunchId = (): string => randomBytes(6).toString('hex');

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
  const alive = isAlive(launched.process);
  if (explaining) explainResult(alive ? `started: pid ${pid} now runs ${readComm(pid) ?? '?'}` : `started, and pid ${pid} has exited already`);
  return alive;
}

export interface TerminateOptions {
  process: ProcessIdentity | undefined;
  conmon?: ProcessIdentity | undefined;
  graceSeconds: number;
  /** signal every process of the member's cgroup (a container in a shared pid namespace) */
  all?: boolean;
  /** the launch the record knows (its exit file is in that launch's dir); none for an instance no record knows */
  launchId?: string | undefined;
}

/**
 * Stops a member and deletes it from runc: SIGTERM, up to the grace period,
 * then SIGKILL; waits for conmon's exit file; then plain `runc delete`.
 * Returns the exit code conmon recorded, if any.
 */
export async function terminateMember(rt: Runtime, pod: string, name: string, o: TerminateOptions): Promise<number | undefined> {
  const id = runcId(pod, name);
  const exits = exitDirOf(rt.pod(pod).paths.exits, o.launchId);
  const known = rt.runc.knows(id);
  const bundle = containerPaths(rt.settings.stateRoot, pod, name);
  // tell the exit command this exit is ours, not a crash to restart
  if (fs.existsSync(bundle.bundle)) fs.writeFileSync(bundle.stopping, '');
  // Our record usually says whether the process lives; only without one do we ask runc.
  let proc = o.process;
  // no record of the process: ask runc (an exit file proves nothing here: a previous instance's conmon may write it
  // after this instance started, as it reaps, lets runc delete go on, then writes)
  // (runc's own state file first: the pid and start time runc judges by, read without a runc process, which a
  // restart would otherwise pay for on its critical path; `runc state` only when that file is not readable)
  let conmon = o.conmon;
  if (known && !proc) {
    const init = rt.runc.initProcess(id);
    if (init) proc = isAlive(init) ? init : undefined;
    else {
      const state = await rt.runc.state(id);
      proc = state && state.status !== 'stopped' ? identify(state.pid) : undefined;
    }
    // an instance no record knows (a killed command's) has a conmon of its own, which writes its exit file after it
    // reaps: wait for that as for a recorded one below, or the file could land after the next instance cleared it
    conmon ??= orphanMonitor(bundle.conmonPidFile);
  }
  if (known && isAlive(proc)) {
    // judged by the process itself (pid and start time), never by an exit file, which may be a previous instance's
    const exited = () => !isAlive(proc);
    if (o.graceSeconds > 0 && !termIsIgnored(proc, o.all)) {
      await signalMember(rt, id, proc, 'SIGTERM', o.all);
      if (explaining) explain(`wait up to ${o.graceSeconds}s for it to exit`);
      await waitFor(exited, o.graceSeconds * 1000);
    } else if (explaining) {
      explain(
        o.graceSeconds > 0
          ? `no SIGTERM: pid ${proc?.pid} is the PID 1 of its namespace with no handler for it, so the kernel would drop it`
          : 'no grace period: SIGKILL at once',
      );
    }
    if (!exited()) {
      await signalMember(rt, id, proc, 'SIGKILL', o.all);
      if (!(await waitFor(exited, 10_000))) {
        throw new BarepodError('tool-failed', `container ${id} did not exit after SIGKILL (pid ${proc?.pid})`);
      }
    }
  }
  // conmon writes the exit file after reaping; give it a moment, then wait it out. Once conmon runs its exit command,
  // the file is written (or never will be: a failed create), and that command may be an exit handler waiting for the
  // lock this caller holds, or this very handler (an instance no record knows, whose exit file is in a launch dir
  // not known here): waiting for such a conmon to end would hold the pod for the whole wait
  if (conmon) await waitFor(() => readExitFile(exits, id) !== undefined || !isAlive(conmon) || runsExitHandler(conmon.pid, pod, name), 5_000);
  if (explaining) {
    const code = readExitFile(exits, id);
    explainResult(
      !known
        ? `runc does not know ${id}: nothing to stop`
        : code === undefined
          ? `${id} has no exit code recorded`
          : `${id} exited: conmon wrote ${code} to ${exits}/${id}`,
    );
  }
  if (known) {
    await rt.runc.clearLeftovers(id); // a killed exec's guard mount would keep runc delete from removing the dir
    await rt.runc.delete(id);
  }
  await rt.runc.clearLeftovers(id);
  // conmon ends once its exit command has: wait for that, unless the command is a
  // restart handler, which may be waiting for the very lock this caller holds
  if (conmon) await waitFor(() => !isAlive(conmon) || runsExitHandler(conmon.pid, pod, name), 5_000);
  return readExitFile(exits, id);
}

/** The conmon a member's pid file names, when it is alive and is a conmon. */
function orphanMonitor(pidFile: string): ProcessIdentity | undefined {
  const pid = readPidFile(pidFile);
  if (pid === undefined || readComm(pid) !== 'conmon') return undefined;
  return identify(pid);
}

/**
 * Whether a conmon is running its exit command for this member (`… _exited POD NAME LAUNCH`: the shell that tests the
 * `stopping` marker, or barepod's handler it became). Matched on the member's own words, not on a bare `_exited` a
 * container's program could carry in its argv.
 */
function runsExitHandler(conmonPid: number, pod: string, name: string): boolean {
  return childrenOf(conmonPid).some((child) => {
    const argv = readCmdline(child);
    const at = argv.indexOf('_exited');
    return at >= 0 && argv[at + 1] === pod && argv[at + 2] === name;
  });
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
export async function signalMember(rt: Runtime, id: string, proc: ProcessIdentity | undefined, sig: NodeJS.Signals, all?: boolean): Promise<void> {
  if (!all && proc && isAlive(proc)) {
    if (explaining) explain(`kill -${sig.replace(/^SIG/, '')} ${proc.pid} (its process, checked by pid and start time first, as runc kill does)`);
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
