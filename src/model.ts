/**
 * The pod model: plain data, grouped by concern. A definition is what the
 * user asked for (kept so a container can be planned again on start); a
 * record adds what barepod observed while running it.
 */

/** Namespaces a pod can share between its containers, as podman's --share names them. */
export type SharedNamespace = 'net' | 'ipc' | 'uts' | 'pid';
export const SHAREABLE: readonly SharedNamespace[] = ['net', 'ipc', 'uts', 'pid'];
/** Kubernetes' default: net, ipc and uts shared; pid only with shareProcessNamespace. */
export const DEFAULT_SHARE: readonly SharedNamespace[] = ['net', 'ipc', 'uts'];

/** Resource limits; each is optional and unset means unlimited. */
export interface Limits {
  memoryBytes?: number;
  cpuMillis?: number;
  pids?: number;
}

export interface PodDefinition {
  name: string;
  hostname: string;
  share: SharedNamespace[];
  /** limits on the pod cgroup parent: the hierarchical ceiling of every container */
  limits: Limits;
}

export interface ContainerDefinition {
  name: string;
  /** built-in image name, or null when `rootfs` is a user directory */
  image: string | null;
  /** a prepared root filesystem directory used as-is (runc --rootfs style) */
  rootfs: string | null;
  args: string[];
  env: string[];
  workdir: string;
  user: { uid: number; gid: number };
  limits: Limits;
  /** 'pod' joins the pod's pid namespace when the pod shares it; 'private' opts out */
  pidMode: 'pod' | 'private';
  seccomp: 'default' | 'unconfined';
}

/** Identity of a process, so a reused pid is never mistaken for it. */
export interface ProcessIdentity {
  pid: number;
  /** field 22 of /proc/<pid>/stat: clock ticks after boot */
  startTime: string;
}

export interface SandboxRecord extends ProcessIdentity {
  id: string;
  /** inode of each /proc/<pid>/ns/<type> of the pause process when it started */
  namespaces: Record<string, number>;
  /** the conmon monitoring the pause */
  conmon?: ProcessIdentity;
  startedAt: string;
}

export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';

export interface ContainerRecord {
  def: ContainerDefinition;
  id: string;
  state: ContainerState;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  process?: ProcessIdentity;
  conmon?: ProcessIdentity;
  restarts: number;
}

export interface PodRecord {
  version: 1;
  def: PodDefinition;
  createdAt: string;
  cgroupVersion: 1 | 2;
  sandbox: SandboxRecord;
  containers: ContainerRecord[];
}
