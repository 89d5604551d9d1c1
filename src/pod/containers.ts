import fs from 'node:fs';
import { BarepodError } from '../errors.js';
import type { ContainerDefinition, ContainerRecord, PodRecord } from '../model.js';
import { containerCgroup, joinedNamespaces, NAMESPACES, planContainerSpec, runcId } from '../plan/pod-plan.js';
import { containerPaths, podPaths } from '../plan/paths.js';
import { readExitFile } from '../runtime/conmon.js';
import { resolveImage } from '../runtime/images.js';
import { mountOverlay, unmountAll } from '../runtime/mounts.js';
import { isAlive } from '../runtime/procfs.js';
import type { ExecOptions } from '../runtime/runc.js';
import { withPodLock } from '../runtime/state.js';
import { createMember, startMember, terminateMember, type Launched } from './member.js';
import { transaction, type Rollback } from './rollback.js';
import type { Runtime } from './runtime.js';
import { verifyJoined, verifySandbox } from './sandbox.js';

/** Runs `fn` on a pod's record under the pod's lock, after reconciling it with reality; saves what it returns. */
async function withPod<T>(rt: Runtime, pod: string, fn: (rec: PodRecord) => Promise<T>): Promise<T> {
  return withPodLock(podPaths(rt.settings.stateRoot, pod).lock, pod, async () => {
    const rec = reconcile(rt, rt.store.read(pod));
    try {
      return await fn(rec);
    } finally {
      if (rt.store.tryRead(pod)) rt.store.write(rec);
    }
  });
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
 * container exited (with that code); a process that is gone with no exit
 * file and no monitor is 'unknown'. Pure reads, no locks: `ps` uses it too.
 */
export function reconcile(rt: Runtime, rec: PodRecord): PodRecord {
  const exits = podPaths(rt.settings.stateRoot, rec.def.name).exits;
  for (const c of rec.containers) {
    if (c.state !== 'running' && c.state !== 'created') continue;
    const code = readExitFile(exits, c.id);
    if (code !== undefined) {
      c.state = 'exited';
      c.exitCode = code;
      try {
        c.finishedAt = fs.statSync(`${exits}/${c.id}`).mtime.toISOString();
      } catch {
        c.finishedAt = new Date().toISOString();
      }
    } else if (!isAlive(c.process) && !isAlive(c.conmon)) {
      c.state = 'unknown';
    }
  }
  return rec;
}

/** Mounts the container's root filesystem (an overlay on the image) and returns its path. */
async function prepareRootfs(rt: Runtime, rb: Rollback, pod: string, def: ContainerDefinition): Promise<string> {
  if (def.rootfs) {
    if (!fs.statSync(def.rootfs, { throwIfNoEntry: false })?.isDirectory()) {
      throw new BarepodError('invalid-value', `--rootfs ${def.rootfs}: not a directory`);
    }
    return def.rootfs;
  }
  const paths = containerPaths(rt.settings.stateRoot, pod, def.name);
  const image = resolveImage(rt.settings.dataDir, def.image ?? 'busybox');
  await mountOverlay(image.layers, paths.upper, paths.work, paths.rootfs);
  rb.push(`unmount ${paths.rootfs}`, () => unmountAll(paths.rootfs));
  return paths.rootfs;
}

/** CreateContainer + StartContainer in the pod's sandbox, guarded against a dead or replaced sandbox. */
async function launchContainer(rt: Runtime, rb: Rollback, rec: PodRecord, def: ContainerDefinition): Promise<Launched> {
  verifySandbox(rec);
  const rootfs = await prepareRootfs(rt, rb, rec.def.name, def);
  const shm = podPaths(rt.settings.stateRoot, rec.def.name).shm;
  const spec = planContainerSpec(rec.def, def, rec.sandbox.pid, rt.planContext(def.seccomp === 'default'), rootfs, shm);
  verifySandbox(rec); // again, right before runc joins /proc/<pid>/ns/*
  const launched = await createMember(rt, rb, rec.def.name, def.name, spec);
  verifyJoined(rec, launched.process.pid, joinedNamespaces(rec.def, def).map((ns) => NAMESPACES[ns].proc));
  await startMember(rt, launched); // a container may exit at once: that is its business, recorded by conmon
  return launched;
}

/** `barepod run`: a new container in an existing pod, created and started. */
export async function runContainer(rt: Runtime, pod: string, def: ContainerDefinition): Promise<ContainerRecord> {
  return withPod(rt, pod, async (rec) => {
    if (rec.containers.some((c) => c.def.name === def.name)) {
      throw new BarepodError('already-exists', `container "${def.name}" already exists in pod "${pod}"`, {
        hint: `pick another --name, or remove it: barepod rm -f ${pod} ${def.name}`,
      });
    }
    const bundle = containerPaths(rt.settings.stateRoot, pod, def.name).bundle;
    const launched = await transaction(async (rb) => {
      rb.push(`remove ${bundle}`, () => fs.rmSync(bundle, { recursive: true, force: true }));
      return launchContainer(rt, rb, rec, def);
    });
    const now = new Date().toISOString();
    const c: ContainerRecord = {
      def,
      id: launched.id,
      state: 'running',
      createdAt: now,
      startedAt: now,
      process: launched.process,
      ...(launched.conmon ? { conmon: launched.conmon } : {}),
      restarts: 0,
    };
    rec.containers.push(c);
    return c;
  });
}

/** `barepod start`: runs a stopped container again, planned afresh against the current sandbox. */
export async function startContainer(rt: Runtime, pod: string, name: string): Promise<ContainerRecord> {
  return withPod(rt, pod, async (rec) => {
    const c = findContainer(rec, name);
    if (c.state === 'running' || c.state === 'created') {
      throw new BarepodError('invalid-state', `container "${name}" in pod "${pod}" is already running`);
    }
    const launched = await transaction((rb) => launchContainer(rt, rb, rec, c.def));
    Object.assign(c, { state: 'running', startedAt: new Date().toISOString(), process: launched.process, conmon: launched.conmon });
    delete c.exitCode;
    delete c.finishedAt;
    return c;
  });
}

/** Stops a container of a record (already locked): graceful, then forced; unmounts its rootfs. */
async function stopLocked(rt: Runtime, rec: PodRecord, c: ContainerRecord, graceSeconds: number): Promise<void> {
  const all = rec.def.share.includes('pid') && c.def.pidMode === 'pod';
  const code = await terminateMember(rt, rec.def.name, c.def.name, { process: c.process, conmon: c.conmon, graceSeconds, all });
  await unmountAll(containerPaths(rt.settings.stateRoot, rec.def.name, c.def.name).rootfs);
  if (c.state !== 'exited' || c.exitCode === undefined) {
    c.state = 'exited';
    if (code !== undefined) c.exitCode = code;
    c.finishedAt = new Date().toISOString();
  }
}

/** `barepod stop`: SIGTERM, up to the grace period, then SIGKILL; idempotent on a stopped container. */
export async function stopContainer(rt: Runtime, pod: string, name: string, graceSeconds: number): Promise<ContainerRecord> {
  return withPod(rt, pod, async (rec) => {
    const c = findContainer(rec, name);
    await stopLocked(rt, rec, c, graceSeconds);
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
    const left = await rt.cgroups.removeTree(containerCgroup(rt.planContext(false), pod, name));
    if (left.length) throw new BarepodError('tool-failed', `could not remove cgroup ${left.join(', ')}`);
    fs.rmSync(paths.bundle, { recursive: true, force: true });
    fs.rmSync(`${podPaths(rt.settings.stateRoot, pod).exits}/${runcId(pod, name)}`, { force: true });
    rec.containers = rec.containers.filter((x) => x !== c);
  });
}

/**
 * `barepod exec`: runs a command in a running container (`runc exec`: the
 * container's namespaces, cgroup, environment, user, working directory and
 * security settings, with options added on top) and returns its exit status.
 * No pod lock: it reads the record and changes nothing, so it works while
 * other commands run, and a long session never blocks the pod.
 */
export async function execInContainer(rt: Runtime, pod: string, name: string, command: string[], o: ExecOptions): Promise<number> {
  const c = findContainer(reconcile(rt, rt.store.read(pod)), name);
  if (c.state !== 'running') {
    throw new BarepodError('invalid-state', `container "${name}" in pod "${pod}" is not running (${c.state}${c.exitCode !== undefined ? `, exit ${c.exitCode}` : ''})`, {
      hint: `start it first: barepod start ${pod} ${name}`,
    });
  }
  return rt.runc.exec(runcId(pod, name), command, o);
}
