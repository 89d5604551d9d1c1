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
