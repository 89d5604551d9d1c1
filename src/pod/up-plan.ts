/**
 * `up` as plan, then apply (the kubelet's computePodActions, then SyncPod):
 * planUp returns the steps of `up` as data — the pulls, then for each pod
 * the checks, its directory and cgroup, the sandbox, the network, the init
 * containers and sidecars one by one, the app containers, the prober — and
 * reads the host without changing it. `up --dry-run` prints the plan;
 * applyUp carries it out, narrating each step under the very title planned.
 */
import fs from 'node:fs';
import { wrap } from '../errors.js';
import type { ContainerDefinition, ContainerKind } from '../model.js';
import type { ManifestPod } from '../manifest/pod.js';
import { candidateNames, isLocalName, shouldPull } from '../plan/image-ref.js';
import { memberKind, startOrder } from '../plan/members.js';
import { checkTitle, containerTitle, imageTitle, networkTitle, podTitle, proberTitle, sandboxTitle } from '../plan/narration.js';
import { isCniNetwork, parseConflist } from '../plan/network.js';
import { joinedNamespaces, planSandboxSpec } from '../plan/pod-plan.js';
import { netConfDir } from '../runtime/cni/conflist-store.js';
import { ImageStore, type Progress } from '../runtime/image-store.js';
import { BUSYBOX_NAMES, busyboxRootfs, pauseRootfs } from '../runtime/images.js';
import type { CopyOptions } from '../runtime/skopeo.js';
import { ensureImage, type PullPolicy } from './images.js';
import type { Runtime } from './runtime.js';
import { upPod, waitingError, type UpOptions, type UpOutcome } from './up.js';

/** Make an image ready by its pull policy (the built-in busybox is never pulled). */
export interface PullStep {
  kind: 'pull';
  image: string;
  policy: PullPolicy;
  /** the first container that wants it, for errors */
  where: string;
  title: string;
}

/** A step of making one pod. */
export type PodStep = { kind: 'check' | 'pod' | 'sandbox' | 'network' | 'probes'; title: string } | { kind: ContainerKind; container: string; title: string };

export type UpStep = PullStep | PodStep;

/** One pod's part of the plan: the pulls it is the first to need, then its own steps. */
export interface PodPlan {
  manifest: ManifestPod;
  pulls: PullStep[];
  steps: PodStep[];
}

/**
 * Kubernetes' imagePullPolicy as `ensureImage`'s: Always for :latest (or no
 * tag) unless set, else IfNotPresent. (ensureImage never pulls a local
 * `localhost/…` name, whatever its policy.)
 */
export function pullPolicyOf(image: string, policy: ContainerDefinition['imagePullPolicy']): PullPolicy {
  const p = policy ?? (/:[^/]+$/.test(image.replace(/@.*$/, '')) && !image.endsWith(':latest') ? 'IfNotPresent' : 'Always');
  return p === 'Always' ? 'always' : p === 'Never' ? 'never' : 'missing';
}

/** The plugin types of a pod's network from its conflist, read only, for the step title. */
function pluginsOf(network: string): string[] | undefined {
  const file = `${netConfDir()}/${network}.conflist`;
  if (!isCniNetwork(network) || !fs.existsSync(file)) return undefined;
  try {
    const list = parseConflist(fs.readFileSync(file, 'utf8'), file);
    return list.name === network ? list.plugins.map((p) => p.type) : undefined;
  } catch {
    return undefined; // a broken conflist: up itself says what is wrong with it
  }
}

/** The title ensureImage narrates for an image, from what the store holds now. */
function pullTitle(rt: Pick<Runtime, 'settings'>, image: string, policy: PullPolicy): string {
  if (BUSYBOX_NAMES.has(image)) return imageTitle(image, { builtin: busyboxRootfs(rt.settings.dataDir) });
  let have = false;
  try {
    const store = new ImageStore(rt.settings.imagesDir);
    have = candidateNames(image).some((n) => store.find(n));
  } catch {
    have = false; // a bad reference: the pull says what is wrong with it
  }
  return imageTitle(image, { have, policy, pull: shouldPull(image, policy, have), local: isLocalName(image), store: rt.settings.imagesDir });
}

/** The steps of `up` for a manifest's pods, reading the host, changing nothing. */
export function planUp(rt: Pick<Runtime, 'settings' | 'planContext' | 'pod'>, pods: ManifestPod[]): PodPlan[] {
  const ctx = rt.planContext(false);
  // one pull per image, in the order first wanted; Always wins over the others (and names its container)
  const wanted = new Map<string, { policy: PullPolicy; where: string; pod: number }>();
  pods.forEach((p, i) => {
    for (const c of p.containers) {
      const image = c.image ?? 'busybox';
      const seen = wanted.get(image);
      if (seen?.policy !== 'always')
        wanted.set(image, {
          policy: pullPolicyOf(image, c.imagePullPolicy),
          where: `pod "${p.pod.name}", ${memberKind(c).manifestList} "${c.name}"`,
          pod: seen?.pod ?? i,
        });
    }
  });
  return pods.map((mp, i) => {
    const d = mp.pod;
    const pod = rt.pod(d.name);
    const { beforeApps, apps } = startOrder(mp.containers);
    const pulls = [...wanted]
      .filter(([, w]) => w.pod === i)
      .map(([image, w]): PullStep => ({ kind: 'pull', image, policy: w.policy, where: w.where, title: pullTitle(rt, image, w.policy) }));
    const steps: PodStep[] = [
      { kind: 'check', title: checkTitle(d) },
      { kind: 'pod', title: podTitle(d, pod.paths.dir, pod.cgroup) },
      { kind: 'sandbox', title: sandboxTitle(planSandboxSpec(d, ctx, pauseRootfs(rt.settings.dataDir))) },
      {
        kind: 'network',
        title: networkTitle(d, pod.paths.netns, d.network.kind === 'cni' ? pluginsOf(d.network.name) : undefined),
      },
      ...[...beforeApps, ...apps].map((c) => ({
        kind: c.kind,
        container: c.name,
        title: containerTitle(c, joinedNamespaces(d, c), pod.containerCgroup(c.name)),
      })),
      ...(mp.containers.some((c) => c.probes) ? [{ kind: 'probes' as const, title: proberTitle(d) }] : []),
    ];
    return { manifest: mp, pulls, steps };
  });
}

export interface ApplyOptions extends Omit<UpOptions, 'say'> {
  say?: (line: string) => void;
  pull?: CopyOptions & { progress?: Progress | undefined };
  /** each pod's outcome, as soon as it is known */
  done?: (pod: string, outcome: UpOutcome) => void;
}

/** Carries a plan out: every pull first (an image that cannot be had makes nothing), then each pod, in order. */
export async function applyUp(rt: Runtime, plans: PodPlan[], o: ApplyOptions = {}): Promise<{ pod: string; outcome: UpOutcome }[]> {
  for (const s of plans.flatMap((p) => p.pulls)) {
    try {
      await ensureImage(rt.settings, s.image, s.policy, { ...o.pull, via: 'manifest' });
    } catch (e) {
      throw wrap(e, s.where);
    }
  }
  const results: { pod: string; outcome: UpOutcome }[] = [];
  for (const p of plans) {
    const outcome = await upPod(rt, p.manifest, {
      ...(o.replace !== undefined ? { replace: o.replace } : {}),
      ...(o.initTimeoutMs !== undefined ? { initTimeoutMs: o.initTimeoutMs } : {}),
      ...(o.say ? { say: o.say } : {}),
    });
    results.push({ pod: p.manifest.pod.name, outcome });
    o.done?.(p.manifest.pod.name, outcome);
  }
  const waiting = waitingError(
    rt,
    results.map((r) => r.pod),
  );
  if (waiting) throw waiting;
  return results;
}
