/**
 * The read-only views that show a pod from the host's side: its namespaces
 * (`ns`), its cgroup tree (`cgroups`), its processes (`top`) and its
 * resource use over time (`stats`). They read /proc and the cgroup
 * filesystem and never change the pod; like `ps`, they reconcile the record
 * with reality first, in memory only.
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PodRecord } from '../model.js';
import { SANDBOX_NAME } from '../plan/pod-plan.js';
import {
  cpuMillicores,
  namespaceMatrix,
  orderCgroupChildren,
  statsReport,
  type CgroupNode,
  type MemberNamespaces,
  type NamespaceRow,
  type StatsReport,
  type StatsSample,
} from '../plan/pod-views.js';
import { childrenOf, isAlive, namespaceInode, namespaceInodes, NAMESPACE_TYPES, readCmdline, readComm, readProcStatus } from '../runtime/procfs.js';
import { reconcile } from './record.js';
import type { Runtime } from './runtime.js';
import { podState, sandboxAlive } from './views.js';

/** A pod member as these views list it: the sandbox first, then the containers in record order. */
interface Member {
  name: string;
  state: string;
  /** the live pid, or null when the member is not running */
  pid: number | null;
}

function podMembers(rec: PodRecord): Member[] {
  const alive = sandboxAlive(rec);
  return [
    { name: SANDBOX_NAME, state: alive ? 'running' : 'exited', pid: alive ? rec.sandbox.pid : null },
    ...rec.containers.map((c) => {
      const running = (c.state === 'running' || c.state === 'created') && isAlive(c.process);
      return { name: c.def.name, state: c.state, pid: running ? c.process!.pid : null };
    }),
  ];
}

/** The record of a pod, reconciled with what conmon and /proc say (nothing is written). */
function readPod(rt: Runtime, pod: string): PodRecord {
  const rec = rt.store.read(pod);
  reconcile(rt, rec);
  return rec;
}

/** `barepod ns --json`. */
export interface NamespaceView {
  pod: string;
  pausePid: number | null;
  /** the columns: every type of /proc/<pid>/ns this host has (time since Linux 5.6) */
  types: string[];
  /** barepod's own namespaces, which are the host's */
  host: Record<string, number>;
  members: (NamespaceRow & { state: string })[];
}

/** `ns`: every member's namespace inodes, each marked shared (the pause's), own, or host. */
export function namespaceView(rt: Runtime, pod: string): NamespaceView {
  const rec = readPod(rt, pod);
  const types: string[] = [...NAMESPACE_TYPES, ...(namespaceInode(process.pid, 'time') !== undefined ? ['time'] : [])];
  // the CLI runs in the host's namespaces (PID 1's may not be readable, e.g. in a sandboxed VM)
  const host = namespaceInodes(process.pid, types);
  const members = podMembers(rec);
  const read = (m: Member): MemberNamespaces => ({ name: m.name, pid: m.pid, inodes: m.pid === null ? {} : namespaceInodes(m.pid, types) });
  const rows = namespaceMatrix(read(members[0]!), members.slice(1).map(read), types, host);
  return {
    pod,
    pausePid: members[0]!.pid,
    types,
    host,
    members: rows.map((r, i) => ({ name: r.name, pid: r.pid, state: members[i]!.state, namespaces: r.namespaces })),
  };
}

/** A process's argv, or its comm in brackets (as ps shows a zombie or a kernel thread). */
function commandOf(pid: number): string[] {
  const argv = readCmdline(pid);
  if (argv.length) return argv;
  const comm = readComm(pid);
  return comm === undefined ? [] : [`[${comm}]`];
}

/** `barepod cgroups --json`. */
export interface CgroupTreeView {
  pod: string;
  cgroupVersion: 1 | 2;
  /** where each controller's files are read: its v1 hierarchy, or the unified one */
  hierarchies: Record<string, string | null>;
  tree: CgroupNode;
}

/** `cgroups`: the pod parent and its children with their limits, usage and processes. */
export function cgroupTree(rt: Runtime, pod: string): CgroupTreeView {
  const rec = readPod(rt, pod);
  const scope = rt.pod(rec);
  const members = podMembers(rec);
  const containers = rec.containers.map((c) => c.def.name);
  const node = (cgroupPath: string, name: string, role: CgroupNode['role'], depth: number): CgroupNode => {
    const r = rt.cgroups.readResources(cgroupPath);
    const kids = depth < 8 ? rt.cgroups.children(cgroupPath) : [];
    const roleOf = (n: string): CgroupNode['role'] => (depth > 0 ? 'other' : n === SANDBOX_NAME ? 'sandbox' : containers.includes(n) ? 'container' : 'other');
    return {
      name,
      path: cgroupPath,
      role,
      state: role === 'sandbox' || role === 'container' ? (members.find((m) => m.name === name)?.state ?? null) : null,
      limits: { ...r.limits, cpuMillicores: cpuMillicores(r.limits.cpuQuotaUsec.value, r.limits.cpuPeriodUsec.value) },
      usage: r.usage,
      processes: rt.cgroups.procs(cgroupPath).map((pid) => ({ pid, command: commandOf(pid) })),
      children: (depth === 0 ? orderCgroupChildren(kids, containers) : kids).map((n) => node(`${cgroupPath}/${n}`, n, roleOf(n), depth + 1)),
    };
  };
  const root = scope.cgroup;
  return {
    pod,
    cgroupVersion: rt.cgroups.version,
    hierarchies: Object.fromEntries(
      ['memory', 'cpu', 'cpuacct', 'pids']
        .filter((c) => rt.cgroups.version === 1 || c !== 'cpuacct')
        .map((c) => [c, rt.cgroups.dirFor(c, '/')?.replace(/\/$/, '') ?? null]),
    ),
    tree: node(root, root, 'pod', 0),
  };
}

/** One process of `barepod top --json`. */
export interface TopProcess {
  container: string;
  /** the pid on the host */
  pid: number;
  /** the pid in the process's own pid namespace (the last NSpid field): the pod's or the container's */
  podPid: number;
  /** the parent's pid on the host */
  ppid: number;
  /** the parent's pid in the same pid namespace; 0 when the parent is outside it (as the process itself sees it) */
  podPpid: number;
  uid: number;
  /** one letter, as ps shows it: R running, S sleeping, D disk wait, Z zombie, T stopped */
  state: string;
  rssBytes: number;
  command: string[];
}

/**
 * `top`: the processes of each member's cgroup (forked children too), with
 * their pids on the host and in the pod; and their zombie children, which a
 * cgroup no longer lists (a process leaves its cgroup when it exits), shown
 * under their parent's member.
 */
export function topView(rt: Runtime, pod: string): { pod: string; processes: TopProcess[] } {
  const rec = readPod(rt, pod);
  const scope = rt.pod(rec);
  const processes: TopProcess[] = [];
  for (const m of podMembers(rec)) {
    const procs = rt.cgroups.procs(scope.containerCgroup(m.name));
    const zombies = procs.flatMap((pid) => childrenOf(pid)).filter((c) => !procs.includes(c) && readProcStatus(c)?.state === 'Z');
    for (const pid of [...procs, ...zombies]) {
      const st = readProcStatus(pid);
      if (!st) continue; // exited between the two reads
      const parent = readProcStatus(st.ppid);
      const sameNs = parent !== undefined && namespaceInode(st.ppid, 'pid') === namespaceInode(pid, 'pid');
      processes.push({
        container: m.name,
        pid,
        podPid: st.nspid.at(-1) ?? pid,
        ppid: st.ppid,
        podPpid: sameNs ? (parent.nspid.at(-1) ?? st.ppid) : 0,
        uid: st.uid,
        state: st.state,
        rssBytes: st.rssBytes,
        command: commandOf(pid),
      });
    }
  }
  return { pod, processes };
}

/** Microseconds on a monotonic clock: cpu % needs the time between samples, never the wall clock. */
const monotonicUsec = (): number => Number(process.hrtime.bigint() / 1000n);

/** Reads every member's cgroup and the pod parent's, now; undefined when the pod is gone. */
export function sampleStats(rt: Runtime, pod: string): StatsSample | undefined {
  const rec = rt.store.tryRead(pod);
  if (!rec) return undefined;
  reconcile(rt, rec);
  const scope = rt.pod(rec);
  const read = (name: string, state: string, cgroup: string) => ({ name, state, cgroup, resources: rt.cgroups.readResources(cgroup) });
  return {
    atUsec: monotonicUsec(),
    members: podMembers(rec).map((m) => read(m.name, m.state, scope.containerCgroup(m.name))),
    pod: read(pod, podState(rec, sandboxAlive(rec)), scope.cgroup),
  };
}

/**
 * `stats`: a report every interval (the first after `firstMs`), each from
 * the samples at its two ends, until the signal aborts (returns 'stopped')
 * or the pod is removed (returns 'removed'). A pod that does not exist is a
 * not-found error.
 */
export async function* watchStats(
  rt: Runtime,
  pod: string,
  o: { intervalMs: number; firstMs: number; signal?: AbortSignal },
): AsyncGenerator<StatsReport, 'stopped' | 'removed'> {
  rt.store.read(pod); // not found: the usual error
  let prev = sampleStats(rt, pod);
  if (!prev) return 'removed';
  let wait = o.firstMs;
  for (;;) {
    try {
      await sleep(wait, undefined, { signal: o.signal });
    } catch {
      return 'stopped';
    }
    const next = sampleStats(rt, pod);
    if (!next) return 'removed';
    yield statsReport(pod, new Date().toISOString(), prev, next, os.totalmem());
    prev = next;
    wait = o.intervalMs;
  }
}
