import { isProjectedVolume, type ContainerDefinition, type PodDefinition, type SecurityDefinition, type SharedNamespace, type VolumeMount } from '../model.js';
import { CAPABILITY_NAMES, DEFAULT_CAPABILITIES, defaultSpec } from '../oci/default-spec.js';
import {
  applyOpts,
  withAnnotations,
  withArgs,
  withCapabilities,
  withNoNewPrivileges,
  withPrivileged,
  withCgroupsPath,
  withCpuLimit,
  withCwd,
  withEnv,
  withHostname,
  withMount,
  withMemoryLimit,
  withNamespace,
  withoutHostname,
  withPidsLimit,
  withRoot,
  withSeccomp,
  withUser,
  withDevices,
  type DeviceGrant,
  withTerminal,
  type SpecOpt,
} from '../oci/options.js';
import { isDeviceMount } from './devices.js';
import { BarepodError } from '../errors.js';
import type { LinuxSeccomp } from '../oci/seccomp.js';
import { SANDBOX_NAME } from '../names.js';
import type { Mount, NamespaceType, Spec } from '../oci/types.js';

/** Host facts the planner needs; gathered by adapters, passed in so planning stays pure. */
export interface PlanContext {
  cgroupVersion: 1 | 2;
  /** top-level cgroup directory of every pod ("barepod") */
  cgroupRoot: string;
  /** the default seccomp filter, already converted for the default capabilities */
  seccomp?: LinuxSeccomp;
  /**
   * the default seccomp profile converted for another capability set (the
   * profile allows some calls only with a capability: setns, sethostname
   * with CAP_SYS_ADMIN, …), as Docker converts it for a container's own
   * capabilities; without it, `seccomp` serves every container
   */
  seccompFor?: (capabilities: readonly string[]) => LinuxSeccomp;
  /** the capabilities barepod may hand out (its own bounding set); `privileged` gets these, not more */
  hostCapabilities?: readonly string[];
}

/** Reserved name of the sandbox: a leading '_' is never a valid container name, so it cannot collide. */
export { SANDBOX_NAME };

/** Our namespace names → the OCI type and the /proc/<pid>/ns entry. A table, not an if-chain. */
export const NAMESPACES: Record<SharedNamespace, { oci: NamespaceType; proc: string }> = {
  net: { oci: 'network', proc: 'net' },
  ipc: { oci: 'ipc', proc: 'ipc' },
  uts: { oci: 'uts', proc: 'uts' },
  pid: { oci: 'pid', proc: 'pid' },
};

/** runc id of a pod member: "<pod>.<container>" (a dot never appears in a DNS-1123 label, so ids are unambiguous). */
export const runcId = (pod: string, container: string): string => `${pod}.${container}`;

/** The pod's cgroup parent, absolute from each hierarchy's root. */
export const podCgroup = (ctx: Pick<PlanContext, 'cgroupRoot'>, pod: string): string => `/${ctx.cgroupRoot}/${pod}`;

/**
 * The cgroup of a pod's monitors: its conmons (and the exit handlers they
 * run), its prober and its restart timers live here, not in the cgroup of
 * whoever ran barepod, so stopping that session (a systemd scope, a logout)
 * leaves the pod supervised. `/barepod/_conmon/<pod>`: beside the pod
 * parents, not under the pod's, so the pod's limits and usage stay its
 * containers' (an exit handler is a Node process: tens of MiB, ~10 tasks);
 * a leaf (cgroup v2 allows no process in an inner cgroup); `_` is no pod name.
 */
export const MONITORS_DIR = '_conmon';
export const monitorCgroupOf = (podCgroupPath: string): string => {
  const cut = podCgroupPath.lastIndexOf('/');
  return `${podCgroupPath.slice(0, cut)}/${MONITORS_DIR}/${podCgroupPath.slice(cut + 1)}`;
};
export const monitorCgroup = (ctx: Pick<PlanContext, 'cgroupRoot'>, pod: string): string => monitorCgroupOf(podCgroup(ctx, pod));

/** A member's own cgroup, a child of the pod's. */
export const containerCgroup = (ctx: Pick<PlanContext, 'cgroupRoot'>, pod: string, container: string): string => `${podCgroup(ctx, pod)}/${container}`;

/** The path a container uses to join the sandbox's namespace of one type. */
export const sandboxNamespacePath = (pausePid: number, ns: SharedNamespace): string => `/proc/${pausePid}/ns/${NAMESPACES[ns].proc}`;

/**
 * The pause process's spec: it creates every namespace the pod can share
 * (so pid sharing can be decided per container), its own mount namespace,
 * and it sets the pod hostname. Read-only rootfs holding only /pause; no
 * capabilities, since it does nothing but wait and reap.
 */
export function planSandboxSpec(pod: PodDefinition, ctx: PlanContext, pauseRootfs: string): Spec {
  const base = defaultSpec();
  const noCaps: SpecOpt = (s) => ({
    ...s,
    process: { ...s.process, capabilities: { bounding: [], effective: [], permitted: [] } },
  });
  return applyOpts(
    base,
    withArgs(['/pause']),
    withRoot(pauseRootfs, true),
    withHostname(pod.hostname),
    noCaps,
    // hostNetwork / hostPID / hostIPC: no namespace of that type at all (the host's)
    ...(['pid', 'net', 'ipc', 'uts'] as const).filter((ns) => !pod.host?.includes(ns)).map((ns) => withNamespace(NAMESPACES[ns].oci)),
    withNamespace('mount'),
    ...(ctx.cgroupVersion === 2 ? [withNamespace('cgroup')] : []),
    withCgroupsPath(containerCgroup(ctx, pod.name, SANDBOX_NAME)),
    withSeccomp(ctx.seccomp),
    withAnnotations({ 'io.barepod.pod': pod.name, 'io.barepod.container': SANDBOX_NAME }),
  );
}

/** Which of the pod's shared namespaces this container joins. */
export function joinedNamespaces(pod: PodDefinition, ctr: Pick<ContainerDefinition, 'pidMode'>): SharedNamespace[] {
  return pod.share.filter((ns) => (ns !== 'pid' || ctr.pidMode === 'pod') && !pod.host?.includes(ns));
}

/** Whether a container is in the pod's pid namespace: its stop then signals its whole cgroup (`runc kill --all`), never the pid namespace. */
export const inPodPidNamespace = (pod: PodDefinition, ctr: Pick<ContainerDefinition, 'pidMode'>): boolean => joinedNamespaces(pod, ctr).includes('pid');

/** The capability set of a container: the default set (every one when privileged), minus drop (ALL empties it), plus add. */
export function containerCapabilities(sec: SecurityDefinition | undefined, host: readonly string[] = CAPABILITY_NAMES): string[] {
  if (!sec) return [...DEFAULT_CAPABILITIES];
  if (sec.capAdd.includes('ALL')) return [...host];
  const beyond = sec.capAdd.filter((c) => !host.includes(c));
  if (beyond.length)
    throw new BarepodError('invalid-value', `capability ${beyond.join(', ')} cannot be added: barepod's own bounding set (CapBnd) lacks it on this host`, {
      hint: 'a container can get at most the capabilities barepod itself may hand out: drop it from --cap-add (or capabilities.add)',
    });
  const base = sec.privileged ? host : DEFAULT_CAPABILITIES;
  const kept = sec.capDrop.includes('ALL') ? [] : base.filter((c) => !sec.capDrop.includes(c));
  return [...kept, ...sec.capAdd.filter((c) => !kept.includes(c))];
}

/**
 * A volume mount as an OCI bind mount; `sources` maps each pod volume to its
 * directory on the host. A subPath mount takes `staged`: the subPath's
 * object, resolved inside the volume and bind-mounted under the pod's
 * directory (runc resolves a source on the host, so `<volume>/<subPath>`
 * would follow a symlink a container planted there out of the volume).
 */
export function volumeMount(m: VolumeMount, sources: Record<string, string>, staged?: string): Mount {
  const base = sources[m.name];
  if (base === undefined) throw new Error(`volume "${m.name}" has no source`);
  if (m.subPath && staged === undefined) throw new Error(`volume "${m.name}": subPath "${m.subPath}" was not staged`);
  return {
    destination: m.mountPath,
    type: 'bind',
    source: m.subPath ? staged! : base,
    options: ['rbind', m.readOnly ? 'ro' : 'rw', 'nosuid', 'nodev'],
  };
}

/**
 * A mount of a configMap, secret, downwardAPI or projected volume is
 * read-only whoever asked for it (a manifest, `run -v VOLUME:DIR`): only
 * barepod writes those files, and a writable mount would let a container
 * plant links where barepod writes them.
 */
const projectedReadOnly = (pod: Pick<PodDefinition, 'volumes'>, m: VolumeMount): VolumeMount =>
  !m.readOnly && (pod.volumes ?? []).some((v) => v.name === m.name && isProjectedVolume(v)) ? { ...m, readOnly: true } : m;

/** The host's POSIX shared memory directory, bound into the containers of a hostIPC pod. */
export const HOST_SHM = '/dev/shm';

/**
 * A container's spec: it joins the sandbox's shared namespaces by
 * /proc/<pausePid>/ns path, keeps its own mount namespace (and pid unless
 * shared), never sets a hostname when it joins the pod's UTS namespace, and
 * lives in its own cgroup under the pod's. `podShm` is the pod's /dev/shm
 * tmpfs, bound in when the container shares the pod's IPC namespace (the
 * host's /dev/shm in a hostIPC pod).
 * `podEtc` holds the pod's hosts, resolv.conf and hostname, bound over the
 * rootfs's (hostname only with the pod's UTS namespace): runc resolves a
 * symlinked destination inside the rootfs, so a rootfs whose /etc/hosts
 * points at a host file never reaches that file.
 */
export function planContainerSpec(
  pod: PodDefinition,
  ctr: ContainerDefinition,
  pausePid: number,
  ctx: PlanContext,
  rootfsPath: string,
  podShm?: string,
  volumeSources: Record<string, string> = {},
  podEtc?: string,
  /** per index of ctr.mounts: the staged source of a subPath mount (see volumeMount) */
  stagedSubPaths: readonly (string | undefined)[] = [],
  /**
   * the host device nodes the container gets (runtime/devices.ts reads them
   * for deviceRequests, and every one of the host's for a privileged
   * container); a hostPath device volume is one of these, never a bind mount
   */
  devices: readonly DeviceGrant[] = [],
): Spec {
  const joined = new Set(joinedNamespaces(pod, ctr));
  // With the IPC namespace shared, /dev/shm is the pod's too (as the CRI does): one tmpfs, bound into every container.
  // With the host's (hostIPC), it is the host's: POSIX shared memory lives in /dev/shm, not in the IPC namespace,
  // and containerd and Docker bind the host's in so shm_open() meets the host's objects as SysV IPC does.
  const shmSource = pod.host?.includes('ipc') ? HOST_SHM : joined.has('ipc') ? podShm : undefined;
  const shm = shmSource ? [withMount({ destination: '/dev/shm', type: 'bind', source: shmSource, options: ['rbind', 'nosuid', 'nodev', 'noexec'] })] : [];
  const etcFile = (name: string): SpecOpt =>
    withMount({ destination: `/etc/${name}`, type: 'bind', source: `${podEtc}/${name}`, options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec'] });
  const etc = podEtc ? [etcFile('hosts'), etcFile('resolv.conf'), ...(joined.has('uts') ? [etcFile('hostname')] : [])] : [];
  const namespaces = (Object.keys(NAMESPACES) as SharedNamespace[])
    .filter((ns) => !pod.host?.includes(ns))
    .map((ns) => withNamespace(NAMESPACES[ns].oci, joined.has(ns) ? sandboxNamespacePath(pausePid, ns) : undefined));
  const sec = ctr.security;
  const caps = containerCapabilities(sec, ctx.hostCapabilities);
  const defaultCaps = caps.length === DEFAULT_CAPABILITIES.length && caps.every((c) => DEFAULT_CAPABILITIES.includes(c));
  const seccomp = ctr.seccomp === 'default' && !sec?.privileged ? (defaultCaps || !ctx.seccompFor ? ctx.seccomp : ctx.seccompFor(caps)) : undefined;
  const security: SpecOpt[] = sec ? [withCapabilities(caps), withNoNewPrivileges(sec.noNewPrivileges), ...(sec.privileged ? [withPrivileged] : [])] : [];
  return applyOpts(
    defaultSpec(),
    withArgs(ctr.args),
    withEnv([`HOSTNAME=${joined.has('uts') ? pod.hostname : ctr.name}`, ...ctr.env]),
    withCwd(ctr.workdir),
    withUser(ctr.user.uid, ctr.user.gid),
    ...(ctr.tty ? [withTerminal] : []),
    withRoot(rootfsPath, sec?.readOnlyRootfs ?? false),
    joined.has('uts') || pod.host?.includes('uts') ? withoutHostname : withHostname(ctr.name),
    ...namespaces,
    withNamespace('mount'),
    ...(ctx.cgroupVersion === 2 ? [withNamespace('cgroup')] : []),
    ...shm,
    ...(ctr.mounts ?? []).flatMap((m, i) =>
      isDeviceMount(pod, m) ? [] : [withMount(volumeMount(projectedReadOnly(pod, m), volumeSources, stagedSubPaths[i]))],
    ),
    withDevices(devices),
    ...security,
    ...etc,
    withCgroupsPath(containerCgroup(ctx, pod.name, ctr.name)),
    withMemoryLimit(ctr.limits.memoryBytes),
    withCpuLimit(ctr.limits.cpuMillis),
    withPidsLimit(ctr.limits.pids),
    withSeccomp(seccomp),
    withAnnotations({ 'io.barepod.pod': pod.name, 'io.barepod.container': ctr.name }),
  );
}
