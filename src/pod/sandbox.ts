import fs from 'node:fs';
import path from 'node:path';
import { BarepodError, hasCode, wrap } from '../errors.js';
import { DEFAULT_GRACE_SECONDS, hostPortsOf, RECORD_VERSION, type ContainerRecord, type PodDefinition, type PodRecord, type SandboxRecord } from '../model.js';
import { inPodPidNamespace, SANDBOX_NAME, planSandboxSpec, runcId } from '../plan/pod-plan.js';
import { requirePause } from '../runtime/images.js';
import { mountTmpfs, unmountAll } from '../runtime/mounts.js';
import { identify, liveOrAsk, namespaceInodes } from '../runtime/procfs.js';
import { createMember, newLaunchId, startMember, terminateMember } from './member.js';
import { exitDirOf, readExitFile } from '../runtime/conmon.js';
import { transaction, type Rollback } from './rollback.js';
import { attachNetwork, detachNetwork, prepareNetwork } from './network.js';
import { memberKind } from '../plan/members.js';
import { checkHostPorts } from '../runtime/cni/host-ports.js';
import { cancelRestart } from './backoff.js';
import { cancelJobDeadline } from './job.js';
import { prepareVolumes } from './volumes.js';
import { stopProber } from './prober.js';
import type { Runtime } from './runtime.js';
import { explain, explaining, explainStep } from '../runtime/explain.js';
import { checkTitle, podTitle, sandboxTitle } from '../plan/narration.js';

/** Size of a pod's shared /dev/shm: Docker's and containerd's default. */
const POD_SHM_BYTES = 64 * 1024 * 1024;

/**
 * RunPodSandbox: the pod directory, its cgroup parent with the pod limits,
 * and the pause process holding the pod's namespaces. All or nothing.
 */
export async function createPod(rt: Runtime, def: PodDefinition, manifest?: PodRecord['manifest'], o: { creating?: boolean } = {}): Promise<PodRecord> {
  const pod = rt.pod(def.name);
  const paths = pod.paths;
  await explainStep(checkTitle(def), async () => {
    requirePause(rt.settings.dataDir);
    // a missing plugin, a broken conflist, a subnet clash or a taken host port fail here, before anything is made
    prepareNetwork(def);
    await checkHostPorts(hostPortsOf(def.network), def.name);
  });
  const cgroup = pod.cgroup;
  return pod.withLock(() =>
    transaction(async (rb) => {
      await explainStep(
        () => podTitle(def, paths.dir, cgroup),
        () => makePodDir(rt, rb, def, cgroup),
      );
      const sandbox = await launchSandbox(rt, rb, def);
      const record: PodRecord = {
        version: RECORD_VERSION,
        def,
        createdAt: new Date().toISOString(),
        cgroupVersion: rt.cgroups.version,
        sandbox,
        containers: [],
        // `up` goes on to make the containers: the pod is Creating (and names its maker) until they are all recorded
        ...(o.creating ? { phase: 'Creating' as const, creator: identify(process.pid) } : { phase: 'Running' as const }),
        ...(manifest ? { manifest } : {}),
        cgroupRoot: rt.settings.cgroupRoot,
      };
      rt.store.write(record);
      return record;
    }),
  );
}

/** The pod's directory, its /dev/shm, its volumes and its cgroup parent with the pod limits; pushes their undos. */
async function makePodDir(rt: Runtime, rb: Rollback, def: PodDefinition, cgroup: string): Promise<void> {
  const paths = rt.pod(def.name).paths;
  fs.mkdirSync(path.dirname(paths.dir), { recursive: true, mode: 0o700 });
  try {
    fs.mkdirSync(paths.dir, { mode: 0o700 }); // records, bundles (env), logs: root's alone
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const complete = rt.store.tryRead(def.name) !== undefined;
    throw new BarepodError('already-exists', `pod "${def.name}" already exists${complete ? '' : ' (left incomplete by an earlier failure)'}`, {
      hint: complete ? `remove it first: barepod pod rm ${def.name}` : `clean it up: barepod pod rm -f ${def.name}`,
    });
  }
  if (explaining) explain(`mkdir ${paths.dir}`);
  rb.push(`remove ${paths.dir}`, async () => {
    await unmountAll(paths.dir);
    fs.rmSync(paths.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  });

  if (def.share.includes('ipc')) {
    if (explaining) explain('the pod shares ipc: one /dev/shm tmpfs for every container (as the CRI does)');
    await mountTmpfs(paths.shm, POD_SHM_BYTES);
    rb.push(`unmount ${paths.shm}`, () => unmountAll(paths.shm));
  }

  await prepareVolumes(rt.settings.stateRoot, rb, def);

  rb.push(`remove cgroup ${cgroup}`, async () => {
    const left = await rt.cgroups.removeTree(cgroup, `/${rt.settings.cgroupRoot}`);
    if (left.length) throw new Error(`could not remove ${left.join(', ')}`);
  });
  rt.cgroups.createParent(cgroup, def.limits);
}

/**
 * Starts the pause process of a pod whose directory and cgroup parent exist
 * and attaches its netns to the pod's network (asking for `preferIp` and
 * `preferMac`, the address and MAC of the sandbox it replaces); pushes its
 * teardown.
 */
export async function launchSandbox(
  rt: Runtime,
  rb: Rollback,
  def: PodDefinition,
  preferIp?: string,
  preferMac?: string,
  rec?: Pick<PodRecord, 'cgroupRoot'> & Partial<Pick<PodRecord, 'sandbox'>>,
): Promise<SandboxRecord> {
  const paths = rt.pod(def.name).paths;
  const pauseRoot = requirePause(rt.settings.dataDir);
  const spec = planSandboxSpec(def, rt.planContext(true, rec), pauseRoot);
  const launchId = newLaunchId();
  // the kernel's cgroup moves made fast before runc create needs them (CgroupFs.warmMoves), until the create is done
  const warmed = rt.cgroups.warmMoves();
  const launched = await explainStep(
    () => sandboxTitle(spec),
    async () => {
      // a recreated sandbox replaces the record's launch: its exit dir goes
      const replaces = rec?.sandbox?.launchId;
      const launched = await createMember(rt, rb, def.name, SANDBOX_NAME, spec, { launchId, logSizeMax: def.logSizeMax, ...(replaces ? { replaces } : {}) });
      warmed();
      if (!(await startMember(rt, launched))) {
        const code = readExitFile(exitDirOf(paths.exits, launchId), launched.id);
        throw new BarepodError('tool-failed', `pod "${def.name}": pause exited right after it started${code === undefined ? '' : ` (exit code ${code})`}`, {
          hint: `check ${pauseRoot}/pause (rebuild it with scripts/setup)`,
        });
      }
      if (explaining) explain(`the pod's namespaces are now /proc/${launched.process.pid}/ns/*: every container joins them by that path`);
      return launched;
    },
  ).finally(warmed);
  const network = await attachNetwork(rt, rb, def, launched.process.pid, preferIp, preferMac);
  return {
    id: launched.id,
    ...launched.process,
    namespaces: namespaceInodes(launched.process.pid),
    ...(launched.conmon ? { conmon: launched.conmon } : {}),
    startedAt: new Date().toISOString(),
    launchId,
    ...(network ? { network } : {}),
  };
}

/**
 * StopPodSandbox + RemovePodSandbox: stops every container (gracefully, up to
 * `graceSeconds`), then the pause, and removes runc state, mounts, cgroups
 * and the pod directory. Goes on past failures so as much as possible is
 * cleaned, then reports them all. Works on a pod whose sandbox died and on
 * the leftovers of a command that crashed half-way.
 */
export async function removePod(rt: Runtime, name: string, grace?: number): Promise<void> {
  await rt.pod(name).withLock(() => removePodLocked(rt, name, grace));
}

/**
 * `down`'s removal: a pod that is not there (or that another command removes
 * while this one waits for its lock) is already down, not an error.
 */
export async function downPod(rt: Runtime, name: string, grace?: number): Promise<'removed' | 'absent'> {
  if (!rt.store.tryRead(name) && !fs.existsSync(rt.pod(name).paths.dir)) return 'absent';
  try {
    await removePod(rt, name, grace);
  } catch (e) {
    if (hasCode(e, 'not-found')) return 'absent';
    throw e;
  }
  return 'removed';
}

/** removePod's work for a caller that already holds the pod's lock (`gc`). */
export async function removePodLocked(rt: Runtime, name: string, grace?: number): Promise<void> {
  const paths = rt.pod(name).paths;
  const rec = rt.store.tryRead(name);
  if (!rec && !fs.existsSync(paths.dir)) {
    throw new BarepodError('not-found', `pod "${name}" not found`, { hint: 'list pods with `barepod ps`' });
  }
  const graceSeconds = grace ?? rec?.def.graceSeconds ?? DEFAULT_GRACE_SECONDS;
  if (rec) {
    // from here on, an exit handler or `gc` finishes the removal instead of restarting anything
    await explainStep(
      `Pod ${name}: mark it Removing in ${paths.record} (an exit handler or gc now finishes the removal instead of restarting anything)`,
      async () => {
        if (explaining && rec.prober) explain(`kill -KILL ${rec.prober.pid} (its prober)`);
        stopProber(rec);
        // a full disk cannot take the record: an empty marker file says the same and the removal frees the space
        if (rt.store.markRemoving(rec) === 'marker' && explaining) explain(`the disk is full: marked with the empty file ${paths.removing} instead`);
        for (const c of rec.containers) cancelRestart(c);
        cancelJobDeadline(rec);
      },
    );
  }
  const errors: BarepodError[] = [];
  /** one part of the removal, a step of --explain; its failure is kept (with its cause, for --debug) and the removal goes on */
  const attempt = async (what: string, fn: () => Promise<unknown>, title?: () => string) => {
    try {
      await (title ? explainStep(title, fn) : fn());
    } catch (e) {
      errors.push(wrap(e, what));
    }
  };
  const members: ContainerRecord[] = [...(rec?.containers ?? [])].reverse();
  const known = new Set([...members.map((c) => c.id), runcId(name, SANDBOX_NAME)]);
  const stop = (c: ContainerRecord) => {
    const all = rec ? inPodPidNamespace(rec.def, c.def) : false;
    return attempt(
      `stop ${c.id}`,
      () => terminateMember(rt, name, c.def.name, { process: liveOrAsk(c.process), conmon: c.conmon, graceSeconds, all, launchId: c.launchId }),
      () =>
        `Container ${c.def.name}: stop it (SIGTERM${all ? ' to every process of its cgroup' : ''}, up to ${graceSeconds}s, then SIGKILL), then runc delete (its state and its leaf cgroup)`,
    );
  };
  // Containers stop in parallel, as the kubelet does: the grace period is the pod's, not one per container;
  // native sidecars after them, last started first stopped
  await Promise.all(members.filter((c) => !memberKind(c.def).stopsAfterApps).map(stop));
  for (const c of members.filter((x) => memberKind(x.def).stopsAfterApps)) await stop(c);
  // Members the record does not know: left by a command killed between create and record.
  const prefix = `${name}.`;
  // a killed command's conmon may still run its runc create: let it end, so runc knows what it made (removed below)
  for (const id of rt.runc.leftovers(prefix)) await rt.runc.settle(id);
  for (const id of rt.runc.ids(prefix).filter((i) => !known.has(i))) {
    await attempt(
      `remove leftover ${id}`,
      () => terminateMember(rt, name, id.slice(prefix.length), { process: undefined, graceSeconds: 0, all: true }),
      () => `Leftover ${id}: runc knows it, the pod's record does not (a command killed half-way): remove it`,
    );
  }
  // state dirs runc no longer knows, which would make it refuse the id: left by a runc killed inside its copy guard
  for (const id of rt.runc.leftovers(prefix).filter((i) => !known.has(i))) {
    await attempt(
      `clear ${id}`,
      () => rt.runc.clearLeftovers(id).then(() => undefined),
      () => `Leftover ${id}: a state dir runc no longer knows (a runc killed mid-way): unmount what it left and remove it`,
    );
  }
  // CNI DEL while the pinned netns exists (the pause may be gone: the pin holds it); a failure keeps the pin for gc's retry
  let networkDown = true;
  await attempt('network teardown', () =>
    detachNetwork(rt, name).catch((e: unknown) => {
      networkDown = false;
      throw e;
    }),
  );
  await attempt(
    'stop the sandbox',
    () =>
      terminateMember(rt, name, SANDBOX_NAME, {
        process: liveOrAsk(rec?.sandbox),
        conmon: rec?.sandbox.conmon,
        graceSeconds: Math.min(graceSeconds, 10),
        launchId: rec?.sandbox.launchId,
      }),
    () => `Sandbox: stop the pause${rec ? ` (pid ${rec.sandbox.pid})` : ''}; the pod's namespaces go when their last process does`,
  );
  await attempt(
    'unmount',
    () => unmountAll(paths.dir, networkDown ? [] : [paths.netns]),
    () => `Mounts: unmount what is left under ${paths.dir} (the containers' rootfs overlays, /dev/shm, tmpfs volumes)`,
  );
  const scope = rt.pod(rec ?? name);
  const cgroup = scope.cgroup;
  await attempt(
    'remove cgroups',
    async () => {
      // the root's own top dir goes too once no pod of any root uses it (rmdir of a non-empty dir fails: fine)
      const left = await rt.cgroups.removeTree(cgroup, `/${scope.cgroupRoot}`);
      if (left.length) throw new Error(`could not remove ${left.join(', ')}`);
    },
    () => `Cgroups: remove ${cgroup} and its children, bottom-up, in every hierarchy`,
  );
  if (errors.length === 0) {
    await explainStep(`State: rm -r ${paths.dir}`, async () => fs.rmSync(paths.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 }));
  }
  if (errors.length) {
    throw new BarepodError('tool-failed', `pod "${name}" was not removed completely: ${errors.map((e) => e.message).join('; ')}`, {
      hint: `fix the cause and run \`barepod pod rm ${name}\` again`,
      cause: new AggregateError(errors, 'the removal steps that failed'),
    });
  }
}
