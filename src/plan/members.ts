/**
 * What each kind of pod member means to the lifecycle, one entry per kind: a
 * `Record` over MemberKind, so a new kind that does not say how it starts,
 * stops and is written in a manifest does not compile.
 */
import type { ContainerKind, MemberKind } from '../model.js';

export interface MemberKindTraits {
  /** the member in step titles */
  title: string;
  /** the manifest list its definition is written in (the sandbox is the pod's: none) */
  manifestList: 'initContainers' | 'containers' | undefined;
  /** `up` starts it one by one, in manifest order, before the app containers */
  startsBeforeApps: boolean;
  /**
   * runs to completion: `up` waits for its exit 0 before the next member
   * starts (and retries it itself), supervision never restarts it, it does not
   * count for readiness, and a pod that was complete once does not run it again
   */
  runsToCompletion: boolean;
  /** stopped after the app containers, last started first stopped */
  stopsAfterApps: boolean;
}

export const MEMBER_KINDS: Record<MemberKind, MemberKindTraits> = {
  sandbox: { title: 'Sandbox', manifestList: undefined, startsBeforeApps: true, runsToCompletion: false, stopsAfterApps: true },
  init: { title: 'Init container', manifestList: 'initContainers', startsBeforeApps: true, runsToCompletion: true, stopsAfterApps: false },
  sidecar: { title: 'Sidecar container', manifestList: 'initContainers', startsBeforeApps: true, runsToCompletion: false, stopsAfterApps: true },
  app: { title: 'Container', manifestList: 'containers', startsBeforeApps: false, runsToCompletion: false, stopsAfterApps: false },
};

/** The traits of a container's kind. */
export const memberKind = (c: { kind: ContainerKind }): MemberKindTraits => MEMBER_KINDS[c.kind];

/**
 * The order `up` starts a pod's containers in: init containers and native
 * sidecars one by one, in manifest order, then the app containers together.
 * The planner lists its steps in this order and `up` carries them out in it.
 */
export function startOrder<T extends { kind: ContainerKind }>(containers: T[]): { beforeApps: T[]; apps: T[] } {
  return { beforeApps: containers.filter((c) => memberKind(c).startsBeforeApps), apps: containers.filter((c) => !memberKind(c).startsBeforeApps) };
}

/** The annotation that names a pod's default container for `kubectl exec`, `kubectl logs` (and `barepod exec`). */
export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

/**
 * The container `exec` runs in when none is named: the one the
 * default-container annotation names, else the pod's only long-running
 * container (app or sidecar; init containers run to completion and do not
 * count). A pod with several and no annotation has no default: `name` is
 * undefined and `why` says so, as does an annotation naming no container.
 */
export function defaultContainer(
  annotations: Record<string, string> | undefined,
  containers: readonly { name: string; kind: ContainerKind }[],
): { name: string; from: 'annotation' | 'only' } | { name: undefined; why: string } {
  const named = annotations?.[DEFAULT_CONTAINER_ANNOTATION];
  if (named !== undefined) {
    if (containers.some((c) => c.name === named)) return { name: named, from: 'annotation' };
    return { name: undefined, why: `its annotation ${DEFAULT_CONTAINER_ANNOTATION} names "${named}", which is not one of its containers` };
  }
  const running = containers.filter((c) => !memberKind(c).runsToCompletion);
  if (running.length === 1) return { name: running[0]!.name, from: 'only' };
  if (running.length === 0) return { name: undefined, why: 'it has no containers' };
  return {
    name: undefined,
    why: `it has ${running.length} containers (${running.map((c) => c.name).join(', ')}) and no ${DEFAULT_CONTAINER_ANNOTATION} annotation`,
  };
}
