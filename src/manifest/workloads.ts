/**
 * apps/v1 Deployment and DaemonSet documents as one pod each (one host, one
 * pod name): the pod template is read by parsePod itself, its problems named
 * under `spec.template.`; the workload's own fields are read strictly here.
 * The pod is named as `podman kube play` (4.3.1) names a Deployment's pod:
 * `<name>-pod-0`.
 */
import { validateName } from '../names.js';
import { checkKeys, int, Issues, isObj, obj, oneOf, str, stringMap, type FieldIssue, type Obj } from './fields.js';
import { parsePod, type DocumentResult, type ManifestPod, type ParseOptions } from './pod.js';

/** The kinds read here: each becomes one pod (or none with replicas 0). */
export const WORKLOAD_KINDS = ['Deployment', 'DaemonSet'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export const isWorkloadKind = (kind: string): kind is WorkloadKind => (WORKLOAD_KINDS as readonly string[]).includes(kind);

/** The pod a workload makes, named as podman kube play names it. */
export const workloadPodName = (name: string): string => `${name}-pod-0`;

/** What a pod record says of the workload it came from (`Deployment/web`). */
export const ownerOf = (kind: string, name: string): string => `${kind}/${name}`;

const META_KEYS = ['name', 'labels', 'annotations', 'namespace'];
const META_UNSUPPORTED = ['generateName', 'uid', 'ownerReferences', 'finalizers'];

const SPEC_KEYS: Record<WorkloadKind, { known: string[]; unsupported: string[] }> = {
  Deployment: {
    known: ['replicas', 'selector', 'template', 'strategy', 'revisionHistoryLimit', 'minReadySeconds', 'progressDeadlineSeconds'],
    unsupported: ['paused'],
  },
  DaemonSet: { known: ['selector', 'template', 'updateStrategy', 'revisionHistoryLimit', 'minReadySeconds'], unsupported: [] },
};

export function parseDeployment(is: Issues, value: Obj, o: ParseOptions): DocumentResult | undefined {
  return parseWorkload(is, value, o, 'Deployment');
}

export function parseDaemonSet(is: Issues, value: Obj, o: ParseOptions): DocumentResult | undefined {
  return parseWorkload(is, value, o, 'DaemonSet');
}

/** Moves a problem of the template's pod (read as a Pod) under `spec.template.`. */
function underTemplate(p: FieldIssue): FieldIssue {
  const at = p.path.startsWith('metadata') || p.path.startsWith('spec') ? p.path : '';
  return { path: `spec.template${at ? `.${at}` : ''}`, message: p.message };
}

function parseWorkload(is: Issues, value: Obj, o: ParseOptions, kind: WorkloadKind): DocumentResult | undefined {
  checkKeys(is, value, '', ['apiVersion', 'kind', 'metadata', 'spec'], ['status']);
  if (value.apiVersion !== 'apps/v1') is.error('apiVersion', `must be "apps/v1", got ${JSON.stringify(value.apiVersion ?? null)}`);
  const meta = obj(is, value.metadata, 'metadata') ?? (is.error('metadata', 'is required'), {});
  checkKeys(is, meta, 'metadata', META_KEYS, META_UNSUPPORTED);
  const name = str(is, meta.name, 'metadata.name', true);
  const podName = name === undefined ? undefined : workloadPodName(name);
  if (name !== undefined && podName !== undefined) is.attempt('metadata.name', () => validateName('pod', podName) && validateName('pod', name));
  const labels = stringMap(is, meta.labels, 'metadata.labels') ?? {};
  const annotations = stringMap(is, meta.annotations, 'metadata.annotations') ?? {};
  if (meta.namespace !== undefined && meta.namespace !== 'default') is.unsupported('metadata.namespace', 'only the "default" namespace exists on one host');

  const spec = obj(is, value.spec, 'spec') ?? (is.error('spec', 'is required'), {});
  checkKeys(is, spec, 'spec', SPEC_KEYS[kind].known, SPEC_KEYS[kind].unsupported);
  let replicas = 1;
  if (kind === 'Deployment' && spec.replicas !== undefined && spec.replicas !== null) {
    const n = int(is, spec.replicas, 'spec.replicas', 0, Number.MAX_SAFE_INTEGER);
    if (n !== undefined && n > 1)
      is.error('spec.replicas', `${n}: barepod runs 0 or 1 (one host, one pod name: the pod is "${podName ?? `<name>-pod-0`}"); a cluster runs more`);
    else if (n !== undefined) replicas = n;
  }
  int(is, spec.revisionHistoryLimit, 'spec.revisionHistoryLimit', 0, 2_147_483_647);
  int(is, spec.minReadySeconds, 'spec.minReadySeconds', 0, 2_147_483_647);
  if (kind === 'Deployment') {
    const deadline = int(is, spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds', 1, 2_147_483_647);
    const min = typeof spec.minReadySeconds === 'number' ? spec.minReadySeconds : 0;
    if (deadline !== undefined && deadline <= min) is.error('spec.progressDeadlineSeconds', `must be greater than spec.minReadySeconds (${min})`);
    parseStrategy(is, spec.strategy, 'spec.strategy', ['Recreate', 'RollingUpdate']);
  } else parseStrategy(is, spec.updateStrategy, 'spec.updateStrategy', ['RollingUpdate', 'OnDelete']);

  const selector = obj(is, spec.selector, 'spec.selector') ?? (is.error('spec.selector', 'is required (apps/v1)'), undefined);
  let matchLabels: Record<string, string> | undefined;
  if (selector) {
    checkKeys(is, selector, 'spec.selector', ['matchLabels'], ['matchExpressions']);
    matchLabels = stringMap(is, selector.matchLabels, 'spec.selector.matchLabels');
    if (!matchLabels || Object.keys(matchLabels).length === 0)
      is.error('spec.selector.matchLabels', 'must select at least one label (an empty selector is refused by Kubernetes)');
  }

  const template = obj(is, spec.template, 'spec.template') ?? (is.error('spec.template', 'is required'), undefined);
  if (!template) return undefined;
  checkKeys(is, template, 'spec.template', ['metadata', 'spec']);
  const tmeta = obj(is, template.metadata, 'spec.template.metadata') ?? {};
  // the template's name is ignored, as Kubernetes ignores it: the pod is named after the workload
  checkKeys(is, tmeta, 'spec.template.metadata', ['labels', 'annotations', 'name']);
  const tlabels = stringMap(is, tmeta.labels, 'spec.template.metadata.labels') ?? {};
  const tannotations = stringMap(is, tmeta.annotations, 'spec.template.metadata.annotations') ?? {};
  for (const [k, v] of Object.entries(matchLabels ?? {})) {
    if (tlabels[k] !== v)
      is.error(
        'spec.selector.matchLabels',
        `${k}=${v} is not a label of the pod template (spec.template.metadata.labels${tlabels[k] === undefined ? ` has no ${k}` : `.${k} is "${tlabels[k]}"`}): the selector must match the template's labels`,
      );
  }
  const tspec = obj(is, template.spec, 'spec.template.spec');
  if (!tspec) return is.error('spec.template.spec', 'is required');
  if (tspec.restartPolicy !== undefined && tspec.restartPolicy !== 'Always')
    is.error('spec.template.spec.restartPolicy', `${JSON.stringify(tspec.restartPolicy)}: a ${kind}'s pod must have restartPolicy Always (Kubernetes' rule)`);

  // the template, read as the Pod it makes by the very code that reads a Pod
  const inner = new Issues(is.lenient);
  const pod = parsePod(
    inner,
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: podName ?? 'pod',
        ...(Object.keys({ ...labels, ...tlabels }).length ? { labels: { ...labels, ...tlabels } } : {}),
        ...(Object.keys({ ...annotations, ...tannotations }).length ? { annotations: { ...annotations, ...tannotations } } : {}),
      },
      spec: tspec,
    },
    o,
  );
  is.errors.push(...inner.errors.map(underTemplate));
  is.warnings.push(...inner.warnings.map(underTemplate));
  const object = name === undefined ? undefined : { kind, name, source: value };
  if (!pod || is.errors.length || !object) return undefined;
  const mp: ManifestPod = { pod: { ...pod.pod, owner: ownerOf(kind, object.name) }, containers: pod.containers, source: value };
  return { pods: replicas === 1 ? [mp] : [], objects: [object] };
}

function parseStrategy(is: Issues, v: unknown, path: string, types: string[]): void {
  const s = obj(is, v, path);
  if (!s) return;
  checkKeys(is, s, path, ['type', 'rollingUpdate']);
  const type = oneOf(is, s.type, `${path}.type`, types);
  const r = obj(is, s.rollingUpdate, `${path}.rollingUpdate`);
  if (r) {
    checkKeys(is, r, `${path}.rollingUpdate`, ['maxSurge', 'maxUnavailable']);
    if (type !== undefined && type !== 'RollingUpdate') is.error(`${path}.rollingUpdate`, `is only allowed with type RollingUpdate (type is ${type})`);
    for (const k of ['maxSurge', 'maxUnavailable']) {
      const x = r[k];
      if (x !== undefined && typeof x !== 'number' && !(typeof x === 'string' && /^\d+%$/.test(x)))
        is.error(`${path}.rollingUpdate.${k}`, `must be a whole number or a percentage ("25%"), got ${JSON.stringify(x)}`);
    }
  }
}

/** Whether a document is a workload (for up/down: the pod it makes, or would make). */
export function workloadOf(kind: string, value: unknown): { kind: WorkloadKind; name: string; pod: string } | undefined {
  if (!isWorkloadKind(kind) || !isObj(value) || !isObj(value.metadata) || typeof value.metadata.name !== 'string') return undefined;
  return { kind, name: value.metadata.name, pod: workloadPodName(value.metadata.name) };
}
