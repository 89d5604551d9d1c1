/**
 * Pure shaping for the views that show a pod from the host's side (`ns`,
 * `cgroups`, `top`, `stats`): what the reading layers found goes in, the
 * documented JSON shapes come out. No I/O, so every rule is unit-tested.
 */
import { SANDBOX_NAME } from './pod-plan.js';

/** A limit as a cgroup file holds it: a number, or 'max' (unlimited: "max", v1's -1 or its page-counter maximum). */
export type CgroupLimit = number | 'max';

/** One value read from a cgroup file, with the file it came from; null when the file is absent or unreadable. */
export interface CgroupReading<T> {
  value: T | null;
  file: string | null;
}

/** The limits and current usage of one cgroup, in raw units: bytes, microseconds, tasks. */
export interface CgroupResources {
  limits: {
    memoryBytes: CgroupReading<CgroupLimit>;
    cpuQuotaUsec: CgroupReading<CgroupLimit>;
    cpuPeriodUsec: CgroupReading<number>;
    pidsMax: CgroupReading<CgroupLimit>;
  };
  usage: {
    memoryBytes: CgroupReading<number>;
    /** total CPU time of every task, ever (v1's cpuacct.usage is in ns: converted) */
    cpuUsageUsec: CgroupReading<number>;
    pids: CgroupReading<number>;
  };
}

/** How a member's namespace relates to the pod: the pause's (shared), the member's alone (own), or the host's (host). */
export type NamespaceRelation = 'shared' | 'own' | 'host';

/** A pod member's namespaces as read from /proc/<pid>/ns; pid null when it is not running. */
export interface MemberNamespaces {
  name: string;
  pid: number | null;
  inodes: Record<string, number>;
}

/** One row of `barepod ns --json`. */
export interface NamespaceRow {
  name: string;
  pid: number | null;
  namespaces: Record<string, { inode: number; relation: NamespaceRelation }>;
}

/**
 * The relation of one namespace: the host's wins (a host-network pod's
 * containers are in the host's net namespace, which is also the pause's);
 * then the pause's; else the member's own. The pause itself is the
 * reference: its namespaces are 'own' unless they are the host's.
 */
export function namespaceRelation(inode: number, pauseInode: number | undefined, hostInode: number | undefined, isPause: boolean): NamespaceRelation {
  if (inode === hostInode) return 'host';
  if (!isPause && inode === pauseInode) return 'shared';
  return 'own';
}

/** The `ns` matrix: the pause first, then each container, each namespace type with its inode and relation. */
export function namespaceMatrix(
  pause: MemberNamespaces,
  containers: MemberNamespaces[],
  types: readonly string[],
  host: Record<string, number>,
): NamespaceRow[] {
  const row = (m: MemberNamespaces, isPause: boolean): NamespaceRow => ({
    name: m.name,
    pid: m.pid,
    namespaces: Object.fromEntries(
      types
        .filter((t) => m.inodes[t] !== undefined)
        .map((t) => [t, { inode: m.inodes[t]!, relation: namespaceRelation(m.inodes[t]!, pause.inodes[t], host[t], isPause) }]),
    ),
  });
  return [row(pause, true), ...containers.map((c) => row(c, false))];
}

/** Millicores of a CFS quota over its period (50000/100000 → 500); null when unlimited or unknown. */
export function cpuMillicores(quota: CgroupLimit | null, period: number | null): number | null {
  if (quota === null || quota === 'max' || !period) return null;
  return Math.round((quota * 1000) / period);
}

/** One cgroup of a pod's tree as `barepod cgroups --json` shows it. */
export interface CgroupNode {
  name: string;
  /** the cgroup path, from each hierarchy's root */
  path: string;
  /** pod: the pod parent; sandbox: the pause's; container: a container of the record; other: anything else (e.g. a monitor leaf) */
  role: 'pod' | 'sandbox' | 'container' | 'other';
  /** the container's state for a sandbox or container node, else null */
  state: string | null;
  limits: CgroupResources['limits'] & { cpuMillicores: number | null };
  usage: CgroupResources['usage'];
  processes: { pid: number; command: string[] }[];
  children: CgroupNode[];
}

/** The order of a pod's child cgroups: the sandbox, then the containers in record order, then any other leaf by name. */
export function orderCgroupChildren(names: string[], containers: string[]): string[] {
  const rank = (n: string) => (n === SANDBOX_NAME ? -1 : containers.includes(n) ? containers.indexOf(n) : containers.length);
  return [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** A cgroup's usage at one moment, for cpu %: the cumulative CPU time and a monotonic clock, both in µs. */
export interface CpuSample {
  usageUsec: number | null;
  atUsec: number;
}

/**
 * CPU % between two samples of the same cgroup, 100 % being one CPU busy the
 * whole time (as podman and docker count). null when a sample is missing, or
 * when the usage went down (the cgroup was recreated: a restart).
 */
export function cpuPercent(prev: CpuSample | undefined, next: CpuSample): number | null {
  if (!prev || prev.usageUsec === null || next.usageUsec === null) return null;
  const wall = next.atUsec - prev.atUsec;
  const used = next.usageUsec - prev.usageUsec;
  if (wall <= 0 || used < 0) return null;
  return (used / wall) * 100;
}

/** Where an effective limit comes from: the member's own cgroup, the pod parent, or (memory) the host's RAM; null: unlimited or unknown. */
export type LimitSource = 'container' | 'pod' | 'host' | null;

/**
 * The limit that bounds a member: its own when set, else the pod's (the
 * parent bounds its children), else the fallback (the host's RAM for
 * memory; 'max' for pids).
 */
export function effectiveLimit(
  own: CgroupLimit | null,
  pod: CgroupLimit | null,
  fallback: number | null,
  ownSource: 'container' | 'pod' = 'container',
): { limit: CgroupLimit | null; from: LimitSource } {
  if (typeof own === 'number') return { limit: own, from: ownSource };
  if (typeof pod === 'number') return { limit: pod, from: 'pod' };
  if (fallback !== null) return { limit: fallback, from: 'host' };
  return { limit: own === 'max' || pod === 'max' ? 'max' : null, from: null };
}

/** One member's (or the pod's) line of `barepod stats`. */
export interface StatsRow {
  name: string;
  /** the member's state (running, exited, ...); for the pod total, the pod's (Running, SandboxDead, ...) */
  state: string;
  cgroup: string;
  cpu: { percent: number | null; usageUsec: number | null };
  memory: { usageBytes: number | null; limitBytes: CgroupLimit | null; limitFrom: LimitSource; percent: number | null };
  pids: { current: number | null; limit: CgroupLimit | null; limitFrom: LimitSource };
}

/** What the stats view reads of one cgroup at one moment. */
export interface StatsMember {
  name: string;
  state: string;
  cgroup: string;
  resources: CgroupResources;
}

/** One sample of a pod for `stats`: every member's cgroup and the pod parent, at one monotonic time. */
export interface StatsSample {
  atUsec: number;
  members: StatsMember[];
  pod: StatsMember;
}

/** One sample of `barepod stats --json`: every member and the pod total, over the window since the previous sample. */
export interface StatsReport {
  pod: string;
  time: string;
  /** the time between the two samples the cpu % comes from */
  windowMs: number;
  members: StatsRow[];
  total: StatsRow;
}

/**
 * The stats report from two samples: cpu % from the usage difference,
 * memory usage against the effective limit, pids against theirs, and the
 * pod parent's as the total. `hostMemoryBytes` bounds a pod without a
 * memory limit.
 */
export function statsReport(pod: string, time: string, prev: StatsSample | undefined, next: StatsSample, hostMemoryBytes: number): StatsReport {
  const podLimits = next.pod.resources.limits;
  const row = (m: StatsMember, isPod: boolean): StatsRow => {
    const before = isPod ? prev?.pod : prev?.members.find((p) => p.name === m.name && p.cgroup === m.cgroup);
    const u = m.resources.usage;
    const l = m.resources.limits;
    const own = isPod ? 'pod' : 'container';
    const mem = effectiveLimit(l.memoryBytes.value, isPod ? null : podLimits.memoryBytes.value, hostMemoryBytes, own);
    const pids = effectiveLimit(l.pidsMax.value, isPod ? null : podLimits.pidsMax.value, null, own);
    const sample = (s: StatsMember | undefined, at: number): CpuSample | undefined =>
      s ? { usageUsec: s.resources.usage.cpuUsageUsec.value, atUsec: at } : undefined;
    return {
      name: m.name,
      state: m.state,
      cgroup: m.cgroup,
      cpu: { percent: cpuPercent(sample(before, prev?.atUsec ?? 0), sample(m, next.atUsec)!), usageUsec: u.cpuUsageUsec.value },
      memory: {
        usageBytes: u.memoryBytes.value,
        limitBytes: mem.limit,
        limitFrom: mem.from,
        percent: u.memoryBytes.value !== null && typeof mem.limit === 'number' && mem.limit > 0 ? (u.memoryBytes.value / mem.limit) * 100 : null,
      },
      pids: { current: u.pids.value, limit: pids.limit, limitFrom: pids.from },
    };
  };
  return {
    pod,
    time,
    windowMs: prev ? Math.round((next.atUsec - prev.atUsec) / 1000) : 0,
    members: next.members.map((m) => row(m, false)),
    total: row(next.pod, true),
  };
}
