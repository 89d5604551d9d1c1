/**
 * A pod record as the unit tests need one: a pod's definition and its
 * containers' definitions, nothing started (what export and the views read).
 */
import type { ContainerDefinition, PodDefinition, PodRecord } from '../../src/model.js';

/** The record of `def` with `containers`, as made but never started. */
export function recordOf(def: PodDefinition, containers: ContainerDefinition[]): PodRecord {
  return { version: 2, def, createdAt: '', cgroupVersion: 1, sandbox: {}, containers: containers.map((c) => ({ def: c })) } as unknown as PodRecord;
}
