/**
 * Supervision without a daemon: conmon runs `barepod _exited POD MEMBER
 * LAUNCH` when a member exits; that handler applies the restart policy with
 * the crash-loop backoff, or, when the pause died, stops the pod and
 * recreates it (or marks it Failed). `gc` repeats every decision for what a
 * lost handler, a crash or a reboot left undone.
 */
import fs from 'node:fs';
import { describeError, hasCode, isNoSpace } from '../errors.js';
import { isActive, restartPolicyOf, type ContainerRecord, type PodRecord } from '../model.js';
import { isValidName, validateMemberName } from '../names.js';
import { locksDir } from '../plan/paths.js';
import { exitDirOf, readExitFile } from '../runtime/conmon.js';
import { SANDBOX_NAME } from '../plan/pod-plan.js';
import { backoffDelay, crashLoopAfter, shouldRestart } from '../plan/restart.js';
import { memberKind } from '../plan/members.js';
import { appendEvent } from '../runtime/events.js';
import { inspectLock } from '../runtime/state.js';
import { trace } from '../runtime/exec.js';
import { startupNote } from '../runtime/startup.js';
import { isAlive, liveOrAsk } from '../runtime/procfs.js';
import { cancelRestart, scheduleRestart } from './backoff.js';
import { jobAfterExit, jobPodFailed, lostJobDeadline } from './job.js';
import { launchInto, markWaiting, stopLocked } from './containers.js';
import { markLost, withPod, withRecord } from './record.js';
import { hasProbes, startProber, stopProber } from './prober.js';
import { terminateMember, tryPlaceMonitor } from './member.js';
import { transaction } from './rollback.js';
import type { Runtime } from './runtime.js';
import { launchSandbox, removePodLocked } from './sandbox.js';
import { unsupervised, unsupervisedMessage } from './views.js';
import { detachFailed, detachNetwork, sweepNetworks } from './network.js';

/** A retry after a failed restart never comes sooner than this, even with a zero backoff. */
const MIN_RETRY_MS = 1000;

/** `_exited`: conmon's exit command for one launch of a member. */
export async function handleExit(rt: Runtime, pod: string, member: string, launchId: string): Promise<void> {
  const started = performance.now();
  trace(`exit handler ${pod}/${member}: node up ${process.uptime().toFixed(3)}s${startupNote()}`, started);
  await withPod(rt, pod, async (rec) => {
    trace(`exit handler ${pod}/${member}: locked`, started);
    if (!isActive(rec)) return;
    if (member === SANDBOX_NAME) {
      if (rec.sandbox.launchId === launchId && !isAlive(rec.sandbox)) await sandboxDied(rt, rec);
      return;
    }
    const c = rec.containers.find((x) => x.def.name === member);
    if (!c || c.launchId !== launchId) return; // an older instance, or one never recorded
    const exits = exitDirOf(rt.pod(pod).paths.exits, launchId);
    // conmon runs this only once the container has exited: without an exit file, it could not write one (a full disk)
    if (c.state === 'running' && !isAlive(c.process) && readExitFile(exits, c.id) === undefined) markLost(c, exits);
    if (!isAlive(rec.sandbox)) return sandboxDied(rt, rec); // the pod is dead: its own handler may not have run yet
    await afterExit(rt, rec, c);
  });
  trace(`exit handler ${pod}/${member}: done, ${cpuMs()} ms of CPU since node started`, started);
}

/** The process's CPU time (user + system) so far, in ms, for the trace: steadier than wall time on a loaded machine. */
function cpuMs(): string {
  const { user, system } = process.cpuUsage();
  return ((user + system) / 1000).toFixed(1);
}

/** `_restart`: a crash-loop delay has passed. */
export async function handleDelayedRestart(rt: Runtime, pod: string, name: string, token: string): Promise<void> {
  await withPod(rt, pod, async (rec) => {
    const c = rec.containers.find((x) => x.def.name === name);
    if (!c || c.backoff?.token !== token) return; // cancelled or superseded
    const delayMs = c.backoff.delayMs;
    delete c.backoff;
    if (!isActive(rec) || c.desired === 'stopped') return;
    if (!isAlive(rec.sandbox)) return sandboxDied(rt, rec);
    await restartNow(rt, rec, c, delayMs);
  });
}

/**
 * What a restart does when the disk is full. The exit handler `leave`s it: `gc` retries once there is space (a full
 * disk could not keep a timer's token either). `gc` itself `throw`s: its sweep then says the pod could not be finished
 * and why, and exits 1, instead of reporting nothing to do.
 */
type NoSpace = 'leave' | 'throw';

/** The restart policy applied to a container that has exited: restart now, after a delay, or not at all. */
async function afterExit(rt: Runtime, rec: PodRecord, c: ContainerRecord, noSpace: NoSpace = 'leave'): Promise<void> {
  if (c.state === 'running' || c.state === 'created' || c.backoff || c.desired === 'stopped') return;
  if (memberKind(c.def).runsToCompletion) return; // init containers run to completion under `up`, which retries them itself
  if (rec.def.job) {
    // a Job's pod: failures are counted against backoffLimit, whatever the policy (Never runs a fresh instance, as a new pod would)
    if (!(await jobAfterExit(rt, rec, c))) return;
  } else if (!shouldRestart(restartPolicyOf(rec.def, c.def), c.exitCode)) return;
  const ranMs = c.startedAt && c.finishedAt ? Date.parse(c.finishedAt) - Date.parse(c.startedAt) : 0;
  c.crashLoop = crashLoopAfter(rec.def.backoff, c.crashLoop ?? 0, ranMs);
  const delayMs = backoffDelay(rec.def.backoff, c.crashLoop);
  if (delayMs === 0) return restartNow(rt, rec, c, 0, noSpace);
  scheduleRestart(rt.settings.stateRoot, rec.def.name, c, delayMs, (pid) => tryPlaceMonitor(rt, rec, pid));
  appendEvent(rt.settings.stateRoot, { type: 'backoff', pod: rec.def.name, container: c.def.name, delayMs, restarts: c.restarts, reason: 'CrashLoopBackOff' });
}

/** Starts a new instance of an exited container in the same sandbox; a failure is retried after a delay. */
async function restartNow(rt: Runtime, rec: PodRecord, c: ContainerRecord, delayMs: number, noSpace: NoSpace = 'leave'): Promise<void> {
  const pod = rec.def.name;
  try {
    const started = performance.now();
    await launchInto(rt, rec, c, true);
    trace(`restart ${pod}/${c.def.name}`, started);
    c.restarts += 1;
    c.crashLoop = (c.crashLoop ?? 0) + 1;
    appendEvent(rt.settings.stateRoot, { type: 'restarted', pod, container: c.def.name, restarts: c.restarts, delayMs });
  } catch (e) {
    // its ConfigMap or Secret is missing: waiting (CreateContainerConfigError), tried again after the back-off as the kubelet does
    if (hasCode(e, 'container-config')) markWaiting(c, e);
    c.crashLoop = (c.crashLoop ?? 0) + 1;
    const retryMs = Math.max(backoffDelay(rec.def.backoff, c.crashLoop), MIN_RETRY_MS);
    appendEvent(rt.settings.stateRoot, {
      type: 'restart-failed',
      pod,
      container: c.def.name,
      message: describeError(e).message,
      ...(isNoSpace(e) ? {} : { delayMs: retryMs }),
    });
    // a full disk could not keep the timer's token either: `gc` retries once there is space again (and says so when it fails itself)
    if (isNoSpace(e)) {
      if (noSpace === 'throw') throw e;
      return;
    }
    if (!hasCode(e, 'sandbox-gone')) scheduleRestart(rt.settings.stateRoot, pod, c, retryMs, (pid) => tryPlaceMonitor(rt, rec, pid));
  }
}

/**
 * The pause died, so the pod is dead (as in Kubernetes): every container is
 * stopped, nothing runs on in orphaned namespaces. Under restart policy
 * Always or OnFailure the sandbox is recreated and the containers the policy
 * restarts start in it; under Never the pod is marked Failed.
 */
export async function sandboxDied(rt: Runtime, rec: PodRecord): Promise<void> {
  const pod = rec.def.name;
  const root = rt.settings.stateRoot;
  appendEvent(root, { type: 'sandbox-died', pod, container: SANDBOX_NAME, message: `pause pid ${rec.sandbox.pid} is gone` });
  await Promise.all(
    rec.containers.map(async (c) => {
      const wasRunning = c.state === 'running' || c.state === 'created';
      await stopLocked(rt, rec, c, rec.def.graceSeconds);
      if (wasRunning) appendEvent(root, { type: 'stopped', pod, container: c.def.name, exitCode: c.exitCode ?? null, message: 'its sandbox died' });
    }),
  );
  await terminateMember(rt, pod, SANDBOX_NAME, {
    process: liveOrAsk(rec.sandbox),
    conmon: rec.sandbox.conmon,
    graceSeconds: 0,
    launchId: rec.sandbox.launchId,
  });
  stopProber(rec);
  // the old netns is still pinned: DEL it now (a new sandbox is a new netns, as in Kubernetes), or the pod cannot go on
  const oldIp = rec.sandbox.network?.ip;
  const oldMac = rec.sandbox.network?.mac;
  try {
    await detachNetwork(rt, pod);
    delete rec.sandbox.network;
  } catch (e) {
    rec.phase = 'Failed';
    rec.message = detachFailed(pod, e).message;
    appendEvent(root, { type: 'pod-failed', pod, message: rec.message });
    return;
  }
  if (rec.def.job && rec.job?.state !== 'Complete') {
    // a Job's pod failed: Kubernetes counts it and makes a new pod, under Never too; here a new sandbox, unless that was one failure too many
    if (await jobPodFailed(rt, rec, `its sandbox (pause pid ${rec.sandbox.pid}) died`)) return;
  } else if (rec.def.restartPolicy === 'Never') {
    rec.phase = 'Failed';
    rec.message = `its sandbox (pause pid ${rec.sandbox.pid}) died and the pod's restart policy is Never`;
    appendEvent(root, { type: 'pod-failed', pod, message: rec.message });
    return;
  }
  // the new netns asks for the old address and MAC back, so the pod keeps its IP when it is free and the host's neighbour entry stays right
  rec.sandbox = await transaction((rb) => launchSandbox(rt, rb, rec.def, oldIp, oldMac, rec));
  rec.sandboxRestarts = (rec.sandboxRestarts ?? 0) + 1;
  appendEvent(root, {
    type: 'sandbox-recreated',
    pod,
    container: SANDBOX_NAME,
    restarts: rec.sandboxRestarts,
    message: `new pause pid ${rec.sandbox.pid}${rec.sandbox.network?.ip ? `, IP ${rec.sandbox.network.ip}${rec.sandbox.network.ip === oldIp ? ' (kept)' : oldIp ? ` (was ${oldIp})` : ''}` : ''}`,
  });
  for (const c of rec.containers) {
    if (memberKind(c.def).runsToCompletion || c.desired === 'stopped') continue;
    // a Job's containers that have not completed run again (its new pod, in Kubernetes), whatever the policy
    const again = rec.def.job
      ? rec.job?.state !== 'Complete' && (c.def.kind === 'sidecar' || c.exitCode !== 0)
      : shouldRestart(restartPolicyOf(rec.def, c.def), c.exitCode);
    if (again) await restartNow(rt, rec, c, 0);
  }
  startProber(rt, rec); // the old one probed the old network namespace
}

export interface GcAction {
  pod: string;
  action: string;
  /** set when this part of the sweep failed (e.g. a full disk): the rest of the sweep still ran */
  error?: { code: string; message: string; exitCode: number };
}

/** How long `gc` waits for a pod's lock before it skips the pod as busy: long enough for an exit handler's round. */
const GC_LOCK_WAIT_MS = 2000;

/**
 * `gc`: reconciles every pod of the state root with reality and finishes
 * what crashes or a reboot left: removals cut short, incomplete pods, pods
 * whose `up` was killed while Creating, dead sandboxes, restarts whose
 * handler or timer was lost, runc containers of pods that no longer exist,
 * stale locks. Idempotent, and safe beside any other command: it works on a
 * pod only under the pod's lock and skips a pod another command holds (or
 * that is still being created), touches nothing of a pod that appeared after
 * it started, and passes over a pod removed meanwhile.
 */
export async function gc(rt: Runtime): Promise<GcAction[]> {
  const actions: GcAction[] = [];
  const root = rt.settings.stateRoot;
  const pods = rt.store.list();
  for (const pod of pods) {
    const held = await rt.pod(pod).tryLock(() => gcPod(rt, pod, actions), GC_LOCK_WAIT_MS);
    if (!held.ran) actions.push({ pod, action: `skipped: busy (another barepod command, pid ${held.owner?.pid ?? '?'}, holds its lock)` });
  }
  // runc containers of pods this state root no longer has (and did not have when gc started: a pod made since is its maker's)
  const known = new Set(pods);
  // (and state dirs runc no longer knows, which would make it refuse the id: left by a runc killed inside its copy guard)
  for (const id of rt.runc.allIds()) {
    const dot = id.indexOf('.');
    const pod = id.slice(0, dot);
    if (dot <= 0 || known.has(pod)) continue;
    if (!isValidName(pod) || !isValidMember(id.slice(dot + 1))) continue; // not one barepod made: never a path
    const scope = rt.pod(pod);
    if (fs.existsSync(scope.paths.dir)) continue;
    const remove = async (): Promise<string | undefined> => {
      // under the lock, again: no pod made it meanwhile
      if (fs.existsSync(scope.paths.dir)) return undefined;
      await rt.runc.settle(id); // a runc create still at work (a killed command's conmon runs it on): let it end
      let what: string | undefined;
      if (rt.runc.knows(id)) {
        await terminateMember(rt, pod, id.slice(dot + 1), { process: undefined, graceSeconds: 0, all: true });
        what = `removed runc container ${id}`;
      } else if (await rt.runc.clearLeftovers(id)) what = `removed what a killed runc left of ${id} (its state dir)`;
      if (what) await rt.cgroups.removeTree(scope.cgroup, `/${rt.settings.cgroupRoot}`);
      return what;
    };
    const held = await scope.tryLock(remove);
    if (held.ran && held.value) actions.push({ pod, action: held.value });
  }
  // network leftovers of this root's pods that no longer exist (a reboot empties the state root, not /var/lib/cni)
  const claim = async (pod: string, fn: () => Promise<void>) => {
    if (!isValidName(pod)) return (await fn(), true); // no pod can have that name, so none holds it: nothing to lock, no path to build from it
    const scope = rt.pod(pod);
    const held = await scope.tryLock(async () => {
      if (fs.existsSync(scope.paths.dir)) return false; // made meanwhile: the address is its
      await fn();
      return true;
    });
    return held.ran && held.value;
  };
  for (const what of await sweepNetworks(rt, () => rt.store.list(), claim)) {
    const pod = /barepod-[0-9a-f]{8}-([a-z0-9-]+)/.exec(what)?.[1] ?? '-';
    actions.push({ pod, action: what });
  }
  // locks of commands that were killed
  const locks = locksDir(root);
  for (const name of fs.existsSync(locks) ? fs.readdirSync(locks).filter(isValidName) : []) {
    const file = rt.pod(name).paths.lock;
    if (inspectLock(file).stale) {
      fs.rmSync(file, { force: true });
      actions.push({ pod: name, action: 'removed a stale lock' });
    }
  }
  return actions;
}

/** A member name barepod could have made (a container's or the sandbox's). */
function isValidMember(name: string): boolean {
  try {
    validateMemberName(name);
    return true;
  } catch {
    return false;
  }
}

/** gc's pass over one pod, under its lock. */
async function gcPod(rt: Runtime, pod: string, actions: GcAction[]): Promise<void> {
  if (!fs.existsSync(rt.pod(pod).paths.dir)) return; // removed since gc listed it (a concurrent down)
  let rec: PodRecord | undefined;
  try {
    rec = rt.store.tryRead(pod);
  } catch {
    rec = undefined; // unreadable: remove what is there
  }
  // no record under a free lock: the command that made the directory died before it wrote one
  if (!rec || rec.phase === 'Removing') {
    await removePodLocked(rt, pod, 0);
    actions.push({ pod, action: rec ? 'finished an interrupted removal' : 'removed an incomplete pod' });
    return;
  }
  if (rec.phase === 'Creating') {
    if (isAlive(rec.creator)) {
      actions.push({ pod, action: `skipped: being created (by pid ${rec.creator?.pid})` });
      return;
    }
    await removePodLocked(rt, pod, 0);
    actions.push({ pod, action: `removed a pod its up left incomplete (pid ${rec.creator?.pid ?? '?'} is gone; \`up\` makes it again)` });
    return;
  }
  await withRecord(rt, pod, async (r) => {
    if (r.phase === 'Running' && !isAlive(r.sandbox)) {
      await sandboxDied(rt, r);
      actions.push({ pod, action: r.phase === 'Running' ? 'recreated the dead sandbox' : 'marked Failed: the sandbox died' });
      return;
    }
    if (r.phase !== 'Running') return;
    // a member whose conmon was killed runs on unsupervised: say so (nothing can re-attach a monitor to a running container)
    if (unsupervised(r.sandbox.conmon)) actions.push({ pod, action: `the sandbox runs ${unsupervisedMessage(r.sandbox.conmon!)}` });
    for (const c of r.containers) {
      if ((c.state === 'running' || c.state === 'created') && isAlive(c.process) && unsupervised(c.conmon))
        actions.push({ pod, action: `${c.def.name} runs ${unsupervisedMessage(c.conmon!)}` });
    }
    const deadline = await lostJobDeadline(rt, r);
    if (deadline)
      actions.push({
        pod,
        action: deadline === 'failed' ? 'failed the Job: its activeDeadlineSeconds passed (its timer was lost)' : "set the Job's deadline timer again",
      });
    if (r.phase !== 'Running') return;
    if (hasProbes(r) && !isAlive(r.prober)) {
      try {
        startProber(rt, r);
        actions.push({ pod, action: 'started the prober again' });
      } catch (e) {
        // (a missing barepod-prober): said, and the rest of the pod's sweep goes on
        actions.push({ pod, action: `could not start the prober: ${describeError(e).message}` });
      }
    }
    for (const c of r.containers) {
      if (c.backoff) {
        if (isAlive(c.backoff.sleeper) || Date.now() < Date.parse(c.backoff.until)) continue;
        const delayMs = c.backoff.delayMs;
        cancelRestart(c);
        await restartNow(rt, r, c, delayMs, 'throw');
        actions.push({ pod, action: `restarted ${c.def.name} (its delayed restart was lost)` });
      } else if (c.state === 'exited' || c.state === 'unknown') {
        if (isAlive(c.conmon)) continue; // its exit handler is still to run
        const before = c.restarts;
        await afterExit(rt, r, c, 'throw');
        if (c.restarts !== before) actions.push({ pod, action: `restarted ${c.def.name} (its exit handler was lost)` });
        else if (c.backoff) actions.push({ pod, action: `scheduled a restart of ${c.def.name}` });
      }
    }
  }).catch((e: unknown) => {
    if (!isNoSpace(e)) throw e;
    // a pod whose restart finds the disk full must not stop the sweep (which may be what frees it)
    const d = describeError(e);
    actions.push({ pod, action: `could not finish: ${d.message}`, error: { code: d.code, message: d.message, exitCode: d.exitCode } });
  });
}
