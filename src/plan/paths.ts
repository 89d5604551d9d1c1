import { createHash } from 'node:crypto';
import path from 'node:path';
import { validateMemberName, validateName } from '../names.js';

/** The default state root: its pods keep the readable cgroup paths `/barepod/<pod>`. */
export const DEFAULT_STATE_ROOT = '/run/barepod';

/** 8 hex digits naming a state root (sha256 of its path): in CNI container ids and per-root cgroup dirs. */
export const rootHash = (stateRoot: string): string => createHash('sha256').update(stateRoot).digest('hex').slice(0, 8);

/**
 * The top cgroup directory of a state root's pods, from the root's real
 * path: `barepod` for the default root, `barepod-<8 hex>` for any other, so
 * two roots with a pod of the same name never share a cgroup.
 */
export const cgroupRootFor = (realStateRoot: string): string => (realStateRoot === DEFAULT_STATE_ROOT ? 'barepod' : `barepod-${rootHash(realStateRoot)}`);

/** Where a pod's state lives under the state root; pure, so tests and the planner agree. */
export interface PodPaths {
  dir: string;
  record: string;
  /** outside the pod dir, so removing the pod never races a waiter re-creating it */
  lock: string;
  /** conmon writes one exit file per container id here */
  exits: string;
  containers: string;
  /** the pod's /dev/shm: a tmpfs every container sharing IPC binds in */
  shm: string;
  /** one directory per emptyDir volume */
  volumes: string;
  /** the pinned netns: a bind mount of the pause's, so CNI DEL works after the pause is gone */
  netns: string;
  /** the CNI attachment (config, container id, result), written before ADD so a crash mid-ADD can still be undone */
  network: string;
  /** the pod's hosts, resolv.conf and hostname, bind-mounted into every container */
  etc: string;
  /** `<container>/<mount index>`: each subPath's resolved object, bind-mounted here and handed to runc (never a path a container can swap) */
  subpaths: string;
  /** an empty file marking the pod Removing when its record could not be written (a full disk) */
  removing: string;
}

export interface ContainerPaths {
  /** the OCI bundle directory (config.json; conmon adds its ctl/winsz fifos) */
  bundle: string;
  config: string;
  /** mount point of the container's root filesystem (an overlay for images) */
  rootfs: string;
  upper: string;
  work: string;
  log: string;
  pidFile: string;
  conmonPidFile: string;
  /** conmon creates it when the container's cgroup saw an OOM kill */
  oom: string;
  /** present while barepod itself stops the member: its exit command then skips the restart handler */
  stopping: string;
  /** conmon's attach socket (SOCK_SEQPACKET, made with --full-attach; gone when conmon ends) */
  attach: string;
  /** conmon's control fifo: `1 ROWS COLS` resizes the container's terminal */
  ctl: string;
}

/** Directory under the state root that holds every pod. */
export const podsDir = (stateRoot: string): string => path.join(stateRoot, 'pods');

/** One lock file per pod. */
export const locksDir = (stateRoot: string): string => path.join(stateRoot, 'locks');

/** The event log of every pod under a state root (JSON lines). */
export const eventsFile = (stateRoot: string): string => path.join(stateRoot, 'events.jsonl');

/** runc's own state directory (always passed as `runc --root`). */
export const runcRoot = (stateRoot: string): string => path.join(stateRoot, 'runc');

/**
 * podPaths made so far in this process (state root and pod → its paths, frozen): `ps` and `gc` ask for a
 * pod's paths several times each (12 joins and a name check), for every pod. Only valid names get here.
 */
const podPathsMade = new Map<string, PodPaths>();

/** Drops the podPaths made so far (a start-up snapshot's warm-up, src/cli/warm.ts: its throwaway state root's). */
export function forgetPodPaths(): void {
  podPathsMade.clear();
}

/**
 * The one way from a pod name to a path: a name that is not a DNS-1123 label
 * (`../../etc`, `a/b`) is refused here, so no command (read, remove or
 * hidden handler) can reach outside the state root with it.
 */
export function podPaths(stateRoot: string, pod: string): PodPaths {
  const key = `${stateRoot}\0${pod}`;
  const known = podPathsMade.get(key);
  if (known) return known;
  validateName('pod', pod);
  const dir = path.join(podsDir(stateRoot), pod);
  const made = Object.freeze({
    dir,
    record: path.join(dir, 'pod.json'),
    lock: path.join(locksDir(stateRoot), pod),
    exits: path.join(dir, 'exits'),
    containers: path.join(dir, 'containers'),
    shm: path.join(dir, 'shm'),
    volumes: path.join(dir, 'volumes'),
    netns: path.join(dir, 'netns'),
    network: path.join(dir, 'network.json'),
    etc: path.join(dir, 'etc'),
    subpaths: path.join(dir, 'subpaths'),
    removing: path.join(dir, 'removing'),
  });
  podPathsMade.set(key, made);
  return made;
}

/** Paths of one container (or of the sandbox, under its reserved name). */
export function containerPaths(stateRoot: string, pod: string, name: string): ContainerPaths {
  validateMemberName(name);
  const bundle = path.join(podPaths(stateRoot, pod).containers, name);
  return {
    bundle,
    config: path.join(bundle, 'config.json'),
    rootfs: path.join(bundle, 'rootfs'),
    upper: path.join(bundle, 'upper'),
    work: path.join(bundle, 'work'),
    log: path.join(bundle, 'ctr.log'),
    pidFile: path.join(bundle, 'pid'),
    conmonPidFile: path.join(bundle, 'conmon.pid'),
    oom: path.join(bundle, 'oom'),
    stopping: path.join(bundle, 'stopping'),
    attach: path.join(bundle, 'attach'),
    ctl: path.join(bundle, 'ctl'),
  };
}

/** The staging directory of one container's subPath mounts: one entry per mount index. */
export const subPathStaging = (stateRoot: string, pod: string, container: string): string =>
  path.join(podPaths(stateRoot, pod).subpaths, validateMemberName(container));
