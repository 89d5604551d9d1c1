/**
 * batch/v1 Job → one pod: the Job's pod template read by the very code that
 * reads a v1/Pod (parsePod), plus what the Job adds (backoffLimit,
 * activeDeadlineSeconds). One host runs one pod per Job: completions and
 * parallelism other than 1 are errors naming the field. What running it
 * means (failures counted, Complete, Failed): pod/job.ts.
 */
import { validateName } from '../names.js';
import { DEFAULT_BACKOFF_LIMIT, type JobDefinition } from '../model.js';
import { checkKeys, int, obj, stringMap, str, type Issues, type Obj } from './fields.js';
import type { DocumentResult, ParseOptions } from './pod.js';
import { parsePodTemplate } from './template.js';

const SUPPORTED_JOB_SPEC = ['template', 'backoffLimit', 'activeDeadlineSeconds', 'completions', 'parallelism'];
const UNSUPPORTED_JOB_SPEC = [
  'selector',
  'manualSelector',
  'podFailurePolicy',
  'suspend',
  'ttlSecondsAfterFinished',
  'completionMode',
  'backoffLimitPerIndex',
  'maxFailedIndexes',
  'podReplacementPolicy',
  'successPolicy',
  'managedBy',
];

/** Why a field of a Job is refused, where a word helps. */
const WHY_UNSUPPORTED: Record<string, string> = {
  ttlSecondsAfterFinished: "is not supported: barepod keeps a finished Job's pod (its status and logs) until `barepod down` removes it",
  suspend: 'is not supported: `up` runs the Job at once (leave the file out until it should run)',
  podFailurePolicy: 'is not supported: every failure of an app container counts against backoffLimit',
};

/** Kubernetes' limit on backoffLimit is the int32 range; a real Job uses a handful. */
const MAX_BACKOFF_LIMIT = 2_147_483_647;

/** A batch/v1 Job: its one pod, named after the Job. */
export function parseJob(is: Issues, value: Obj, o: ParseOptions): DocumentResult | undefined {
  checkKeys(is, value, '', ['apiVersion', 'kind', 'metadata', 'spec'], ['status']);
  if (value.apiVersion !== 'batch/v1') is.error('apiVersion', `must be "batch/v1" for a Job, got ${JSON.stringify(value.apiVersion ?? null)}`);
  const meta = obj(is, value.metadata, 'metadata') ?? (is.error('metadata', 'is required'), {});
  checkKeys(is, meta, 'metadata', ['name', 'labels', 'annotations', 'namespace'], ['generateName', 'uid', 'ownerReferences', 'finalizers']);
  const name = str(is, meta.name, 'metadata.name', true);
  const validName = name !== undefined && is.attempt('metadata.name', () => validateName('pod', name)) !== undefined;
  stringMap(is, meta.labels, 'metadata.labels');
  stringMap(is, meta.annotations, 'metadata.annotations');
  if (meta.namespace !== undefined && meta.namespace !== 'default') is.unsupported('metadata.namespace', 'only the "default" namespace exists on one host');

  const spec = obj(is, value.spec, 'spec') ?? (is.error('spec', 'is required'), {});
  // the fields refused with a reason of their own are reported with it; checkKeys takes the rest
  const explained = Object.keys(spec).filter((k) => Object.hasOwn(WHY_UNSUPPORTED, k));
  checkKeys(is, Object.fromEntries(Object.entries(spec).filter(([k]) => !explained.includes(k))), 'spec', SUPPORTED_JOB_SPEC, UNSUPPORTED_JOB_SPEC);
  for (const key of explained) is.unsupported(`spec.${key}`, WHY_UNSUPPORTED[key]);
  // the pod is one of one: more would need more pods of the same name on one host
  for (const key of ['completions', 'parallelism'] as const) {
    const n = int(is, spec[key], `spec.${key}`, 0, MAX_BACKOFF_LIMIT);
    if (n !== undefined && n !== 1) is.error(`spec.${key}`, `${n}: barepod runs one pod per Job (only 1 is supported)`);
  }
  const backoffLimit = int(is, spec.backoffLimit, 'spec.backoffLimit', 0, MAX_BACKOFF_LIMIT) ?? DEFAULT_BACKOFF_LIMIT;
  const activeDeadlineSeconds = int(is, spec.activeDeadlineSeconds, 'spec.activeDeadlineSeconds', 1, MAX_BACKOFF_LIMIT);

  const podName = validName ? name : 'job';
  // the labels Kubernetes' Job controller gives its pods
  const t = parsePodTemplate(is, spec.template, 'spec.template', o, {
    name: podName,
    over: { 'batch.kubernetes.io/job-name': podName, 'job-name': podName },
  });
  const mp = t?.mp;
  if (t && mp) {
    if (t.spec.restartPolicy === undefined)
      is.error('spec.template.spec.restartPolicy', 'is required for a Job: OnFailure or Never (the Pod default, Always, is not allowed)');
    else if (mp.pod.restartPolicy === 'Always') is.error('spec.template.spec.restartPolicy', '"Always" is not allowed for a Job: OnFailure or Never');
  }
  if (!mp || !validName || is.errors.length) return undefined;
  const job: JobDefinition = { name: podName, backoffLimit, ...(activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds } : {}) };
  // its owner, as a workload's pod has one (inspect, pod ls --json)
  return { pods: [{ ...mp, pod: { ...mp.pod, job, owner: `Job/${podName}` }, source: value }] };
}
