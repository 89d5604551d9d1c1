/**
 * The pod model: plain data, grouped by concern. A definition is what the
 * user asked for (kept so a container can be planned again on start); a
 * record adds what barepod observed while running it.
 */

/** A container's restart policy, as Kubernetes spells it (the decisions are in plan/restart.ts). */
export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';
export const RESTART_POLICIES: readonly RestartPolicy[] = ['Always', 'OnFailure', 'Never'];

export interface BackoffConfig {
  /** delay before the first restart of a crash loop */
  initialMs: number;
  /** cap of the doubling delay */
  maxMs: number;
  /** a container that ran at least this long starts a new loop at the initial delay */
  resetMs: number;
}

/** The kubelet's values. */
export const DEFAULT_BACKOFF: BackoffConfig = { initialMs: 10_000, maxMs: 300_000, resetMs: 600_000 };

/**
 * Reason of a terminated container, as `kubectl get pod` shows it; plus
 * Exited: a non-zero exit that a user's `barepod stop` caused (its signal),
 * which is no error of the container's.
 */
export type ExitReason = 'Completed' | 'Error' | 'OOMKilled' | 'Exited';

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

/**
 * A pod volume, one member per kind of source (the `kind` is the manifest's
 * key). A new kind is one member here, one entry in each handler table
 * (plan/volume-kinds.ts: source, words, manifest form; pod/volumes.ts:
 * preparation) and one parser branch (manifest/pod.ts): the compiler finds
 * every table that misses it.
 */
export type VolumeDefinition = EmptyDirVolume | HostPathVolume | ClaimVolume | ConfigMapVolume | SecretVolume | DownwardAPIVolume | ProjectedVolume;
/** emptyDir: one directory per pod, removed with it (a size-capped tmpfs for medium Memory). */
export interface EmptyDirVolume {
  kind: 'emptyDir';
  name: string;
  medium: '' | 'Memory';
  sizeLimitBytes?: number;
}
/** hostPath: a host path used in place, checked by its type, never removed. */
export interface HostPathVolume {
  kind: 'hostPath';
  name: string;
  path: string;
  type: HostPathType;
}
/** A key of a ConfigMap or Secret projected to a file (`items[]`): path relative to the volume, mode of its own or the volume's defaultMode. */
export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}
/** One file of a downwardAPI volume: a field of the pod, or a resource of a container. */
export interface DownwardAPIFile {
  path: string;
  mode?: number;
  /** metadata.name, metadata.namespace, metadata.uid, metadata.labels, metadata.annotations */
  fieldRef?: { fieldPath: string };
  /** limits.cpu|memory, requests.cpu|memory of a container, in units of `divisor` (rounded up) */
  resourceFieldRef?: { containerName: string; resource: string; divisor?: string };
}
/**
 * What one source of a projected volume (or a configMap, secret or
 * downwardAPI volume, each one source) puts into it.
 */
export type Projection =
  | { kind: 'configMap'; name: string; items?: KeyToPath[]; optional: boolean }
  | { kind: 'secret'; name: string; items?: KeyToPath[]; optional: boolean }
  | { kind: 'downwardAPI'; items: DownwardAPIFile[] };
/**
 * The volumes whose files barepod writes from ConfigMaps, Secrets and the
 * pod itself: a directory per pod, its files swapped atomically (Kubernetes'
 * `..data` symlink), mounted read-only, updated while the pod runs.
 */
interface ProjectedFiles {
  name: string;
  /** mode of each file without its own (Kubernetes' default 0644) */
  defaultMode: number;
  sources: Projection[];
}
export interface ConfigMapVolume extends ProjectedFiles {
  kind: 'configMap';
}
export interface SecretVolume extends ProjectedFiles {
  kind: 'secret';
}
export interface DownwardAPIVolume extends ProjectedFiles {
  kind: 'downwardAPI';
}
export interface ProjectedVolume extends ProjectedFiles {
  kind: 'projected';
}
/** The kinds of volume whose files barepod writes (read-only in every container). */
export const PROJECTED_KINDS: readonly VolumeKind[] = ['configMap', 'secret', 'downwardAPI', 'projected'];
export const isProjectedVolume = (v: VolumeDefinition): v is ConfigMapVolume | SecretVolume | DownwardAPIVolume | ProjectedVolume =>
  PROJECTED_KINDS.includes(v.kind);
/**
 * persistentVolumeClaim: a named local volume that outlives the pod
 * (`<dataDir>/volumes/<claimName>/_data`, pod/named-volumes.ts), made on
 * first use, kept by `down`, removed by `volume rm` or `down --volumes`.
 */
export interface ClaimVolume {
  kind: 'persistentVolumeClaim';
  name: string;
  claimName: string;
  readOnly: boolean;
  /** the volume's data directory on the host: '' as parsed, filled in by `up` (bindClaims) before the pod is made */
  path: string;
}
export type VolumeKind = VolumeDefinition['kind'];
/** The volume member of one kind. */
export type VolumeOf<K extends VolumeKind> = Extract<VolumeDefinition, { kind: K }>;

/** The kinds of the ConfigMap/Secret store (pod/config-store.ts). */
export type ConfigKind = 'ConfigMap' | 'Secret';

/** A stored object as its file holds it. */
export interface StoredConfig {
  apiVersion: 'v1';
  kind: ConfigKind;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  /** ConfigMap: text values; Secret: base64 values */
  data?: Record<string, string>;
  /** ConfigMap only: base64 values */
  binaryData?: Record<string, string>;
  type?: string;
  immutable?: boolean;
  /** barepod's own bookkeeping (not Kubernetes'): who made the object and when */
  barepod?: ConfigOrigin;
}

/** Who made a stored object: `up -f FILE` (the file's absolute path, or `(stdin)`), `--configmap FILE`, or a command. */
export interface ConfigOrigin {
  /** `file:<absolute path>`, `file:(stdin)` or `cli` (secret create) */
  madeBy: string;
  createdAt: string;
  updatedAt: string;
}

/** Kubernetes' hostPath types: what must be at the path (the empty type checks nothing). */
export type HostPathType = '' | 'DirectoryOrCreate' | 'Directory' | 'FileOrCreate' | 'File' | 'Socket' | 'CharDevice' | 'BlockDevice';

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly: boolean;
  subPath?: string;
}

/** A container's securityContext, as it maps onto the OCI process. */
export interface SecurityDefinition {
  capAdd: string[];
  capDrop: string[];
  /** every capability, no seccomp filter, the host's devices */
  privileged: boolean;
  readOnlyRootfs: boolean;
  /** allowPrivilegeEscalation (default true in Kubernetes, no_new_privs off); barepod's CLI default keeps no_new_privs on */
  noNewPrivileges: boolean;
}

/** A host device asked for by `run --device`: made in the container at containerPath, allowed with access (r, w, m). */
export interface DeviceRequest {
  /** the host's device node (resolved at every start: its numbers may change after a reboot) */
  hostPath: string;
  /** where the node is made, below the container's /dev */
  containerPath: string;
  /** the devices cgroup access: a combination of r, w and m */
  access: string;
}

/** A Kubernetes probe: one handler, and its timing. */
export interface ProbeDefinition {
  exec?: { command: string[] };
  tcpSocket?: { port: number; host?: string };
  httpGet?: { port: number; path: string; host?: string; headers?: Record<string, string> };
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

export interface ContainerProbes {
  liveness?: ProbeDefinition;
  readiness?: ProbeDefinition;
  startup?: ProbeDefinition;
}

export interface ContainerPort {
  containerPort: number;
  protocol: 'TCP' | 'UDP';
  hostPort?: number;
  hostIP?: string;
  name?: string;
}

/** An extra /etc/hosts line (Kubernetes hostAliases). */
export interface HostAlias {
  ip: string;
  hostnames: string[];
}

/** One host port forwarded to the pod (Kubernetes ports[].hostPort/hostIP/protocol). */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
  /** '' binds every host address */
  hostIP: string;
}

/**
 * The pod's network, one member per mode: `none` a private netns with only
 * `lo`; `host` the host's netns (always with `host` holding 'net':
 * hostNetwork); `cni` a CNI network of /etc/barepod/net.d ("barepod" by
 * default). A new mode is one member here, one entry in the handler tables
 * (plan/network.ts NETWORK_MODES) and one parser branch.
 */
export type NetworkDefinition = NoNetwork | HostNetwork | CniNetwork;
export interface NoNetwork {
  kind: 'none';
}
export interface HostNetwork {
  kind: 'host';
}
export interface CniNetwork {
  kind: 'cni';
  /** the conflist's name */
  name: string;
  /** host ports forwarded through the portmap plugin (CLI -p, or the containers' ports[].hostPort) */
  ports: PortMapping[];
}
export type NetworkKind = NetworkDefinition['kind'];

/** The name a user gives a network: `none`, `host`, or the CNI network's. */
export const networkName = (n: NetworkDefinition): string => (n.kind === 'cni' ? n.name : n.kind);
/** The host ports forwarded to the pod: only a CNI network has any. */
export const hostPortsOf = (n: NetworkDefinition): PortMapping[] => (n.kind === 'cni' ? n.ports : []);

/** The network of CLI pods unless --network says otherwise. */
export const DEFAULT_NETWORK = 'barepod';
/** A private network namespace with only loopback: what a record written before networking had. */
export const NO_NETWORK: NetworkDefinition = { kind: 'none' };

export interface PodDefinition {
  name: string;
  hostname: string;
  network: NetworkDefinition;
  share: SharedNamespace[];
  /** limits on the pod cgroup parent: the hierarchical ceiling of every container */
  limits: Limits;
  /** the pod's restart policy (Kubernetes restartPolicy): the default of each container, and what a sandbox death does */
  restartPolicy: RestartPolicy;
  backoff: BackoffConfig;
  /** SIGTERM-to-SIGKILL grace period of stops and pod removal (terminationGracePeriodSeconds) */
  graceSeconds: number;
  /** cap of each container's log file, in bytes */
  logSizeMax: number;
  /** namespaces taken from the host (hostNetwork, hostPID, hostIPC): neither the pause nor any container gets its own */
  host?: SharedNamespace[];
  volumes?: VolumeDefinition[];
  /** mounts every container run into the pod later gets (`pod create -v NAME:CTRDIR`, as podman's pod volumes); copied into each container's own mounts */
  podMounts?: VolumeMount[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  hostAliases?: HostAlias[];
  /** the workload a manifest's pod comes from, as `Kind/name` (`Deployment/web`); none for a bare Pod */
  owner?: string;
}

/**
 * The members of a pod: the sandbox (the pause), init containers (run to
 * completion, in order, before the rest), native sidecars (init containers
 * with restartPolicy Always: started in order before the app containers,
 * keep running, stopped after them) and app containers.
 */
export type MemberKind = 'sandbox' | 'init' | 'sidecar' | 'app';
/** The kinds a container definition can have (the sandbox has none: it is the pod's). */
export type ContainerKind = Exclude<MemberKind, 'sandbox'>;

export interface ContainerDefinition {
  name: string;
  /** init, sidecar or app */
  kind: ContainerKind;
  /** built-in image name, or null when `rootfs` is a user directory */
  image: string | null;
  /** a prepared root filesystem directory used as-is (runc --rootfs style) */
  rootfs: string | null;
  /** manifest digest of a stored image: every launch uses this exact image, even after its tag was pulled anew */
  imageId?: string;
  args: string[];
  env: string[];
  workdir: string;
  user: { uid: number; gid: number };
  /** a user given by name (USER[:GROUP], the image's or --user's): resolved through the rootfs's own /etc/passwd at each launch, replacing `user` */
  userName?: string;
  /** the user name is the image config's USER (not --user): errors name the image config */
  userFromImage?: boolean;
  limits: Limits;
  /** 'pod' joins the pod's pid namespace when the pod shares it; 'private' opts out */
  pidMode: 'pod' | 'private';
  seccomp: 'default' | 'unconfined';
  /** overrides the pod's restart policy for this container */
  restartPolicy?: RestartPolicy;
  mounts?: VolumeMount[];
  /** host devices (`run --device`); a manifest's hostPath devices are its volume mounts */
  devices?: DeviceRequest[];
  /** the pod volumes `run` made for this container's -v HOSTDIR, --mount and --tmpfs: removed with it (`barepod rm`) when no other container mounts them */
  ownVolumes?: string[];
  security?: SecurityDefinition;
  ports?: ContainerPort[];
  /** a terminal for the process: conmon holds its pty (`--terminal`), `barepod attach` reaches it */
  tty?: boolean;
  /** the process reads what `barepod attach` sends (conmon `--stdin`); without it, /dev/null (or the tty, with nothing written) */
  stdin?: boolean;
  /** stdin closes when the first attached client leaves (Kubernetes stdinOnce); otherwise it stays open across attaches */
  stdinOnce?: boolean;
  probes?: ContainerProbes;
  /** a manifest's imagePullPolicy (`up` pulls by it) */
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** env taken from ConfigMaps, Secrets and the pod itself (envFrom, env[].valueFrom): resolved at every start, on top of `env` */
  envRefs?: EnvRefs;
}

/** One key of a ConfigMap or Secret (configMapKeyRef, secretKeyRef). */
export interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}

/** An env[].valueFrom, as Kubernetes writes it (exactly one source). */
export interface EnvVarSource {
  configMapKeyRef?: KeyRef;
  secretKeyRef?: KeyRef;
  fieldRef?: { fieldPath: string };
  resourceFieldRef?: { containerName?: string; resource: string; divisor?: string };
}

/** An envFrom[] item, as Kubernetes writes it (exactly one of configMapRef, secretRef). */
export interface EnvFromSource {
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
  prefix?: string;
}

/**
 * A container's env references, applied at every start as the kubelet does:
 * every envFrom in order, then the container's env `entries` in order (a
 * literal value has its `$(VAR)` references expanded against what is set
 * before it), later wins; all of it over the image's env. `command` and
 * `args` are the manifest's, when they hold a `$(VAR)` to expand with that env.
 */
export interface EnvRefs {
  from?: EnvFromSource[];
  /** the container's own env, in order */
  entries?: EnvEntry[];
  /** the manifest's command, to expand at start (only when it holds a `$`) */
  command?: string[];
  /** the manifest's args, to expand at start (only when it holds a `$`) */
  args?: string[];
}

/** One env[] entry: a literal value, or a valueFrom. */
export interface EnvEntry {
  name: string;
  value?: string;
  valueFrom?: EnvVarSource;
  /** resourceFieldRef: the container's limit or request (millicores for cpu, bytes for memory) from its manifest; absent: the node's allocatable */
  amount?: number;
}

/** Identity of a process, so a reused pid is never mistaken for it. */
export interface ProcessIdentity {
  pid: number;
  /** field 22 of /proc/<pid>/stat: clock ticks after boot */
  startTime: string;
}

/** What CNI ADD gave the pod; kept so DEL gets exactly the config and result ADD had. */
export interface NetworkAttachment {
  network: string;
  /** CNI_CONTAINERID: unique per state root and pod, so reservations of other roots are never touched */
  containerId: string;
  ifname: string;
  /** the pinned netns (a bind mount of the pause's), CNI_NETNS */
  netns: string;
  /** inode of that netns */
  netnsInode: number;
  ip?: string;
  /** with its prefix length */
  cidr?: string;
  gateway?: string;
  /** host end of the veth */
  hostVeth?: string;
  /** MAC of the pod's interface: the one of the pod's first ADD, asked for again by every later ADD (a recreated sandbox) */
  mac?: string;
  ports: PortMapping[];
}

export interface SandboxRecord extends ProcessIdentity {
  id: string;
  /** inode of each /proc/<pid>/ns/<type> of the pause process when it started */
  namespaces: Record<string, number>;
  /** the conmon monitoring the pause */
  conmon?: ProcessIdentity;
  startedAt: string;
  /** names this launch in conmon's exit command, so a late exit of an old instance is recognised */
  launchId?: string;
  /** the CNI attachment of this sandbox (a CNI network only) */
  network?: NetworkAttachment;
}

/** `waiting`: recorded, but no instance could be made (its ConfigMap or Secret is missing: `waiting` says why) */
export type ContainerState = 'created' | 'running' | 'exited' | 'unknown' | 'waiting';

/** Why a container is `waiting` (Kubernetes' state.waiting): its reason and message. */
export interface Waiting {
  reason: 'CreateContainerConfigError';
  message: string;
}

/** How a container's previous instance ended (Kubernetes lastState.terminated). */
export interface Termination {
  exitCode: number | null;
  reason: ExitReason;
  startedAt?: string;
  finishedAt: string;
}

/** A restart waiting out its crash-loop delay (CrashLoopBackOff). */
export interface PendingRestart {
  /** when the restart fires */
  until: string;
  delayMs: number;
  /** the delayed `_restart` call carries it; a cancelled or superseded wait no longer matches */
  token: string;
  /** the `sleep` process that fires it */
  sleeper?: ProcessIdentity;
}

export interface ContainerRecord {
  def: ContainerDefinition;
  id: string;
  state: ContainerState;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  reason?: ExitReason;
  /** why the state is what it is when the exit code alone does not say (Kubernetes' terminated.message): e.g. an exit code conmon could not record */
  message?: string;
  process?: ProcessIdentity;
  conmon?: ProcessIdentity;
  restarts: number;
  /** what the user last asked for: a user's stop keeps a container down whatever its restart policy */
  desired?: 'running' | 'stopped';
  launchId?: string;
  /** restarts of the current crash loop, for the backoff delay */
  crashLoop?: number;
  backoff?: PendingRestart;
  lastTermination?: Termination;
  /** state `waiting`: why (Kubernetes' waiting.reason and message) */
  waiting?: Waiting;
}

/**
 * Creating while `up` makes the pod (until every container of its manifest
 * is recorded; `creator` names that `up`); Running; Failed when the sandbox
 * died and the policy does not recreate it; Removing while `pod rm` runs (gc
 * finishes it).
 */
export type PodPhase = 'Creating' | 'Running' | 'Failed' | 'Removing';

/** A pod whose sandbox and containers are looked after (restarts, probes): Running, or still Creating. */
export const isActive = (rec: { phase?: PodPhase }): boolean => rec.phase === undefined || rec.phase === 'Running' || rec.phase === 'Creating';

/**
 * The record format: 2 holds kinds as unions (volumes, network, container
 * kind); 1 (an older barepod's) is converted on read (runtime/record-version.ts).
 */
export const RECORD_VERSION = 2;

export interface PodRecord {
  version: typeof RECORD_VERSION;
  def: PodDefinition;
  createdAt: string;
  cgroupVersion: 1 | 2;
  sandbox: SandboxRecord;
  containers: ContainerRecord[];
  phase?: PodPhase;
  /** the `up` making the pod while it is Creating: gc removes the pod when this process is gone */
  creator?: ProcessIdentity;
  /** times the sandbox was recreated after it died */
  sandboxRestarts?: number;
  /** why the pod is Failed */
  message?: string;
  /** the pod's prober (only when a container has probes), running in the pod's network namespace */
  prober?: ProcessIdentity;
  /** the manifest `up` made the pod from: its canonical text and what the user wrote */
  manifest?: { hash: string; source: unknown };
  /**
   * the top cgroup directory the pod's parent was made under (`barepod` for
   * the default state root, `barepod-<hash of the root>` for any other);
   * absent in records of an older barepod, whose pods all live under `barepod`
   */
  cgroupRoot?: string;
}

/** Where the pods of a record without `cgroupRoot` (an older barepod's) have their cgroups. */
export const LEGACY_CGROUP_ROOT = 'barepod';

/** Kubernetes' default terminationGracePeriodSeconds. */
export const DEFAULT_GRACE_SECONDS = 30;
/** Default cap of one container's log file (10 MiB, as CRI-O's). */
export const DEFAULT_LOG_SIZE_MAX = 10 * 1024 * 1024;

/** Pod settings a definition may omit (a record written by an older barepod): podman's "no restart" for CLI pods. */
export const POD_DEFAULTS = {
  restartPolicy: 'Never' as RestartPolicy,
  backoff: DEFAULT_BACKOFF,
  graceSeconds: DEFAULT_GRACE_SECONDS,
  logSizeMax: DEFAULT_LOG_SIZE_MAX,
  network: NO_NETWORK,
};

/** The restart policy a container runs under: its own, else the pod's. */
export const restartPolicyOf = (pod: PodDefinition, c: ContainerDefinition): RestartPolicy => c.restartPolicy ?? pod.restartPolicy;

/** The `default` of a switch over a kind: the compiler flags the switch when a kind has no case (`x` is then not `never`). */
export function unreachable(x: never): never {
  throw new Error(`unhandled kind: ${JSON.stringify(x)}`);
}
