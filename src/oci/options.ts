import type { LinuxSeccomp } from './seccomp.js';
import type { LinuxDevice, LinuxResources, Mount, NamespaceType, Spec } from './types.js';

/** A change to a spec; options are pure and tolerate a partial spec. */
export type SpecOpt = (spec: Spec) => Spec;

/** Folds options over a spec, in order: the one place specs are composed. */
export function applyOpts(spec: Spec, ...opts: SpecOpt[]): Spec {
  return opts.reduce((s, opt) => opt(s), spec);
}

const linux = (spec: Spec, patch: Partial<Spec['linux']>): Spec => ({ ...spec, linux: { ...spec.linux, ...patch } });
const resources = (spec: Spec, patch: Partial<LinuxResources>): Spec => linux(spec, { resources: { ...spec.linux.resources, ...patch } });
const process = (spec: Spec, patch: Partial<Spec['process']>): Spec => ({ ...spec, process: { ...spec.process, ...patch } });

/** The command line (argv) the container runs. */
export const withArgs =
  (args: string[]): SpecOpt =>
  (s) =>
    process(s, { args: [...args] });

/** Sets environment variables, replacing any of the same name. */
export const withEnv =
  (env: string[]): SpecOpt =>
  (s) => {
    const key = (e: string) => e.split('=', 1)[0];
    // the last value of a name wins, as in a shell: keep only the last occurrence of each
    const last = new Map(env.map((e, i) => [key(e), i]));
    const added = env.filter((e, i) => last.get(key(e)) === i);
    return process(s, { env: [...s.process.env.filter((e) => !last.has(key(e))), ...added] });
  };

/**
 * A terminal for the process (conmon makes the pty and passes runc
 * `--console-socket`); TERM=xterm unless set, as containerd's WithTTY does.
 */
export const withTerminal: SpecOpt = (s) =>
  process(s, { terminal: true, env: s.process.env.some((e) => e.startsWith('TERM=')) ? s.process.env : [...s.process.env, 'TERM=xterm'] });

/** The working directory of the process. */
export const withCwd =
  (cwd: string): SpecOpt =>
  (s) =>
    process(s, { cwd });

/** The uid/gid the process runs as. */
export const withUser =
  (uid: number, gid: number): SpecOpt =>
  (s) =>
    process(s, { user: { uid, gid } });

/** The root filesystem path and whether it is mounted read-only. */
export const withRoot =
  (path: string, readonly = false): SpecOpt =>
  (s) => ({ ...s, root: { path, readonly } });

/** Sets the UTS hostname: only for a spec that owns a new UTS namespace. */
export const withHostname =
  (hostname: string): SpecOpt =>
  (s) => ({ ...s, hostname });

/** Removes the hostname: a container joining the pod's UTS namespace must never set one (runc would rename the whole pod). */
export const withoutHostname: SpecOpt = (s) => {
  const { hostname: _drop, ...rest } = s;
  return rest;
};

/** Adds a namespace, or replaces the one of the same type; a path joins an existing one. */
export const withNamespace =
  (type: NamespaceType, path?: string): SpecOpt =>
  (s) =>
    linux(s, {
      namespaces: [...s.linux.namespaces.filter((n) => n.type !== type), path === undefined ? { type } : { type, path }],
    });

/** Removes a namespace type: the container uses the host's. */
export const withoutNamespace =
  (type: NamespaceType): SpecOpt =>
  (s) =>
    linux(s, { namespaces: s.linux.namespaces.filter((n) => n.type !== type) });

/** The cgroup path runc creates (absolute from the hierarchy root). */
export const withCgroupsPath =
  (cgroupsPath: string): SpecOpt =>
  (s) =>
    linux(s, { cgroupsPath });

/** A memory limit in bytes (swap capped to the same: no extra swap). */
export const withMemoryLimit =
  (bytes: number | undefined): SpecOpt =>
  (s) =>
    bytes === undefined ? s : resources(s, { memory: { ...s.linux.resources?.memory, limit: bytes, swap: bytes } });

/** A CPU limit in millicores, as a CFS quota over a 100 ms period. */
export const withCpuLimit =
  (millis: number | undefined): SpecOpt =>
  (s) =>
    millis === undefined ? s : resources(s, { cpu: { ...s.linux.resources?.cpu, quota: cpuQuota(millis), period: CPU_PERIOD } });

/**
 * A CPU request in millicores as cpu.shares (the kubelet's MilliCPUToShares);
 * runc 1.1.5 writes it as cpu.weight on cgroup v2 with the kubelet's own
 * conversion (sharesToWeight).
 */
export const withCpuRequest =
  (millis: number | undefined): SpecOpt =>
  (s) =>
    millis === undefined ? s : resources(s, { cpu: { ...s.linux.resources?.cpu, shares: milliCpuToShares(millis) } });

/** A memory request as the OCI reservation, which runc writes to memory.low on cgroup v2; on v1 nothing (its soft limit is another thing). */
export const withMemoryRequest =
  (bytes: number | undefined, cgroupVersion: 1 | 2): SpecOpt =>
  (s) =>
    bytes === undefined || cgroupVersion !== 2 ? s : resources(s, { memory: { ...s.linux.resources?.memory, reservation: bytes } });

/** A limit on the number of tasks. */
export const withPidsLimit =
  (limit: number | undefined): SpecOpt =>
  (s) =>
    limit === undefined ? s : resources(s, { pids: { limit } });

/** The seccomp filter; undefined leaves the process unconfined. */
export const withSeccomp =
  (seccomp: LinuxSeccomp | undefined): SpecOpt =>
  (s) => {
    if (seccomp) return linux(s, { seccomp });
    const { seccomp: _drop, ...rest } = s.linux;
    return { ...s, linux: rest };
  };

/** Adds a mount, replacing any at the same destination. */
export const withMount =
  (mount: Mount): SpecOpt =>
  (s) => ({ ...s, mounts: [...s.mounts.filter((m) => m.destination !== mount.destination), mount] });

/** Removes mounts by destination. */
export const withoutMounts =
  (...destinations: string[]): SpecOpt =>
  (s) => ({ ...s, mounts: s.mounts.filter((m) => !destinations.includes(m.destination)) });

/** Annotations recorded in the bundle (who made it, for which pod). */
export const withAnnotations =
  (annotations: Record<string, string>): SpecOpt =>
  (s) => ({ ...s, annotations: { ...s.annotations, ...annotations } });

/** The CFS period barepod uses for CPU limits, in microseconds. */
export const CPU_PERIOD = 100_000;

/** The kubelet's cpu.shares bounds (MinShares, MaxShares). */
export const MIN_SHARES = 2;
export const MAX_SHARES = 262_144;

/** The kubelet's MilliCPUToShares: millicores × 1024 / 1000, at least 2 (no request: 2), at most 262144. */
export function milliCpuToShares(millis: number): number {
  if (millis <= 0) return MIN_SHARES;
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, Math.floor((millis * 1024) / 1000)));
}

/** cpu.shares to cgroup v2's cpu.weight: 1 + ((shares − 2) × 9999) / 262142, integer (the kubelet's CpuSharesToCpuWeight and runc 1.1.5's conversion). */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262_142);
}

/** Millicores to a CFS quota over CPU_PERIOD (at least 1 ms, the kernel's floor). */
export function cpuQuota(millis: number): number {
  return Math.max(1000, Math.round((millis * CPU_PERIOD) / 1000));
}

/** The process's capability sets (bounding, effective, permitted), all the same list. */
export const withCapabilities =
  (caps: readonly string[]): SpecOpt =>
  (s) =>
    process(s, { capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] } });

/** Whether the process may gain privileges through execve (no_new_privs off when false). */
export const withNoNewPrivileges =
  (on: boolean): SpecOpt =>
  (s) =>
    process(s, { noNewPrivileges: on });

/** A device node runc makes in the container, with the devices cgroup access it is allowed (r, w, m). */
export interface DeviceGrant {
  device: LinuxDevice;
  access: string;
}

/**
 * Host devices: each node in linux.devices (replacing one at the same path)
 * and an allow rule for its major:minor after the default deny-all, so the
 * container may use exactly these (runc 1.1 adds no rule of its own for a
 * spec device).
 */
export const withDevices =
  (grants: readonly DeviceGrant[]): SpecOpt =>
  (s) => {
    if (grants.length === 0) return s;
    const paths = new Set(grants.map((g) => g.device.path));
    const rules = grants.map((g) => ({ allow: true, type: g.device.type, major: g.device.major, minor: g.device.minor, access: g.access }));
    return resources(linux(s, { devices: [...(s.linux.devices ?? []).filter((d) => !paths.has(d.path)), ...grants.map((g) => ({ ...g.device }))] }), {
      devices: [...(s.linux.resources?.devices ?? []), ...rules],
    });
  };

/**
 * privileged, as containerd's WithPrivileged + WithAllDevicesAllowed: every
 * device allowed by the devices cgroup, nothing masked or read-only under
 * /proc, /sys and /sys/fs/cgroup writable. The host's device nodes are
 * withDevices' (runtime/devices.ts lists them); capabilities and seccomp are
 * set where the plan sets them.
 */
export const withPrivileged: SpecOpt = (s) => {
  const writable = ['/sys', '/sys/fs/cgroup'];
  const r = resources(s, { devices: [{ allow: true, access: 'rwm' }] });
  return {
    ...r,
    mounts: s.mounts.map((m) => (writable.includes(m.destination) ? { ...m, options: (m.options ?? []).filter((o) => o !== 'ro') } : m)),
    linux: { ...r.linux, maskedPaths: [], readonlyPaths: [] },
  };
};
