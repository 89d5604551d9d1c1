// The read side of a pod's record: the record under the pod's lock (withPod), reconciled with what conmon and
// /proc say (exits recorded as events, strays of crashed commands removed), and lookups in it. `views`, `logs`
// and `observe` read pods through this module without importing lifecycle code.
import fs from 'node:fs';
import path from 'node:path';
import { BarepodError, isNoSpace } from '../errors.js';
import { trace } from '../runtime/exec.js';
import type { ContainerRecord, PodRecord } from '../model.js';
import { SANDBOX_NAME } from '../plan/pod-plan.js';
import { exitReason } from '../plan/restart.js';
import { containerPaths } from '../plan/paths.js';
import { appendEvent } from '../runtime/events.js';
import { exitDirOf, readExitFile } from '../runtime/conmon.js';
import { unmountAll } from '../runtime/mounts.js';
import { isAlive } from '../runtime/procfs.js';
import { fileSystemFull } from '../runtime/state.js';
import { terminateMember } from './member.js';
import type { Runtime } from './runtime.js';
import { removeSubPathStaging } from './volumes.js';
import { restartDeadProber, syncProbeConfig } from './prober.js';

/**
 * Runs `fn` on a pod's record under the pod's lock, after reconciling it with
 * reality (exits recorded as events, strays of crashed commands removed);
 * saves the record however `fn` ends.
 */
export async function withPod<T>(rt: Runtime, pod: string, fn: (rec: PodRecord) => Promise<T>): Promise<T> {
  return rt.pod(pod).withLock(() => withRecord(rt, pod, fn));
}

/** withPod's work for a caller that already holds the pod's lock (`gc`). */
export async function withRecord<T>(rt: Runtime, pod: string, fn: (rec: PodRecord) => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const rec = rt.store.read(pod);
  const changed = reconcile(rt, rec);
  // the record first, then the events: a command killed in between (an exit handler) must not have the next one record the same exit again
  // (on a full disk it waits for the write at the end, as before: a removal must still work there and frees the space)
  if (changed.length) {
    try {
      rt.store.write(rec);
    } catch (e) {
      if (!isNoSpace(e)) throw e;
    }
  }
  recordExits(rt, rec, changed);
  trace(`pod ${pod}: record read and reconciled${changed.length ? ', exits recorded' : ''}`, t0);
  try {
    await removeStrays(rt, rec);
    return await fn(rec);
  } finally {
    if (rt.store.tryRead(pod)) {
      // a prober that died (killed, OOM) is started again by the next command on the pod, as by `gc`
      try {
        restartDeadProber(rt, rec);
      } catch {
        // `gc` says why (a missing barepod-prober): the command itself is not about probes
      }
      rt.store.write(rec);
      syncProbeConfig(rt, rec); // a container instance started or went: the prober follows
      sweepExitDirs(rt, rec);
    }
  }
}

/** A container of a pod's record, or a not-found error listing the pod's containers. */
export function findContainer(rec: PodRecord, name: string): ContainerRecord {
  const c = rec.containers.find((x) => x.def.name === name);
  if (!c) {
    throw new BarepodError('not-found', `container "${name}" not found in pod "${rec.def.name}"`, {
      hint: `containers of the pod: ${rec.containers.map((x) => x.def.name).join(', ') || 'none'}`,
    });
  }
  return c;
}

/**
 * Updates the record from what conmon and /proc say: an exit file means the
 * container exited (with that code, OOMKilled when conmon saw its cgroup's
 * OOM kill); a process that is gone with no exit file and no monitor is
 * 'unknown'. Pure reads, no locks (`ps` uses it too); returns the containers
 * whose state changed.
 */
export function reconcile(rt: Runtime, rec: PodRecord): ContainerRecord[] {
  // the record's scope: paths only, so the state root's cgroup root (a hash, see resolveSettings) is never worked out for ps
  const podExits = rt.pod(rec).paths.exits;
  const changed: ContainerRecord[] = [];
  for (const c of rec.containers) {
    if (c.state !== 'running' && c.state !== 'created') continue;
    // this launch's own exit file: a previous instance's conmon writes its own dir, even when it writes after this one started
    const exits = exitDirOf(podExits, c.launchId);
    const code = readExitFile(exits, c.id);
    if (code !== undefined) {
      c.state = 'exited';
      c.exitCode = code;
      c.reason = reasonOf(rt, rec, c, code);
      try {
        c.finishedAt = fs.statSync(`${exits}/${c.id}`).mtime.toISOString();
      } catch {
        c.finishedAt = new Date().toISOString();
      }
      changed.push(c);
    } else if (!isAlive(c.process) && !isAlive(c.conmon)) {
      markLost(c, exits);
      changed.push(c);
    }
  }
  return changed;
}

/**
 * A container that is gone with no exit code recorded: conmon could not write
 * its exit file (a full disk) or died itself. Kept as 'unknown' with the
 * reason; its restart policy treats it as a failure, so the exit handler or,
 * once there is space again, `gc` restarts it.
 */
export function markLost(c: ContainerRecord, exits: string): void {
  c.state = 'unknown';
  delete c.exitCode;
  delete c.reason;
  c.finishedAt ??= new Date().toISOString();
  c.message = lostExitMessage(exits, c.id);
}

/** Why a container has no exit code: conmon could not write its exit file (a full disk), or died before it could. */
export function lostExitMessage(exits: string, id: string): string {
  const file = `${exits}/${id}`;
  return fileSystemFull(exits)
    ? `its exit code was not recorded: conmon could not write ${file} (disk full)`
    : `its exit code was not recorded: its monitor (conmon) ended without writing ${file} (killed, or the disk was full)`;
}

/** Why a container ended: OOMKilled when conmon saw its cgroup's OOM kill (its `oom` file), else by the exit code. */
export const reasonOf = (rt: Runtime, rec: PodRecord, c: ContainerRecord, code: number | undefined, stoppedByUser = false) =>
  exitReason(code, fs.existsSync(containerPaths(rt.settings.stateRoot, rec.def.name, c.def.name).oom), stoppedByUser);

/** Writes the `died` (and `oom`) events of containers reconcile found exited; only under the pod's lock, so once each. */
function recordExits(rt: Runtime, rec: PodRecord, changed: ContainerRecord[]): void {
  for (const c of changed) {
    const base = { pod: rec.def.name, container: c.def.name, ...(c.finishedAt ? { time: c.finishedAt } : {}) };
    if (c.reason === 'OOMKilled') appendEvent(rt.settings.stateRoot, { ...base, type: 'oom', message: 'killed by its cgroup memory limit' });
    appendEvent(rt.settings.stateRoot, { ...base, type: 'died', exitCode: c.exitCode ?? null, ...(c.reason ? { reason: c.reason } : {}) });
  }
}

/**
 * Removes the exit files no launch of the record will read: the dirs of
 * launches done with (a previous instance's, whose conmon may have written it
 * after the restart; one a killed command made and never recorded), and an
 * older build's `exits/<id>` of a member now launched with a dir of its own.
 * Under the pod's lock only, once the record names every launch that runs.
 */
export function sweepExitDirs(rt: Runtime, rec: PodRecord): void {
  const exits = rt.pod(rec.def.name).paths.exits;
  let names: string[];
  try {
    names = fs.readdirSync(exits);
  } catch {
    return;
  }
  const current = [rec.sandbox, ...rec.containers];
  const keep = new Set<string>();
  for (const m of current) {
    if (m.launchId !== undefined) keep.add(m.launchId);
    // an older build's launch (no dir of its own) has its exit file here
    if (exitDirOf(exits, m.launchId) === exits) keep.add(m.id);
  }
  for (const name of names) if (!keep.has(name)) fs.rmSync(path.join(exits, name), { recursive: true, force: true });
}

/**
 * Removes what a command killed half-way left in a pod (a runc container or
 * a bundle the record never got): safe only under the pod's lock, where no
 * other command can be in the middle of creating them.
 */
async function removeStrays(rt: Runtime, rec: PodRecord): Promise<void> {
  const pod = rec.def.name;
  const scope = rt.pod(rec);
  const names = new Set([SANDBOX_NAME, ...rec.containers.map((c) => c.def.name)]);
  const prefix = `${pod}.`;
  // a killed command's conmon may still run its runc create: let it end, so runc knows what it made (removed below)
  for (const id of rt.runc.leftovers(prefix)) await rt.runc.settle(id);
  for (const id of rt.runc.ids(prefix)) {
    const name = id.slice(prefix.length);
    if (!names.has(name)) await terminateMember(rt, pod, name, { process: undefined, graceSeconds: 0, all: true });
  }
  for (const id of rt.runc.leftovers(prefix)) if (!names.has(id.slice(prefix.length))) await rt.runc.clearLeftovers(id);
  const dir = scope.paths.containers;
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (names.has(name)) continue;
    await unmountAll(path.join(dir, name));
    await rt.cgroups.removeTree(scope.containerCgroup(name));
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
  const staging = scope.paths.subpaths;
  for (const name of fs.existsSync(staging) ? fs.readdirSync(staging) : []) {
    if (!names.has(name)) await removeSubPathStaging(path.join(staging, name));
  }
}
