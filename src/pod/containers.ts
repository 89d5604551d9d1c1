import fs from 'node:fs';
import { BarepodError, hasCode } from '../errors.js';
import { trace } from '../runtime/exec.js';
import type { ContainerDefinition, ContainerRecord, PodRecord, VolumeDefinition } from '../model.js';
import { inPodPidNamespace, joinedNamespaces, NAMESPACES, planContainerSpec, runcId, sandboxNamespacePath } from '../plan/pod-plan.js';
import { exitReason } from '../plan/restart.js';
import { appendEvent } from '../runtime/events.js';
import { cancelRestart } from './backoff.js';
import { hostPathFacts, prepareVolumes, removeSubPathStaging, stageSubPaths, volumeSources } from './volumes.js';
import { attachMounts, nestedMountConflicts, type MountRequest } from '../plan/mounts.js';
import { containerPaths, subPathStaging } from '../plan/paths.js';
import { resolveImage, withRootfsUser } from '../runtime/images.js';
import { isMounted, makeSysfsWritable, mountOverlay, unmountAll } from '../runtime/mounts.js';
import { fileSystemFull } from '../runtime/state.js';
import { verifyRootfs } from '../runtime/rootfs-check.js';
import { noteFresh, stillFresh, type OverlayMount } from '../runtime/fresh-overlay.js';
import { containerDevices } from '../runtime/devices.js';
import { isAlive, liveOrAsk } from '../runtime/procfs.js';
import { exitDirOf, removeLaunchExitDir } from '../runtime/conmon.js';
import { DEFAULT_PATH, findProgram } from '../runtime/in-root.js';
import { DEFAULT_CONTAINER_ANNOTATION, defaultContainer } from '../plan/members.js';
import type { ExecOptions } from '../runtime/runc.js';
import { createMember, newLaunchId, startMember, terminateMember, type Launched } from './member.js';
import { transaction, type Rollback } from './rollback.js';
import type { Runtime } from './runtime.js';
import { verifyJoined, verifySandbox } from './sandbox-checks.js';
import { findContainer, lostExitMessage, reasonOf, reconcile, withPod } from './record.js';
import { explain, explaining, explainStep } from '../runtime/explain.js';
import { containerTitle } from '../plan/narration.js';
import { projectVolumes } from './config-volumes.js';
import { describeRefs, envFacts, resolveEnv } from './env.js';
import { readConfig } from './config-store.js';

/**
 * Mounts the container's root filesystem (an overlay on the image) and returns
 * its path. `fresh` empties the writable layer first: a restart by policy is a
 * new container, as in Kubernetes; `barepod start` keeps it, as podman does.
 * A fresh restart keeps the last instance's overlay mounted when it is still
 * a fresh one on the same layers (see fresh-overlay.ts) and nothing of that
 * instance is left in its cgroup to write there. Says whether the upper dir
 * began empty (so launchInSandbox may note it as fresh once runc made it).
 */
async function prepareRootfs(
  rt: Runtime,
  rb: Rollback,
  rec: PodRecord,
  def: ContainerDefinition,
  fresh: boolean,
  /** whether a still-fresh overlay may be kept (not on a full file system) */
  mayKeep: boolean,
): Promise<{ rootfs: string; pristine: boolean; kept?: OverlayMount }> {
  if (def.rootfs) {
    if (!fs.statSync(def.rootfs, { throwIfNoEntry: false })?.isDirectory()) {
      throw new BarepodError('invalid-value', `--rootfs ${def.rootfs}: not a directory`);
    }
    if (explaining) explain(`rootfs ${def.rootfs}, used as-is`);
    return { rootfs: def.rootfs, pristine: false };
  }
  const pod = rec.def.name;
  const paths = containerPaths(rt.settings.stateRoot, pod, def.name);
  const image = resolveImage(rt.settings, def.image ?? 'busybox', def.imageId);
  const note = freshNote(paths.bundle);
  const overlay = { lower: image.layers, upper: paths.upper, work: paths.work };
  if (fresh && mayKeep && stillFresh(note, paths.rootfs, overlay) && rt.cgroups.procs(rt.pod(rec).containerCgroup(def.name)).length === 0) {
    if (explaining)
      explain(
        "rootfs: the last instance's overlay is still mounted on the same layers and nothing has written to its upper dir since runc made its mount points there: kept as the fresh view it is (no umount, no mount)",
      );
    rb.push(`unmount ${paths.rootfs}`, () => unmountAll(paths.rootfs));
    return { rootfs: paths.rootfs, pristine: true, kept: overlay };
  }
  // (a note left from an earlier launch stays: it matches only an upper dir whose every entry is still as noted, which an
  // emptied one, a new inode, is not; and on a full disk its page stays where it was)
  await unmountAll(paths.rootfs); // the previous instance's, when it crashed
  const pristine = fresh || !fs.existsSync(paths.upper);
  if (fresh) for (const d of [paths.upper, paths.work]) fs.rmSync(d, { recursive: true, force: true });
  if (explaining)
    explain(
      `rootfs: an overlay of the image's ${image.layers.length} read-only layer${image.layers.length === 1 ? '' : 's'} with this container's own upper dir on top (nothing is copied)`,
    );
  await mountOverlay(image.layers, paths.upper, paths.work, paths.rootfs);
  rb.push(`unmount ${paths.rootfs}`, () => unmountAll(paths.rootfs));
  return { rootfs: paths.rootfs, pristine };
}

/** Where a container's fresh-overlay note lives: its bundle dir, removed with it. */
const freshNote = (bundle: string): string => `${bundle}/rootfs-fresh.json`;

/** CreateContainer + StartContainer in the pod's sandbox, guarded against a dead or replaced sandbox. */
function launchContainer(
  rt: Runtime,
  rb: Rollback,
  rec: PodRecord,
  def: ContainerDefinition,
  launchId: string,
  fresh = false,
  beforeStart?: BeforeStart,
  replaces?: string,
  removing?: Promise<void>,
): Promise<Launched> {
  return explainStep(
    () => containerTitle(def, joinedNamespaces(rec.def, def), rt.pod(rec).containerCgroup(def.name)),
    () => {
      // the kernel's cgroup moves made fast before runc create needs them (CgroupFs.warmMoves), until the create is done
      const warmed = rt.cgroups.warmMoves();
      return launchInSandbox(rt, rb, rec, def, launchId, fresh, beforeStart, replaces, removing, warmed).finally(warmed);
    },
  );
}

/**
 * The definition with its env references resolved from the store and the
 * pod (a ContainerConfigError when one is missing); skipped envFrom keys are
 * a warning event. Only names and sources are explained, never values.
 */
function withResolvedEnv(rt: Runtime, rec: PodRecord, def: ContainerDefinition): ContainerDefinition {
  if (!def.envRefs) return def;
  if (explaining) explain(`env references, resolved now (at every start): ${describeRefs(def.envRefs).join(', ')}`);
  const { env, args, skipped } = resolveEnv(
    def,
    envFacts(rec, (kind, name) => readConfig(rt.settings, kind, name)),
  );
  for (const s of skipped)
    appendEvent(rt.settings.stateRoot, {
      type: 'warning',
      pod: rec.def.name,
      container: def.name,
      reason: 'InvalidEnvironmentVariableNames',
      message: `keys [${s.keys.join(', ')}] from the envFrom ${s.source} were skipped since they are not valid environment variable names`,
    });
  return { ...def, env, args };
}

/** Runs between `runc create` and `runc start` (`run -it` attaches there, so no output of the container is missed). */
export type BeforeStart = (launched: Launched) => Promise<void>;

/** launchContainer's work: the rootfs, the spec, the checks around runc create, the start. */
async function launchInSandbox(
  rt: Runtime,
  rb: Rollback,
  rec: PodRecord,
  def: ContainerDefinition,
  launchId: string,
  fresh: boolean,
  beforeStart?: BeforeStart,
  /** the record's launch this one replaces (where its exit file is) */
  replaces?: string,
  /** the previous instance's removal, under way (see launchInto) */
  removing?: Promise<void>,
  /** ends the warming of cgroup moves once runc create is done */
  warmed?: () => void,
): Promise<Launched> {
  const t0 = performance.now();
  const step = (what: string) => trace(`container ${rec.def.name}/${def.name}: ${what}`, t0);
  verifySandbox(rec);
  const written = def;
  // read now, at every start (a restarted container sees a changed ConfigMap, as in Kubernetes): before anything is made, so a missing one leaves nothing
  def = withResolvedEnv(rt, rec, def);
  // the files of its configMap/secret/downwardAPI/projected volumes, up to date; a missing object is its ContainerConfigError, before anything is made
  projectVolumes(rt, rec, def);
  // on a full file system a launch takes the whole path (new config.json, new overlay), which reports the full disk
  // where it stops: the shortcuts below would let a restart go on that can write neither its log nor its exit code
  const roomy = !fileSystemFull(rt.settings.stateRoot);
  const { rootfs, pristine, kept } = await prepareRootfs(rt, rb, rec, def, fresh, roomy);
  step('rootfs mounted');
  const { shm, etc } = rt.pod(rec.def.name).paths;
  // pods made before per-pod /etc files keep the rootfs's own
  const podEtc = fs.existsSync(etc) ? etc : undefined;
  // resolved now, at every start: a container may have turned a subPath into a symlink since the last one
  const staged = await stageSubPaths(rt.settings.stateRoot, rb, rec.def, def);
  // read at every start too: a device's numbers may change after a reboot; a link or a non-device is refused
  const devices = containerDevices(rec.def, def);
  if (explaining && devices.length)
    explain(
      def.security?.privileged
        ? `devices: privileged, so every host device under /dev (${devices.length} nodes) is made in the container's /dev and the devices cgroup allows all`
        : `devices: ${devices.map((d) => `${d.device.path} (${d.device.type} ${d.device.major}:${d.device.minor}, ${d.access})`).join(', ')}: made by runc in the container's /dev, allowed in the devices cgroup`,
    );
  const spec = planContainerSpec(
    rec.def,
    withRootfsUser(def, rootfs),
    rec.sandbox.pid,
    rt.planContext(def.seccomp === 'default', rec),
    rootfs,
    shm,
    volumeSources(rt.settings.stateRoot, rec.def),
    podEtc,
    staged,
    devices,
  );
  step('spec planned');
  // an image (or rootfs dir) must not lead runc's writes out of the rootfs: /dev, /proc, /sys as symlinks, links climbing out
  verifyRootfs(rootfs, spec, {
    pod: rec.def.name,
    container: def.name,
    source: def.rootfs ? `rootfs directory ${def.rootfs}` : `image ${def.image ?? 'busybox'}`,
  });
  verifySandbox(rec, true); // again, right before runc joins /proc/<pid>/ns/*
  step('rootfs and sandbox checked');
  // privileged: /sys writable, as containerd's WithWriteableSysfs; in the pod's netns its sysfs superblock is the pause's read-only one
  if (def.security?.privileged && joinedNamespaces(rec.def, def).includes('net')) {
    if (explaining)
      explain(
        "privileged: the pod network namespace's sysfs is remounted read-write (a private mount namespace of the host's); the other containers' /sys mounts stay read-only",
      );
    await makeSysfsWritable(sandboxNamespacePath(rec.sandbox.pid, 'net'));
  }
  const launched = await createMember(rt, rb, rec.def.name, def.name, spec, {
    launchId,
    logSizeMax: rec.def.logSizeMax,
    stdio: { terminal: def.tty === true, stdin: def.stdin === true, stdinOnce: def.stdinOnce === true },
    // its $(VAR) references, not the values (a Secret's) they were expanded to
    ...(written.envRefs?.command || written.envRefs?.args ? { shownArgs: written.args } : {}),
    keepSameConfig: roomy,
    ...(replaces !== undefined ? { replaces } : {}),
    ...(removing ? { removing } : {}),
  });
  warmed?.();
  verifyJoined(
    rec,
    launched.process.pid,
    joinedNamespaces(rec.def, def).map((ns) => NAMESPACES[ns].proc),
  );
  // before runc start, so before any of the container's code ran: what the upper dir holds now is runc's alone
  // (a kept overlay is the one stillFresh just found mounted there: mountinfo is not read again)
  if (pristine) noteFresh(freshNote(containerPaths(rt.settings.stateRoot, rec.def.name, def.name).bundle), rootfs, kept);
  step('created, namespaces checked');
  if (beforeStart) await beforeStart(launched);
  await startMember(rt, launched); // a container may exit at once: that is its business, recorded by conmon
  step('started, its program running');
  return launched;
}

/**
 * `barepod run`: a new container in an existing pod, created and started.
 * `mounts` (its -v, --mount, --tmpfs) become pod volumes and volumeMounts
 * as a manifest would have written them, on top of the pod's own
 * (`pod create -v NAME:CTRDIR`), checked as a manifest's are; the volumes
 * are the pod's only once the container runs.
 */
export async function runContainer(
  rt: Runtime,
  pod: string,
  def: ContainerDefinition,
  mounts: readonly MountRequest[] = [],
  beforeStart?: BeforeStart,
): Promise<ContainerRecord> {
  const [c] = await runContainers(
    rt,
    pod,
    [def],
    undefined,
    (rec) => {
      const { volumes, mounts: attached } = attachMounts(rec.def, def.name, mounts, hostPathFacts);
      const withMounts: ContainerDefinition = {
        ...def,
        ...(attached.length ? { mounts: attached } : {}),
        ...(volumes.length ? { ownVolumes: volumes.map((v) => v.name) } : {}),
      };
      // both ways: this container's mounts below a volume a running one writes, and its writes to a volume another mounts something below
      const conflict = nestedMountConflicts([...rec.containers.map((c) => c.def), withMounts])[0];
      if (conflict)
        throw new BarepodError('invalid-value', `pod "${pod}", container "${def.name}": ${conflict.message}`, {
          hint: 'the mount was refused; nothing was started',
        });
      return { defs: [withMounts], volumes };
    },
    beforeStart,
  );
  return c!;
}

/**
 * Creates and starts several containers of a pod under one lock, launched in
 * parallel (`up`'s app containers): all of them, or none. Every launch is
 * settled before a failure rolls back, so no launch outlives the rollback.
 * `recorded` changes the record in the same lock round (`up`: the pod is
 * Running once its last containers are recorded).
 */
export async function runContainers(
  rt: Runtime,
  pod: string,
  defs: ContainerDefinition[],
  recorded?: (rec: PodRecord) => void,
  /** under the lock, before anything starts: the definitions to run instead, and new pod volumes they mount (`run`'s mount flags) */
  attach?: (rec: PodRecord) => { defs: ContainerDefinition[]; volumes: VolumeDefinition[] },
  /** between runc create and runc start of each (`run -it` attaches there) */
  beforeStart?: BeforeStart,
  /**
   * `up`'s app containers: one whose ConfigMap or Secret is missing is
   * recorded `waiting` (CreateContainerConfigError, nothing made for it) and
   * the others start, as the kubelet does; otherwise such an error fails all
   */
  waitOnConfigError = false,
): Promise<ContainerRecord[]> {
  return withPod(rt, pod, async (rec) => {
    for (const def of defs) {
      if (rec.containers.some((c) => c.def.name === def.name)) {
        throw new BarepodError('already-exists', `container "${def.name}" already exists in pod "${pod}"`, {
          hint: `pick another --name, or remove it: barepod rm -f ${pod} ${def.name}`,
        });
      }
    }
    if (rec.phase === 'Failed') throw podFailed(rec);
    const attached = attach?.(rec);
    if (attached) defs = attached.defs;
    const launchIds = defs.map(() => newLaunchId());
    const launched = await transaction(async (rb) => {
      if (attached?.volumes.length) await addVolumes(rt, rb, rec, attached.volumes);
      for (const def of defs) {
        const bundle = containerPaths(rt.settings.stateRoot, pod, def.name).bundle;
        rb.push(`remove ${bundle}`, () => fs.rmSync(bundle, { recursive: true, force: true }));
      }
      const results = await Promise.allSettled(defs.map((def, i) => launchContainer(rt, rb, rec, def, launchIds[i]!, false, beforeStart)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(waitOnConfigError && hasCode(r.reason, 'container-config')));
      if (failed) throw failed.reason;
      return results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as BarepodError)));
    });
    const now = new Date().toISOString();
    const made = defs.map((def, i) => {
      const l = launched[i]!;
      if (l instanceof Error) {
        const c: ContainerRecord = {
          def,
          id: runcId(pod, def.name),
          state: 'waiting',
          createdAt: now,
          restarts: 0,
          desired: 'running',
          crashLoop: 0,
          waiting: waitingOf(def.name, l),
        };
        rec.containers.push(c);
        appendEvent(rt.settings.stateRoot, { type: 'warning', pod, container: def.name, ...c.waiting! });
        return c;
      }
      const c: ContainerRecord = {
        def,
        id: l.id,
        state: 'running',
        createdAt: now,
        startedAt: now,
        process: l.process,
        ...(l.conmon ? { conmon: l.conmon } : {}),
        restarts: 0,
        desired: 'running',
        launchId: launchIds[i]!,
        crashLoop: 0,
      };
      rec.containers.push(c);
      appendEvent(rt.settings.stateRoot, { type: 'started', pod, container: def.name, time: now });
      return c;
    });
    recorded?.(rec); // in the same lock round, saved with them
    return made;
  });
}

/**
 * Makes new pod volumes (by their kinds' handlers, as `pod create` and `up`
 * do) and adds them to the pod's definition; the rollback takes both back.
 */
async function addVolumes(rt: Runtime, rb: Rollback, rec: PodRecord, volumes: VolumeDefinition[]): Promise<void> {
  const before = rec.def.volumes;
  rb.push('forget the new volumes', () => {
    if (before) rec.def.volumes = before;
    else delete rec.def.volumes;
  });
  rec.def.volumes = [...(before ?? []), ...volumes];
  const sources = volumeSources(rt.settings.stateRoot, rec.def);
  for (const v of volumes) {
    const dir = sources[v.name]!;
    // an emptyDir's directory is the pod's: removed again when the container does not start (after its tmpfs is unmounted)
    if (v.kind === 'emptyDir') rb.push(`remove ${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  await prepareVolumes(rt.settings.stateRoot, rb, { name: rec.def.name, volumes });
}

/** `barepod start`: runs a stopped container again, planned afresh against the current sandbox. */
export async function startContainer(rt: Runtime, pod: string, name: string): Promise<ContainerRecord> {
  return withPod(rt, pod, async (rec) => {
    const c = findContainer(rec, name);
    if (c.state === 'running' || c.state === 'created') {
      throw new BarepodError('invalid-state', `container "${name}" in pod "${pod}" is already running`);
    }
    if (rec.phase === 'Failed') throw podFailed(rec);
    cancelRestart(c);
    await launchInto(rt, rec, c, false);
    c.desired = 'running';
    c.crashLoop = 0;
    appendEvent(rt.settings.stateRoot, { type: 'started', pod, container: name });
    return c;
  });
}

/**
 * Launches a new instance of a recorded container (start, or a restart) and
 * updates its record: the previous run becomes its last termination.
 */
export async function launchInto(rt: Runtime, rec: PodRecord, c: ContainerRecord, fresh: boolean): Promise<void> {
  const launchId = newLaunchId();
  const { removing } = await removePrevious(rt, rec, c);
  let launched: Launched;
  try {
    launched = await transaction((rb) => launchContainer(rt, rb, rec, c.def, launchId, fresh, undefined, c.launchId, removing));
  } finally {
    // a launch that failed before it waited for the removal: nothing of it runs on once the lock is released
    await removing?.catch(() => {});
  }
  if (c.finishedAt) {
    c.lastTermination = {
      exitCode: c.exitCode ?? null,
      reason: c.reason ?? exitReason(c.exitCode, false),
      ...(c.startedAt ? { startedAt: c.startedAt } : {}),
      finishedAt: c.finishedAt,
    };
  }
  Object.assign(c, { state: 'running', startedAt: new Date().toISOString(), process: launched.process, conmon: launched.conmon, launchId });
  delete c.exitCode;
  delete c.finishedAt;
  delete c.reason;
  delete c.message;
  delete c.waiting;
}

/**
 * Starts removing the previous instance of a container (its process is gone,
 * runc still has it: a restart, a start after an exit): `runc delete` then
 * runs on the other core while this process works out the rootfs and the
 * spec, off the restart's critical path. createMember waits for it before
 * conmon; a failure is reported there. Resolves once `runc delete` has been
 * started (its pending steps are microtasks: one turn of the event loop runs them).
 */
async function removePrevious(rt: Runtime, rec: PodRecord, c: ContainerRecord): Promise<{ removing?: Promise<void> }> {
  if (isAlive(c.process) || !rt.runc.knows(c.id)) return {};
  if (explaining) explain(`runc still knows ${c.id} (the previous instance, exited): remove it while the new one is planned`);
  const removing = terminateMember(rt, rec.def.name, c.def.name, { process: undefined, graceSeconds: 0, launchId: c.launchId }).then(() => undefined);
  removing.catch(() => {}); // awaited by createMember (or launchInto's finally), which reports a failure
  await new Promise((resolve) => setImmediate(resolve));
  return { removing }; // (in an object: a promise returned as such would be awaited)
}

/** Kubernetes' waiting state of a ContainerConfigError: its reason, and its message without the container's name (the state is the container's). */
function waitingOf(container: string, e: unknown): NonNullable<ContainerRecord['waiting']> {
  const m = (e as Error).message;
  const prefix = `container ${container}: `;
  return { reason: 'CreateContainerConfigError', message: m.startsWith(prefix) ? m.slice(prefix.length) : m };
}

/**
 * A container whose instance could not be made because its ConfigMap or
 * Secret (or a key) is missing: `waiting` with Kubernetes' reason
 * CreateContainerConfigError. The instance it ended before becomes its last
 * termination.
 */
export function markWaiting(c: ContainerRecord, e: unknown): void {
  if (c.finishedAt) {
    c.lastTermination = {
      exitCode: c.exitCode ?? null,
      reason: c.reason ?? exitReason(c.exitCode, false),
      ...(c.startedAt ? { startedAt: c.startedAt } : {}),
      finishedAt: c.finishedAt,
    };
  }
  c.state = 'waiting';
  c.waiting = waitingOf(c.def.name, e);
  for (const k of ['exitCode', 'finishedAt', 'reason', 'message'] as const) delete c[k];
}

/**
 * Starts containers left waiting (their ConfigMap or Secret was missing):
 * `up -f` again, once what was missing exists. One still missing something
 * stays waiting, with the new message.
 */
export async function startWaiting(rt: Runtime, pod: string, names: string[]): Promise<void> {
  await withPod(rt, pod, async (rec) => {
    if (rec.phase === 'Failed') throw podFailed(rec);
    for (const c of rec.containers.filter((x) => x.state === 'waiting' && names.includes(x.def.name))) {
      cancelRestart(c);
      try {
        await launchInto(rt, rec, c, true);
      } catch (e) {
        if (!hasCode(e, 'container-config')) throw e;
        markWaiting(c, e);
        continue;
      }
      c.desired = 'running';
      c.crashLoop = 0;
      appendEvent(rt.settings.stateRoot, { type: 'started', pod, container: c.def.name });
    }
  });
}

/** The error for changing a pod whose sandbox died for good. */
function podFailed(rec: PodRecord): BarepodError {
  return new BarepodError('invalid-state', `pod "${rec.def.name}" has failed: ${rec.message ?? 'its sandbox died'}`, {
    hint: `remove it (barepod pod rm ${rec.def.name}) and create it again`,
  });
}

/**
 * Stops a container of a record (already locked): graceful, then forced;
 * unmounts its rootfs. `byUser` (a user's `barepod stop`): a non-zero exit
 * it caused is Exited, not Error.
 */
export async function stopLocked(rt: Runtime, rec: PodRecord, c: ContainerRecord, graceSeconds: number, byUser = false): Promise<void> {
  cancelRestart(c);
  if (c.state === 'waiting') {
    // no instance runs; the one it ended before may still have its rootfs mounted
    await unmountAll(containerPaths(rt.settings.stateRoot, rec.def.name, c.def.name).rootfs);
    await removeSubPathStaging(subPathStaging(rt.settings.stateRoot, rec.def.name, c.def.name));
    return;
  }
  const all = inPodPidNamespace(rec.def, c.def);
  const code = await terminateMember(rt, rec.def.name, c.def.name, {
    process: liveOrAsk(c.process),
    conmon: c.conmon,
    graceSeconds,
    all,
    launchId: c.launchId,
  });
  await unmountAll(containerPaths(rt.settings.stateRoot, rec.def.name, c.def.name).rootfs);
  await removeSubPathStaging(subPathStaging(rt.settings.stateRoot, rec.def.name, c.def.name));
  if (c.state !== 'exited' || c.exitCode === undefined) {
    const running = c.state === 'running' || c.state === 'created';
    c.state = 'exited';
    if (code !== undefined) c.exitCode = code;
    c.reason = reasonOf(rt, rec, c, code, byUser && running);
    c.finishedAt = new Date().toISOString();
    if (code === undefined && running) c.message = lostExitMessage(exitDirOf(rt.pod(rec.def.name).paths.exits, c.launchId), c.id);
  }
}

/** `barepod stop`: SIGTERM, up to the grace period, then SIGKILL; idempotent on a stopped container. */
export async function stopContainer(rt: Runtime, pod: string, name: string, graceSeconds: number | undefined): Promise<ContainerRecord> {
  return withPod(rt, pod, async (rec) => {
    const c = findContainer(rec, name);
    const wasRunning = c.state === 'running' || c.state === 'created';
    c.desired = 'stopped'; // a user's stop: no restart policy brings it back
    await stopLocked(rt, rec, c, graceSeconds ?? rec.def.graceSeconds, true);
    if (wasRunning)
      appendEvent(rt.settings.stateRoot, { type: 'stopped', pod, container: name, exitCode: c.exitCode ?? null, ...(c.reason ? { reason: c.reason } : {}) });
    return c;
  });
}

/** `barepod rm`: removes a container (a running one only with force), its bundle, overlay and cgroup. */
export async function removeContainer(rt: Runtime, pod: string, name: string, opts: { force: boolean; graceSeconds: number }): Promise<void> {
  await withPod(rt, pod, async (rec) => {
    const c = findContainer(rec, name);
    if ((c.state === 'running' || c.state === 'created') && !opts.force) {
      throw new BarepodError('invalid-state', `container "${name}" in pod "${pod}" is running`, {
        hint: `stop it first (barepod stop ${pod} ${name}) or use rm -f`,
      });
    }
    await stopLocked(rt, rec, c, opts.graceSeconds);
    const paths = containerPaths(rt.settings.stateRoot, pod, name);
    await unmountAll(paths.bundle);
    const left = await rt.cgroups.removeTree(rt.pod(rec).containerCgroup(name));
    if (left.length) throw new BarepodError('tool-failed', `could not remove cgroup ${left.join(', ')}`);
    fs.rmSync(paths.bundle, { recursive: true, force: true });
    const exits = rt.pod(pod).paths.exits;
    removeLaunchExitDir(exits, c.launchId);
    fs.rmSync(`${exits}/${runcId(pod, name)}`, { force: true });
    rec.containers = rec.containers.filter((x) => x !== c);
    await removeOwnVolumes(rt, rec, c.def);
  });
}

/**
 * The volumes `run` made for a removed container's mounts go with it (an
 * emptyDir's directory and tmpfs too; a hostPath stays, it is the user's),
 * unless another container mounts one of them.
 */
async function removeOwnVolumes(rt: Runtime, rec: PodRecord, def: ContainerDefinition): Promise<void> {
  const unused = (def.ownVolumes ?? []).filter((n) => !rec.containers.some((o) => (o.def.mounts ?? []).some((m) => m.name === n)));
  if (!unused.length) return;
  const sources = volumeSources(rt.settings.stateRoot, rec.def);
  for (const v of rec.def.volumes ?? []) {
    if (!unused.includes(v.name) || v.kind !== 'emptyDir') continue;
    const dir = sources[v.name]!;
    await unmountAll(dir);
    if (isMounted(dir)) throw new BarepodError('tool-failed', `${dir} is still mounted`, { hint: `unmount it (umount ${dir}) and try again` });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  rec.def.volumes = (rec.def.volumes ?? []).filter((v) => !unused.includes(v.name));
  if (!rec.def.volumes.length) delete rec.def.volumes;
}

/**
 * `barepod exec`: runs a command in a running container (`runc exec`: the
 * container's namespaces, cgroup, environment, user, working directory and
 * security settings, with options added on top) and returns its exit status.
 * No pod lock: it reads the record and changes nothing, so it works while
 * other commands run, and a long session never blocks the pod.
 */
export async function execInContainer(rt: Runtime, pod: string, name: string | undefined, command: string[], o: ExecOptions): Promise<ExecOutcome> {
  const rec = rt.store.read(pod);
  reconcile(rt, rec);
  const container = name ?? execTarget(rec);
  const c = findContainer(rec, container);
  if (c.state !== 'running') {
    throw new BarepodError(
      'invalid-state',
      `container "${container}" in pod "${pod}" is not running (${c.state}${c.exitCode !== undefined ? `, exit ${c.exitCode}` : ''})`,
      {
        hint: `start it first: barepod start ${pod} ${container}`,
      },
    );
  }
  const status = await rt.runc.exec(runcId(pod, container), command, o);
  // runc's 255: it could not start the command; say so when the program is not in the container at all
  let missing: ExecOutcome['missing'];
  if (status === 255 && command[0] !== undefined && c.process && isAlive(c.process)) {
    const env = [...configEnv(containerPaths(rt.settings.stateRoot, pod, container).config, c.def.env), ...o.env];
    const pathEnv =
      env
        .filter((e) => e.startsWith('PATH='))
        .pop()
        ?.slice(5) ?? DEFAULT_PATH;
    const root = `/proc/${c.process.pid}/root`;
    if (fs.existsSync(root) && findProgram(root, command[0], pathEnv, o.cwd ?? c.def.workdir) === undefined) {
      missing = { program: command[0], path: pathEnv };
    }
  }
  return { status, container, ...(missing ? { missing } : {}) };
}

/** The environment of a container's process, as its config.json has it (the image's PATH included); `fallback` when unreadable. */
function configEnv(file: string, fallback: string[]): string[] {
  try {
    const env = (JSON.parse(fs.readFileSync(file, 'utf8')) as { process?: { env?: unknown } }).process?.env;
    return Array.isArray(env) ? env.filter((e): e is string => typeof e === 'string') : fallback;
  } catch {
    return fallback;
  }
}

/** What `exec` did: the command's exit status, the container it ran in, and a program that is not in that container. */
export interface ExecOutcome {
  status: number;
  container: string;
  /** the program was not found in the container (a slash-less name: on none of PATH's directories) */
  missing?: { program: string; path: string };
}

/** The container `exec` runs in when none is named, or a usage error that says how to name one. */
function execTarget(rec: PodRecord): string {
  const d = defaultContainer(
    rec.def.annotations,
    rec.containers.map((c) => c.def),
  );
  if (d.name !== undefined) return d.name;
  const first = rec.containers.find((c) => c.def.kind !== 'init')?.def.name ?? 'CONTAINER';
  throw new BarepodError('usage', `pod "${rec.def.name}" has no default container: ${d.why}`, {
    hint: `name one with -c: barepod exec ${rec.def.name} -c ${first} -- sh (or set the pod's ${DEFAULT_CONTAINER_ANNOTATION} annotation)`,
  });
}
