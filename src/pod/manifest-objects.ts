/**
 * The documents of a manifest that are not pods, applied by `up -f` before
 * the pods (the objects a pod uses must be there first) and removed by
 * `down -f` after them. One place per direction: `applyObjects` and
 * `downObjects`, each a switch over the object's kind, so a new kind
 * (ConfigMap, Secret) is one branch in each.
 */
import type { ManifestObject, ManifestPod } from '../manifest/pod.js';
import { claimRequest } from '../manifest/claims.js';
import { isWorkloadKind, ownerOf, workloadPodName } from '../manifest/workloads.js';
import { downPod } from './sandbox.js';
import type { Runtime } from './runtime.js';
import { claimsOf, ensureVolumeAt, removeVolume, usersOf, volumePaths } from './named-volumes.js';

export interface ObjectOutcome {
  /** `PersistentVolumeClaim/data`, `Deployment/web` */
  object: string;
  /** what happened: `created`, `configured`, `unchanged`, `removed`, `kept`, `not-found`, `scaled to 0` */
  outcome: string;
  /** the pod it concerns (a workload's) */
  pod?: string;
  /** why (a kept volume: the pods that use it) */
  detail?: string;
}

export interface ObjectOptions {
  say?: (line: string) => void;
  /** the grace period of a pod a workload scaled to 0 removes */
  graceSeconds?: number | undefined;
}

/**
 * `up -f`'s first part: a PersistentVolumeClaim's volume is made (or its
 * request recorded), a workload with replicas 0 has no pod (one it made is
 * removed, as scaling to 0 does). `pods` are the pods the file makes.
 */
export async function applyObjects(rt: Runtime, objects: ManifestObject[], pods: ManifestPod[], o: ObjectOptions = {}): Promise<ObjectOutcome[]> {
  const out: ObjectOutcome[] = [];
  for (const obj of objects) {
    const id = `${obj.kind}/${obj.name}`;
    if (obj.kind === 'PersistentVolumeClaim') {
      const claim = claimRequest(obj.source);
      const { created, changed } = await ensureVolumeAt(volumePaths(rt.settings, obj.name).dir, {
        createdBy: 'PersistentVolumeClaim',
        ...(claim ? { claim } : {}),
      });
      // kubectl apply's words; a new request is recorded, the data is never touched
      out.push({ object: id, outcome: created ? 'created' : changed ? 'configured' : 'unchanged' });
    } else if (isWorkloadKind(obj.kind)) {
      const pod = workloadPodName(obj.name);
      if (pods.some((p) => p.pod.name === pod)) continue; // replicas 1: the pod is made with the others
      const rec = rt.store.tryRead(pod);
      if (!rec) {
        out.push({ object: id, outcome: 'scaled to 0', pod });
        continue;
      }
      if (rec.def.owner !== ownerOf(obj.kind, obj.name)) {
        o.say?.(`barepod: ${id} has replicas 0, but pod "${pod}" was not made by it (${rec.def.owner ?? 'no owner'}): left as it is`);
        out.push({ object: id, outcome: 'kept', pod, detail: `pod "${pod}" is not ${id}'s` });
        continue;
      }
      await downPod(rt, pod, o.graceSeconds);
      out.push({ object: id, outcome: 'scaled to 0', pod, detail: 'its pod was removed' });
    }
    // ConfigMap, Secret: pod/config-apply.ts (applyConfigObjects, before this; downConfigObjects, after)
  }
  return out;
}

/**
 * What `down -f` removes of a file's pods: their names, the pods of its
 * workloads included; a workload with replicas 0 now still has its pod taken
 * down when it made it (its owner), never a pod of that name it did not make.
 */
export function podsOfFile(store: Pick<Runtime['store'], 'tryRead'>, objects: ManifestObject[], pods: ManifestPod[]): string[] {
  const names = pods.map((p) => p.pod.name);
  for (const obj of objects) {
    if (!isWorkloadKind(obj.kind)) continue;
    const pod = workloadPodName(obj.name);
    if (!names.includes(pod) && store.tryRead(pod)?.def.owner === ownerOf(obj.kind, obj.name)) names.push(pod);
  }
  return names;
}

/**
 * `down -f`'s last part, once the file's pods are gone: with `volumes`, the
 * data of the file's claims (its PersistentVolumeClaim documents and the
 * claims its pods mount), as `podman kube down --force`; a volume another
 * pod still uses is kept (and said). Without it, claim data is kept.
 */
export async function downObjects(
  rt: Runtime,
  objects: ManifestObject[],
  pods: ManifestPod[],
  o: ObjectOptions & { volumes?: boolean } = {},
): Promise<ObjectOutcome[]> {
  const out: ObjectOutcome[] = [];
  if (o.volumes) {
    const claims = [
      ...new Set([
        ...objects.filter((x) => x.kind === 'PersistentVolumeClaim').map((x) => x.name),
        ...pods.flatMap((p) => claimsOf(p.pod).map((v) => v.claimName)),
      ]),
    ];
    for (const name of claims) {
      const users = usersOf(rt.store, name);
      if (users.length) {
        out.push({ object: `PersistentVolumeClaim/${name}`, outcome: 'kept', detail: `used by ${users.map((p) => `pod "${p}"`).join(', ')}` });
        continue;
      }
      out.push({ object: `PersistentVolumeClaim/${name}`, outcome: await removeVolume(rt.settings, rt.store, name) });
    }
  }
  // ConfigMap, Secret: pod/config-apply.ts (downConfigObjects, called beside this by down -f)
  return out;
}
