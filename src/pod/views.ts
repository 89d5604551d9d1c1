import fs from 'node:fs';
import {
  hostPortsOf,
  networkName,
  restartPolicyOf,
  type ContainerRecord,
  type MemberKind,
  type PodRecord,
  type PortMapping,
  type ProcessIdentity,
} from '../model.js';
import { exitReason } from '../plan/restart.js';
import { inPodPidNamespace, SANDBOX_NAME } from '../plan/pod-plan.js';
import { containerPaths } from '../plan/paths.js';
import { formatBytes } from '../quantity.js';
import { isAlive, isStopped, NAMESPACE_TYPES, namespaceInodes, withProcessSnapshot } from '../runtime/procfs.js';
import { findContainer, reconcile } from './record.js';
import { containerReady, readProbeStatus } from './prober.js';
import type { Runtime } from './runtime.js';
import { storedResult } from './network.js';

/** One row of `barepod ps`: a pod member with its live state. */
export interface MemberStatus {
  pod: string;
  container: string;
  /** sandbox (the pause), init (runs to completion first), sidecar (an init container with restartPolicy Always), app */
  kind: MemberKind;
  id: string;
  state: string;
  /** kubectl-style status: Running, Completed, Error, OOMKilled, CrashLoopBackOff, Created, Unknown; Exited (a user's stop), Stopped (SIGSTOP) */
  status: string;
  reason: string | null;
  pid: number | null;
  restarts: number;
  exitCode: number | null;
  restartPolicy: string;
  /** running and, with a readiness (or startup) probe, passing it */
  ready: boolean;
  /** a pending restart: when it fires */
  backoff: { until: string; delayMs: number } | null;
  /** how the previous instance ended (Kubernetes lastState), for a container that was started again */
  lastTermination: ContainerRecord['lastTermination'] | null;
  /** the latest termination: this instance's when it has ended (e.g. the exit a CrashLoopBackOff waits after), else lastTermination; ps's LAST EXIT */
  lastExit: ContainerRecord['lastTermination'] | null;
  /** why, when the state alone does not say (e.g. an exit code conmon could not record) */
  message: string | null;
  /** for a running member: whether its monitor (conmon) still lives; false when it was killed (the member runs on, unsupervised); null when not running */
  supervised: boolean | null;
  startedAt: string | null;
  createdAt: string;
  image: string;
  /** the manifest digest (sha256:…) of the stored image this container runs, pinned when it was made; null for the built-in busybox, a rootfs directory, the pause */
  imageId: string | null;
  command: string[];
  /** the ports the container declares (manifest ports[]), as `80/tcp`; the sandbox's are the pod's published ones */
  ports: string[];
}

/** A Job's status as ps, pod ls and inspect show it (Kubernetes' JobStatus); null for a pod that runs no Job. */
export interface JobView {
  name: string;
  /** Active until it is Complete or Failed (Pending before its containers first started) */
  state: 'Pending' | 'Active' | 'Complete' | 'Failed';
  failures: number;
  backoffLimit: number;
  activeDeadlineSeconds: number | null;
  /** BackoffLimitExceeded, DeadlineExceeded */
  reason: string | null;
  message: string | null;
  startTime: string | null;
  completionTime: string | null;
}

/** The Job of a pod's record, or null. */
export function jobView(rec: PodRecord): JobView | null {
  const def = rec.def.job;
  if (!def) return null;
  const s = rec.job;
  return {
    name: def.name,
    state: s?.state ?? 'Pending',
    failures: s?.failures ?? 0,
    backoffLimit: def.backoffLimit,
    activeDeadlineSeconds: def.activeDeadlineSeconds ?? null,
    reason: s?.reason ?? null,
    message: s?.message ?? null,
    startTime: s?.startTime ?? null,
    completionTime: s?.completionTime ?? null,
  };
}

/** A Job in a few words: "Job Complete", "Job Active (1 failure, backoffLimit 3)", "Job Failed: BackoffLimitExceeded (4 failures)". */
export function jobText(j: JobView): string {
  const failures = `${j.failures} failure${j.failures === 1 ? '' : 's'}`;
  if (j.state === 'Failed') return `Job Failed: ${j.reason ?? '?'} (${failures})`;
  if (j.state === 'Complete') return `Job Complete${j.failures ? ` (${failures})` : ''}`;
  return `Job ${j.state} (${failures}, backoffLimit ${j.backoffLimit})`;
}

/** One pod of `ps` and `pod ls`: its state, address, published ports and hostname, and its members. */
export interface PodStatus {
  name: string;
  state: string;
  /** the Job this pod runs (a batch/v1 Job's pod), else null */
  job: JobView | null;
  createdAt: string;
  /** the pod's hostname (its UTS namespace's) */
  hostname: string | null;
  /** the workload it came from (`Deployment/web`), null for a bare pod */
  owner: string | null;
  /** the network: barepod (or another CNI network's name), none, host */
  network: string | null;
  /** the address CNI gave the pod's eth0; null without a CNI network */
  ip: string | null;
  /** host ports forwarded to the pod */
  ports: PortMapping[];
  /** app containers and sidecars that are ready (running, and passing a readiness or startup probe if they have one): kubectl's READY */
  readyContainers: number;
  /** app containers and sidecars: READY's denominator (init containers do not count) */
  appContainers: number;
  containers: MemberStatus[];
}

/**
 * A running member whose conmon is gone (killed): it runs on, but nothing
 * waits for its exit (no exit code, no exit handler). As podman does, its
 * state still comes from reality (the process); this says it is unsupervised.
 */
export function unsupervised(conmon: ProcessIdentity | undefined): boolean {
  return conmon !== undefined && !isAlive(conmon);
}

/** What `ps --json`, `inspect` and `gc` say of an unsupervised member. */
export function unsupervisedMessage(conmon: ProcessIdentity): string {
  return `unsupervised: its monitor (conmon pid ${conmon.pid}) is gone; it runs on, but its exit code will not be recorded and its restart policy acts only when \`barepod gc\` notices the exit (stop and start it, or restart the pod, to supervise it again)`;
}

/** Whether the pod's pause process is the one recorded and alive. */
export function sandboxAlive(rec: PodRecord): boolean {
  return isAlive(rec.sandbox);
}

/** `ps`: every member of every pod (or of one), reconciled with reality; each process's /proc entry read once. */
export function listMembers(rt: Runtime, only?: string): { pods: PodStatus[] } {
  return withProcessSnapshot(() => membersNow(rt, only));
}

function membersNow(rt: Runtime, only?: string): { pods: PodStatus[] } {
  const names = only ? [only] : rt.store.list();
  const pods: PodStatus[] = [];
  for (const name of names) {
    const rec = only ? rt.store.read(name) : rt.store.tryRead(name);
    if (!rec) {
      pods.push({
        name,
        state: 'Incomplete',
        job: null,
        createdAt: '',
        hostname: null,
        owner: null,
        network: null,
        ip: null,
        ports: [],
        readyContainers: 0,
        appContainers: 0,
        containers: [],
      });
      continue;
    }
    reconcile(rt, rec);
    const alive = sandboxAlive(rec);
    const stopped = isStopped(rec.sandbox); // SIGSTOPped: alive, but holding the pod still
    const sandbox: MemberStatus = {
      pod: name,
      container: SANDBOX_NAME,
      kind: 'sandbox',
      id: rec.sandbox.id,
      state: alive ? 'running' : 'exited',
      status: stopped ? 'Stopped' : alive ? 'Running' : 'Dead',
      reason: null,
      pid: alive ? rec.sandbox.pid : null,
      restarts: rec.sandboxRestarts ?? 0,
      exitCode: null,
      restartPolicy: rec.def.restartPolicy,
      ready: alive && !stopped,
      backoff: null,
      lastTermination: null,
      lastExit: null,
      message: stopped
        ? `pause pid ${rec.sandbox.pid} is stopped by a signal (SIGSTOP): send it SIGCONT`
        : alive && unsupervised(rec.sandbox.conmon)
          ? unsupervisedMessage(rec.sandbox.conmon!)
          : null,
      supervised: alive ? !unsupervised(rec.sandbox.conmon) : null,
      startedAt: rec.sandbox.startedAt,
      createdAt: rec.createdAt,
      image: 'pause',
      imageId: null,
      command: ['/pause'],
      ports: hostPortsOf(rec.def.network).map((p) => `${p.containerPort}/${p.protocol}`),
    };
    const probes = readProbeStatus(rt.settings.stateRoot, name);
    const containers = rec.containers.map((c) => memberStatus(rec, c, containerReady(c, probes).ready));
    // kubectl's READY: app containers and native sidecars, not init containers
    const counted = containers.filter((c) => c.kind === 'app' || c.kind === 'sidecar');
    pods.push({
      name,
      state: podState(rec, alive),
      job: jobView(rec),
      createdAt: rec.createdAt,
      hostname: rec.def.hostname,
      owner: rec.def.owner ?? null,
      network: networkName(rec.def.network),
      ip: rec.sandbox.network?.ip ?? null,
      ports: hostPortsOf(rec.def.network),
      readyContainers: counted.filter((c) => c.ready).length,
      appContainers: counted.length,
      containers: [sandbox, ...containers],
    });
  }
  return { pods };
}

/** The pod's state for people: Running, SandboxDead (until a handler or gc acts), Failed, Removing; Completed for a Job's pod once the Job is Complete. */
export function podState(rec: PodRecord, alive: boolean): string {
  if (rec.phase && rec.phase !== 'Running') return rec.phase;
  if (rec.job?.state === 'Complete') return 'Completed';
  return alive ? 'Running' : 'SandboxDead';
}

/** kubectl's status words for a container. */
export function containerStatus(c: ContainerRecord): string {
  if (c.state === 'running') return isStopped(c.process) ? 'Stopped' : 'Running';
  if (c.state === 'created') return 'Created';
  if (c.state === 'unknown') return 'Unknown';
  if (c.state === 'waiting') return c.waiting?.reason ?? 'Waiting';
  if (c.backoff) return 'CrashLoopBackOff';
  return c.reason ?? (c.exitCode === 0 ? 'Completed' : 'Error');
}

/** The latest termination of a container: this instance's once it has ended, else the previous instance's. */
export function lastExitOf(c: ContainerRecord): ContainerRecord['lastTermination'] | null {
  if ((c.state === 'exited' || c.state === 'unknown') && c.finishedAt) {
    return {
      exitCode: c.exitCode ?? null,
      reason: c.reason ?? exitReason(c.exitCode, false),
      ...(c.startedAt ? { startedAt: c.startedAt } : {}),
      finishedAt: c.finishedAt,
    };
  }
  return c.lastTermination ?? null;
}

function memberStatus(rec: PodRecord, c: ContainerRecord, ready: boolean): MemberStatus {
  const running = c.state === 'running' || c.state === 'created';
  return {
    pod: rec.def.name,
    container: c.def.name,
    kind: c.def.kind ?? 'app',
    id: c.id,
    state: c.state,
    status: containerStatus(c),
    reason: c.waiting?.reason ?? c.reason ?? null,
    pid: running && c.process ? c.process.pid : null,
    restarts: c.restarts,
    exitCode: c.exitCode ?? null,
    restartPolicy: restartPolicyOf(rec.def, c.def),
    ready,
    backoff: c.backoff ? { until: c.backoff.until, delayMs: c.backoff.delayMs } : null,
    lastTermination: c.lastTermination ?? null,
    lastExit: lastExitOf(c),
    message: running && unsupervised(c.conmon) ? unsupervisedMessage(c.conmon!) : (c.waiting?.message ?? c.message ?? null),
    supervised: running ? !unsupervised(c.conmon) : null,
    startedAt: c.startedAt ?? null,
    createdAt: c.createdAt,
    image: c.def.image ?? `rootfs:${c.def.rootfs}`,
    imageId: c.def.imageId ?? null,
    command: c.def.args,
    ports: (c.def.ports ?? []).map((p) => `${p.containerPort}/${p.protocol.toLowerCase()}`),
  };
}

/** `inspect`: the pod record plus what the host says now: namespace inodes, cgroup dirs, limits. */
export function inspectPod(rt: Runtime, name: string) {
  const rec = rt.store.read(name);
  reconcile(rt, rec);
  const pod = rt.pod(rec);
  const alive = sandboxAlive(rec);
  const sandboxNs = alive ? namespaceInodes(rec.sandbox.pid) : {};
  const nsView = (pid: number | undefined) => {
    if (!pid) return {};
    const mine = namespaceInodes(pid);
    return Object.fromEntries(NAMESPACE_TYPES.filter((t) => mine[t] !== undefined).map((t) => [t, { inode: mine[t], shared: mine[t] === sandboxNs[t] }]));
  };
  // the CLI runs in the host's namespaces (PID 1's may not be readable, e.g. in a sandboxed VM)
  const hostNs = namespaceInodes(process.pid);
  const member = (containerName: string, pid: number | undefined) => ({
    cgroupPath: pod.containerCgroup(containerName),
    cgroupDirs: rt.cgroups.dirsOf(pod.containerCgroup(containerName)),
    namespaces: Object.fromEntries(Object.entries(nsView(pid)).map(([t, v]) => [t, { ...v, host: v.inode === hostNs[t] }])),
    bundle: containerPaths(rt.settings.stateRoot, name, containerName).bundle,
  });
  const podLimits = {
    memory: rt.cgroups.read('memory', pod.cgroup, rt.cgroups.version === 2 ? 'memory.max' : 'memory.limit_in_bytes') ?? null,
    pids: rt.cgroups.read('pids', pod.cgroup, 'pids.max') ?? null,
  };
  return {
    name,
    state: podState(rec, alive),
    message: rec.message ?? null,
    job: jobView(rec),
    restartPolicy: rec.def.restartPolicy,
    backoff: rec.def.backoff,
    graceSeconds: rec.def.graceSeconds,
    sandboxRestarts: rec.sandboxRestarts ?? 0,
    createdAt: rec.createdAt,
    hostname: rec.def.hostname,
    owner: rec.def.owner ?? null,
    labels: rec.def.labels ?? {},
    annotations: rec.def.annotations ?? {},
    share: rec.def.share,
    network: networkView(rt, rec, alive ? sandboxNs.net : undefined),
    cgroupVersion: rec.cgroupVersion,
    cgroupParent: pod.cgroup,
    cgroupParentDirs: rt.cgroups.dirsOf(pod.cgroup),
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
        pid: running ? (c.process?.pid ?? null) : null,
        status: containerStatus(c),
        exitCode: c.exitCode ?? null,
        reason: c.waiting?.reason ?? c.reason ?? null,
        message: c.waiting?.message ?? c.message ?? null,
        restarts: c.restarts,
        restartPolicy: restartPolicyOf(rec.def, c.def),
        backoff: c.backoff ? { until: c.backoff.until, delayMs: c.backoff.delayMs } : null,
        lastTermination: c.lastTermination ?? null,
        image: c.def.image,
        rootfs: c.def.rootfs,
        command: c.def.args,
        pidMode: inPodPidNamespace(rec.def, c.def) ? 'pod' : 'private',
        limits: describeLimits(c.def.limits),
        ...member(c.def.name, running ? c.process?.pid : undefined),
      };
    }),
  };
}

/** The pod's network for inspect: the address CNI gave, the interfaces, the port mappings, the pinned netns. */
function networkView(rt: Runtime, rec: PodRecord, liveNetns: number | undefined) {
  const def = rec.def.network;
  const a = rec.sandbox.network;
  const result = a ? storedResult(rt, rec.def.name) : undefined;
  return {
    name: networkName(def),
    mode: def.kind,
    ip: a?.ip ?? null,
    cidr: a?.cidr ?? null,
    gateway: a?.gateway ?? null,
    interfaces: (result?.interfaces ?? []).map((i) => ({
      name: i.name,
      mac: i.mac ?? null,
      where: i.sandbox ? 'pod' : i.name === a?.hostVeth ? 'host (veth)' : 'host (bridge)',
    })),
    ports: hostPortsOf(def),
    hostAliases: rec.def.hostAliases ?? [],
    containerId: a?.containerId ?? null,
    netns: a?.netns ?? null,
    /** the netns inode when CNI ADD ran, and the pause's now: equal while the pod keeps its network */
    netnsInode: a?.netnsInode ?? rec.sandbox.namespaces.net ?? null,
    liveNetnsInode: liveNetns ?? null,
  };
}

function describeLimits(l: PodRecord['def']['limits']) {
  return {
    memory: l.memoryBytes === undefined ? null : formatBytes(l.memoryBytes),
    cpu: l.cpuMillis === undefined ? null : `${l.cpuMillis}m`,
    pids: l.pids ?? null,
    requests: {
      cpu: l.cpuRequestMillis === undefined ? null : `${l.cpuRequestMillis}m`,
      memory: l.memoryRequestBytes === undefined ? null : formatBytes(l.memoryRequestBytes),
    },
  };
}

/** `spec`: the config.json barepod wrote for a member. */
export function readSpec(rt: Runtime, pod: string, container: string): string {
  const rec = rt.store.read(pod);
  if (container !== SANDBOX_NAME) findContainer(rec, container);
  const file = containerPaths(rt.settings.stateRoot, pod, container).config;
  return fs.readFileSync(file, 'utf8');
}
