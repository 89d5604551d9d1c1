import fs from 'node:fs';
import type { ContainerRecord, PodRecord } from '../model.js';
import { containerCgroup, podCgroup, SANDBOX_NAME } from '../plan/pod-plan.js';
import { containerPaths } from '../plan/paths.js';
import { formatBytes } from '../quantity.js';
import { isAlive, NAMESPACE_TYPES, namespaceInodes } from '../runtime/procfs.js';
import { findContainer, reconcile } from './containers.js';
import type { Runtime } from './runtime.js';

/** One row of `barepod ps`: a pod member with its live state. */
export interface MemberStatus {
  pod: string;
  container: string;
  id: string;
  state: string;
  pid: number | null;
  restarts: number;
  exitCode: number | null;
  startedAt: string | null;
  createdAt: string;
  image: string;
  command: string[];
}

/** Whether the pod's pause process is the one recorded and alive. */
export function sandboxAlive(rec: PodRecord): boolean {
  return isAlive(rec.sandbox);
}

/** `ps`: every member of every pod (or of one), reconciled with reality. */
export function listMembers(rt: Runtime, only?: string): { pods: { name: string; state: string; createdAt: string; containers: MemberStatus[] }[] } {
  const names = only ? [only] : rt.store.list();
  const pods = [];
  for (const name of names) {
    const rec = only ? rt.store.read(name) : rt.store.tryRead(name);
    if (!rec) {
      pods.push({ name, state: 'Incomplete', createdAt: '', containers: [] });
      continue;
    }
    reconcile(rt, rec);
    const alive = sandboxAlive(rec);
    const sandbox: MemberStatus = {
      pod: name,
      container: SANDBOX_NAME,
      id: rec.sandbox.id,
      state: alive ? 'running' : 'exited',
      pid: alive ? rec.sandbox.pid : null,
      restarts: 0,
      exitCode: null,
      startedAt: rec.sandbox.startedAt,
      createdAt: rec.createdAt,
      image: 'pause',
      command: ['/pause'],
    };
    const containers = rec.containers.map((c) => memberStatus(name, c));
    pods.push({ name, state: alive ? 'Running' : 'SandboxDead', createdAt: rec.createdAt, containers: [sandbox, ...containers] });
  }
  return { pods };
}

function memberStatus(pod: string, c: ContainerRecord): MemberStatus {
  const running = c.state === 'running' || c.state === 'created';
  return {
    pod,
    container: c.def.name,
    id: c.id,
    state: c.state,
    pid: running && c.process ? c.process.pid : null,
    restarts: c.restarts,
    exitCode: c.exitCode ?? null,
    startedAt: c.startedAt ?? null,
    createdAt: c.createdAt,
    image: c.def.image ?? `rootfs:${c.def.rootfs}`,
    command: c.def.args,
  };
}

/** `inspect`: the pod record plus what the host says now: namespace inodes, cgroup dirs, limits. */
export function inspectPod(rt: Runtime, name: string) {
  const rec = reconcile(rt, rt.store.read(name));
  const ctx = rt.planContext(false);
  const alive = sandboxAlive(rec);
  const sandboxNs = alive ? namespaceInodes(rec.sandbox.pid) : {};
  const nsView = (pid: number | undefined) => {
    if (!pid) return {};
    const mine = namespaceInodes(pid);
    return Object.fromEntries(
      NAMESPACE_TYPES.filter((t) => mine[t] !== undefined).map((t) => [t, { inode: mine[t], shared: mine[t] === sandboxNs[t] }]),
    );
  };
  // the CLI runs in the host's namespaces (PID 1's may not be readable, e.g. in a sandboxed VM)
  const hostNs = namespaceInodes(process.pid);
  const member = (containerName: string, pid: number | undefined) => ({
    cgroupPath: containerCgroup(ctx, name, containerName),
    cgroupDirs: rt.cgroups.dirsOf(containerCgroup(ctx, name, containerName)),
    namespaces: Object.fromEntries(
      Object.entries(nsView(pid)).map(([t, v]) => [t, { ...v, host: v.inode === hostNs[t] }]),
    ),
    bundle: containerPaths(rt.settings.stateRoot, name, containerName).bundle,
  });
  const podLimits = {
    memory: rt.cgroups.read('memory', podCgroup(ctx, name), rt.cgroups.version === 2 ? 'memory.max' : 'memory.limit_in_bytes') ?? null,
    pids: rt.cgroups.read('pids', podCgroup(ctx, name), 'pids.max') ?? null,
  };
  return {
    name,
    state: alive ? 'Running' : 'SandboxDead',
    createdAt: rec.createdAt,
    hostname: rec.def.hostname,
    share: rec.def.share,
    cgroupVersion: rec.cgroupVersion,
    cgroupParent: podCgroup(ctx, name),
    cgroupParentDirs: rt.cgroups.dirsOf(podCgroup(ctx, name)),
    limits: { requested: describeLimits(rec.def.limits), cgroupFiles: podLimits },
    sandbox: {
      id: rec.sandbox.id,
      pid: rec.sandbox.pid,
      startTime: rec.sandbox.startTime,
      alive,
      recordedNamespaces: rec.sandbox.namespaces,
      ...member(SANDBOX_NAME, alive ? rec.sandbox.pid : undefined),
    },
    containers: rec.containers.map((c) => {
      const running = (c.state === 'running' || c.state === 'created') && isAlive(c.process);
      return {
        name: c.def.name,
        id: c.id,
        state: c.state,
        pid: running ? c.process?.pid ?? null : null,
        exitCode: c.exitCode ?? null,
        restarts: c.restarts,
        image: c.def.image,
        rootfs: c.def.rootfs,
        command: c.def.args,
        pidMode: rec.def.share.includes('pid') && c.def.pidMode === 'pod' ? 'pod' : 'private',
        limits: describeLimits(c.def.limits),
        ...member(c.def.name, running ? c.process?.pid : undefined),
      };
    }),
  };
}

function describeLimits(l: PodRecord['def']['limits']) {
  return {
    memory: l.memoryBytes === undefined ? null : formatBytes(l.memoryBytes),
    cpu: l.cpuMillis === undefined ? null : `${l.cpuMillis}m`,
    pids: l.pids ?? null,
  };
}

/** `spec`: the config.json barepod wrote for a member. */
export function readSpec(rt: Runtime, pod: string, container: string): string {
  const rec = rt.store.read(pod);
  if (container !== SANDBOX_NAME) findContainer(rec, container);
  const file = containerPaths(rt.settings.stateRoot, pod, container).config;
  return fs.readFileSync(file, 'utf8');
}
