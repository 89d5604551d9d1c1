/**
 * ConfigMaps and Secrets of manifests: `up -f` (and `--configmap FILE`)
 * stores them before any pod is made, recording which file made each, and
 * brings the volumes of running pods that show them up to date; `down -f`
 * removes the ones that file made (applyConfigObjects / downConfigObjects,
 * the two halves `up` and `down` call).
 */
import path from 'node:path';
import type { ManifestObject } from '../manifest/pod.js';
import { isConfigObject, storedForm } from '../manifest/config-objects.js';
import { explain, explaining } from '../runtime/explain.js';
import { checkImmutable, configFile, readConfig, removeConfig, writeConfig, type ConfigKind, type StoreOutcome } from './config-store.js';
import { refreshPodsUsing, type RefreshedVolume } from './config-volumes.js';
import type { Runtime } from './runtime.js';

/** Who made an object, as its record says: the manifest file's absolute path (or stdin). */
export const madeByFile = (file: string): string => (file === '-' ? 'file:(stdin)' : `file:${path.resolve(file)}`);

/** An object to store and the file it came from. */
export interface SourcedObject {
  object: ManifestObject;
  /** madeByFile(file) */
  madeBy: string;
}

/** What storing one object did. */
export interface AppliedObject {
  kind: ConfigKind;
  name: string;
  outcome: StoreOutcome;
}

/**
 * Stores the ConfigMaps and Secrets among `objects` (other kinds are left
 * to their own code): every immutable one is checked first, so a refused
 * change leaves every object as it was; then each is written, and running
 * pods whose volumes show a changed one get the new files.
 */
export async function applyConfigObjects(rt: Runtime, objects: SourcedObject[]): Promise<{ objects: AppliedObject[]; refreshed: RefreshedVolume[] }> {
  const configs = objects.filter((o) => isConfigObject(o.object));
  for (const { object } of configs) checkImmutable(rt.settings, storedForm(object));
  const applied: AppliedObject[] = configs.map(({ object, madeBy }) => {
    const kind = object.kind as ConfigKind;
    const outcome = writeConfig(rt.settings, storedForm(object), madeBy);
    if (explaining)
      explain(
        `${kind} ${object.name}: ${outcome === 'unchanged' ? 'unchanged in' : `${outcome}: written atomically, 0600, to`} ${configFile(rt.settings, kind, object.name)} (keys: ${Object.keys({ ...storedForm(object).data, ...storedForm(object).binaryData }).join(', ') || 'none'}; values not shown)`,
      );
    return { kind, name: object.name, outcome };
  });
  const refreshed = await refreshPodsUsing(
    rt,
    applied.filter((a) => a.outcome !== 'unchanged'),
  );
  return { objects: applied, refreshed };
}

/** What `down -f` did to one object. */
export interface RemovedObject {
  kind: ConfigKind;
  name: string;
  /** `kept`: stored, but another file (or a command) made it last */
  outcome: 'removed' | 'not-found' | 'kept';
}

/**
 * `down -f FILE`'s part for ConfigMaps and Secrets: removes those of
 * `objects` that this very file made (its record says so); one another file
 * or `barepod secret create` made last is kept. Pods that mount one keep
 * their files (as in Kubernetes).
 */
export function downConfigObjects(rt: Runtime, objects: ManifestObject[], madeBy: string): RemovedObject[] {
  return objects.filter(isConfigObject).map((o) => {
    const kind = o.kind as ConfigKind;
    const stored = readConfig(rt.settings, kind, o.name);
    if (!stored) return { kind, name: o.name, outcome: 'not-found' };
    if (stored.barepod?.madeBy !== madeBy) return { kind, name: o.name, outcome: 'kept' };
    return { kind, name: o.name, outcome: removeConfig(rt.settings, kind, o.name) ? 'removed' : 'not-found' };
  });
}
