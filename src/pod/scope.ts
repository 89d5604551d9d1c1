import { LEGACY_CGROUP_ROOT, type PodRecord, type ProcessIdentity } from '../model.js';
import { podPaths, type PodPaths } from '../plan/paths.js';
import { containerCgroup, podCgroup } from '../plan/pod-plan.js';
import { tryWithPodLock, withPodLock } from '../runtime/state.js';

/** What a pod scope is made from: a pod's name, or its record (whose cgroup root may be an older barepod's). */
export type PodRef = string | Pick<PodRecord, 'def' | 'cgroupRoot'>;

/**
 * One pod as the runtime sees it: where its state lives, its cgroups and
 * its lock. Making one reads and writes nothing and refuses nothing: the
 * name is validated when `paths` is first read (podPaths), the lock taken
 * only by `withLock`/`tryLock`.
 */
export interface PodScope {
  readonly name: string;
  /** its files under the state root (podPaths) */
  readonly paths: PodPaths;
  /** the top cgroup directory its cgroup parent lives under (the record's, else this state root's) */
  readonly cgroupRoot: string;
  /** the pod's cgroup parent, absolute from each hierarchy's root */
  readonly cgroup: string;
  /** a member's own cgroup, a child of the pod's */
  containerCgroup(member: string): string;
  /** runs `fn` under the pod's lock (waits for it, then reports the pod busy) */
  withLock<T>(fn: () => Promise<T>, waitMs?: number): Promise<T>;
  /** runs `fn` under the pod's lock only when it is free (or frees up within `waitMs`); else says who holds it (gc) */
  tryLock<T>(fn: () => Promise<T>, waitMs?: number): Promise<{ ran: true; value: T } | { ran: false; owner: ProcessIdentity | undefined }>;
}

/**
 * The cgroup root of a pod: with its record, the one the record names (an
 * older barepod's record: `barepod`); without, this state root's.
 */
export const cgroupRootOf = (stateCgroupRoot: string, rec?: Pick<PodRecord, 'cgroupRoot'>): string =>
  rec ? (rec.cgroupRoot ?? LEGACY_CGROUP_ROOT) : stateCgroupRoot;

/** `rt.pod` for a state root and its cgroup root: one scope per pod name and cgroup root, made on first use. */
export function podScopes(settings: { stateRoot: string; cgroupRoot: string }): (pod: PodRef) => PodScope {
  const made = new Map<string, PodScope>();
  return (pod) => {
    const name = typeof pod === 'string' ? pod : pod.def.name;
    // a record names its own: the state root's (a hash worked out on first read, see resolveSettings) is not read then
    const cgroupRoot = typeof pod === 'string' ? settings.cgroupRoot : (pod.cgroupRoot ?? LEGACY_CGROUP_ROOT);
    const key = `${cgroupRoot}\0${name}`;
    let scope = made.get(key);
    if (!scope) made.set(key, (scope = makeScope(settings.stateRoot, cgroupRoot, name)));
    return scope;
  };
}

function makeScope(stateRoot: string, cgroupRoot: string, name: string): PodScope {
  let memo: PodPaths | undefined;
  const paths = () => (memo ??= podPaths(stateRoot, name));
  const ctx = { cgroupRoot };
  return {
    name,
    cgroupRoot,
    get paths() {
      return paths();
    },
    cgroup: podCgroup(ctx, name),
    containerCgroup: (member) => containerCgroup(ctx, name, member),
    withLock: (fn, waitMs) => withPodLock(paths().lock, name, fn, waitMs),
    tryLock: (fn, waitMs) => tryWithPodLock(paths().lock, fn, waitMs),
  };
}
