import type { ContainerDefinition, PodDefinition, SharedNamespace } from '../model.js';
import { defaultSpec } from '../spec/default-spec.js';
import {
  applyOpts,
  withAnnotations,
  withArgs,
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
  type SpecOpt,
} from '../spec/options.js';
import type { LinuxSeccomp } from '../spec/seccomp.js';
import type { NamespaceType, Spec } from '../spec/types.js';

/** Host facts the planner needs; gathered by adapters, passed in so planning stays pure. */
export interface PlanContext {
  cgroupVersion: 1 | 2;
  /** top-level cgroup directory of every pod ("barepod") */
  cgroupRoot: string;
  /** the default seccomp filter, already converted for the default capabilities */
  seccomp?: LinuxSeccomp;
}

/** Reserved name of the sandbox: a leading '_' is never a valid container name, so it cannot collide. */
export const SANDBOX_NAME = '_pause';

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
export const podCgroup = (ctx: PlanContext, pod: string): string => `/${ctx.cgroupRoot}/${pod}`;

/** A member's own cgroup, a child of the pod's. */
export const containerCgroup = (ctx: PlanContext, pod: string, container: string): string =>
  `${podCgroup(ctx, pod)}/${container}`;

/** The path a container uses to join the sandbox's namespace of one type. */
export const sandboxNamespacePath = (pausePid: number, ns: SharedNamespace): string =>
  `/proc/${pausePid}/ns/${NAMESPACES[ns].proc}`;

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
    ...(['pid', 'net', 'ipc', 'uts'] as const).map((ns) => withNamespace(NAMESPACES[ns].oci)),
    withNamespace('mount'),
    ...(ctx.cgroupVersion === 2 ? [withNamespace('cgroup')] : []),
    withCgroupsPath(containerCgroup(ctx, pod.name, SANDBOX_NAME)),
    withSeccomp(ctx.seccomp),
    withAnnotations({ 'io.barepod.pod': pod.name, 'io.barepod.container': SANDBOX_NAME }),
  );
}

/** Which of the pod's shared namespaces this container joins. */
export function joinedNamespaces(pod: PodDefinition, ctr: Pick<ContainerDefinition, 'pidMode'>): SharedNamespace[] {
  return pod.share.filter((ns) => ns !== 'pid' || ctr.pidMode === 'pod');
}

/**
 * A container's spec: it joins the sandbox's shared namespaces by
 * /proc/<pausePid>/ns path, keeps its own mount namespace (and pid unless
 * shared), never sets a hostname when it joins the pod's UTS namespace, and
 * lives in its own cgroup under the pod's. `podShm` is the pod's /dev/shm
 * tmpfs, bound in when the container shares the pod's IPC namespace.
 */
export function planContainerSpec(
  pod: PodDefinition,
  ctr: ContainerDefinition,
  pausePid: number,
  ctx: PlanContext,
  rootfsPath: string,
  podShm?: string,
): Spec {
  const joined = new Set(joinedNamespaces(pod, ctr));
  // With the IPC namespace shared, /dev/shm is the pod's too (as the CRI does): one tmpfs, bound into every container.
  const shm = joined.has('ipc') && podShm ? [withMount({ destination: '/dev/shm', type: 'bind', source: podShm, options: ['rbind', 'nosuid', 'nodev', 'noexec'] })] : [];
  const namespaces = (Object.keys(NAMESPACES) as SharedNamespace[]).map((ns) =>
    withNamespace(NAMESPACES[ns].oci, joined.has(ns) ? sandboxNamespacePath(pausePid, ns) : undefined),
  );
  return applyOpts(
    defaultSpec(),
    withArgs(ctr.args),
    withEnv([`HOSTNAME=${joined.has('uts') ? pod.hostname : ctr.name}`, ...ctr.env]),
    withCwd(ctr.workdir),
    withUser(ctr.user.uid, ctr.user.gid),
    withRoot(rootfsPath, false),
    joined.has('uts') ? withoutHostname : withHostname(ctr.name),
    ...namespaces,
    withNamespace('mount'),
    ...(ctx.cgroupVersion === 2 ? [withNamespace('cgroup')] : []),
    ...shm,
    withCgroupsPath(containerCgroup(ctx, pod.name, ctr.name)),
    withMemoryLimit(ctr.limits.memoryBytes),
    withCpuLimit(ctr.limits.cpuMillis),
    withPidsLimit(ctr.limits.pids),
    withSeccomp(ctr.seccomp === 'default' ? ctx.seccomp : undefined),
    withAnnotations({ 'io.barepod.pod': pod.name, 'io.barepod.container': ctr.name }),
  );
}
