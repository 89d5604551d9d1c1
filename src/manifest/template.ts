/**
 * A PodTemplateSpec (`metadata` and `spec`, the `spec.template` of a Job, a
 * Deployment, a DaemonSet) read as the v1/Pod it becomes, by the very code
 * that reads a Pod (parsePod): its problems are reported at their place
 * under the template's path (`spec.template.spec.containers[0].image`).
 */
import { checkKeys, Issues, obj, stringMap, type FieldIssue, type Obj } from './fields.js';
import { parsePod, type ManifestPod, type ParseOptions } from './pod.js';

export interface PodTemplateOptions {
  /** The pod's name: the template's own name (if any) is ignored, as Kubernetes ignores it. */
  name: string;
  /** Labels and annotations the template's own are laid over (a workload's). */
  under?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  /** Labels laid over the template's (a Job's job-name). */
  over?: Record<string, string>;
}

export interface PodTemplate {
  /** The pod, or undefined when the template has errors. */
  mp: ManifestPod | undefined;
  /** The template's own labels (`metadata.labels`, without those laid under or over it). */
  labels: Record<string, string>;
  /** The template's `spec` as written. */
  spec: Obj;
}

/** Moves a problem of the template's pod (read as a Pod) to its place under `at`. */
function under(at: string, p: FieldIssue): FieldIssue {
  return { path: p.path.startsWith('metadata') || p.path.startsWith('spec') ? `${at}.${p.path}` : at, message: p.message };
}

/**
 * The map `v` with `lower` under it and `upper` over it; `v` as written when
 * it is not a map of strings (parsePod reports it at its place).
 */
function layered(v: unknown, lower: Record<string, string> = {}, upper: Record<string, string> = {}): unknown {
  const check = new Issues();
  const own = stringMap(check, v, 'map');
  if (check.errors.length) return v;
  const m = { ...lower, ...own, ...upper };
  return Object.keys(m).length ? m : undefined;
}

/** Reads the PodTemplateSpec `v` at `at`; undefined (an error at `at`) when there is none. */
export function parsePodTemplate(is: Issues, v: unknown, at: string, o: ParseOptions, opts: PodTemplateOptions): PodTemplate | undefined {
  const t = obj(is, v, at);
  if (!t) return is.error(at, 'is required');
  checkKeys(is, t, at, ['metadata', 'spec']);
  const meta = obj(is, t.metadata, `${at}.metadata`) ?? {};
  const { name: _ignored, labels: ownLabels, annotations: ownAnnotations, ...rest } = meta;
  const labels = layered(ownLabels, opts.under?.labels, opts.over);
  const annotations = layered(ownAnnotations, opts.under?.annotations);
  const pod: Obj = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...rest, ...(labels !== undefined ? { labels } : {}), ...(annotations !== undefined ? { annotations } : {}), name: opts.name },
    spec: t.spec,
  };
  const inner = new Issues(is.lenient);
  const mp = parsePod(inner, pod, o);
  is.errors.push(...inner.errors.map((p) => under(at, p)));
  is.warnings.push(...inner.warnings.map((p) => under(at, p)));
  return {
    mp: inner.errors.length ? undefined : mp,
    labels: stringMap(new Issues(), ownLabels, 'labels') ?? {},
    spec: obj(new Issues(), t.spec, `${at}.spec`) ?? {},
  };
}
