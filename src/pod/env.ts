/**
 * A container's environment at start: its recorded env (the image's, then
 * its own literal values) with its references resolved now, as the kubelet
 * does at every container start: envFrom (ConfigMaps and Secrets, with a
 * prefix), then env[].valueFrom (a ConfigMap or Secret key, a field of the
 * pod, a resource of a container). A missing object or key that is not
 * optional is a ContainerConfigError (CreateContainerConfigError).
 */
import os from 'node:os';
import type { ContainerDefinition, EnvEntry, EnvRefs, EnvVarSource, PodRecord } from '../model.js';
import { ENV_NAME, expand, resourceValue, SUBSCRIPTED, type EnvResource } from '../manifest/env.js';
import { ContainerConfigError, type ConfigKind, type StoredConfig } from './config-store.js';

/** What resolution reads besides the definition: the store, and the pod's and host's facts. */
export interface EnvFacts {
  /** a stored ConfigMap or Secret, undefined when there is none */
  read: (kind: ConfigKind, name: string) => StoredConfig | undefined;
  pod: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  /** the pod's address on its CNI network ('' without one) */
  podIP: string;
  nodeName: string;
  /** what a missing limit gives: the host's CPUs (millicores) and memory (bytes), the node allocatable of one host */
  allocatable: { milliCpu: number; memoryBytes: number };
}

/** The facts of a pod record on this host. */
export function envFacts(rec: PodRecord, read: EnvFacts['read']): EnvFacts {
  return {
    read,
    pod: { name: rec.def.name, ...(rec.def.labels ? { labels: rec.def.labels } : {}), ...(rec.def.annotations ? { annotations: rec.def.annotations } : {}) },
    podIP: rec.sandbox.network?.ip ?? '',
    nodeName: os.hostname(),
    allocatable: { milliCpu: os.cpus().length * 1000, memoryBytes: os.totalmem() },
  };
}

/** A ConfigMap's `data` (binaryData is not env, as in Kubernetes) or a Secret's decoded `data`, as text. */
function textValues(c: StoredConfig): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(c.data ?? {})) out.set(k, c.kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v);
  return out;
}

const KIND_WORD: Record<ConfigKind, string> = { ConfigMap: 'configmap', Secret: 'secret' };

/** How a reference is written for people (never its value): `<secret:name/key>`, `<configmap:name/key>`, `<fieldRef:path>`, … */
export function describeSource(s: EnvVarSource): string {
  if (s.configMapKeyRef) return `<configmap:${s.configMapKeyRef.name}/${s.configMapKeyRef.key}>`;
  if (s.secretKeyRef) return `<secret:${s.secretKeyRef.name}/${s.secretKeyRef.key}>`;
  if (s.fieldRef) return `<fieldRef:${s.fieldRef.fieldPath}>`;
  const r = s.resourceFieldRef!;
  return `<resourceFieldRef:${r.containerName ? `${r.containerName}/` : ''}${r.resource}${r.divisor && r.divisor !== '1' ? `/${r.divisor}` : ''}>`;
}

/** The env references of a container, in words, for --explain and dry runs: names and sources, never values. */
export function describeRefs(refs: EnvRefs): string[] {
  return [
    ...(refs.from ?? []).map((f) => {
      const [kind, ref] = f.configMapRef ? ['configmap', f.configMapRef] : ['secret', f.secretRef!];
      return `envFrom ${kind} ${ref.name}${f.prefix ? ` (prefix ${f.prefix})` : ''}${ref.optional ? ' (optional)' : ''}`;
    }),
    ...(refs.entries ?? []).flatMap((v) => (v.valueFrom ? [`${v.name}=${describeSource(v.valueFrom)}`] : [])),
  ];
}

/** What resolution gives: the final env, the argv (its `$(VAR)` expanded), and the envFrom keys skipped as invalid names (Kubernetes' InvalidEnvironmentVariableNames event). */
export interface ResolvedEnv {
  env: string[];
  args: string[];
  skipped: { source: string; keys: string[] }[];
}

/**
 * Resolves a container's references over its recorded env, as the kubelet
 * does: envFrom in order, then the container's entries in order (a literal
 * value expanded against what is set before it), later wins; the image's
 * env under all of it. The manifest's command and args are expanded with
 * the container's env (not the image's). Throws ContainerConfigError for
 * what is missing and not optional.
 */
export function resolveEnv(def: Pick<ContainerDefinition, 'name' | 'env' | 'envRefs' | 'args'>, facts: EnvFacts): ResolvedEnv {
  const refs = def.envRefs;
  if (!refs) return { env: def.env, args: def.args, skipped: [] };
  const fail = (message: string): never => {
    throw new ContainerConfigError(def.name, message);
  };
  const values = new Map<string, string>();
  const skipped: ResolvedEnv['skipped'] = [];
  for (const f of refs.from ?? []) {
    const [kind, ref] = f.configMapRef ? (['ConfigMap', f.configMapRef] as const) : (['Secret', f.secretRef!] as const);
    const c = facts.read(kind, ref.name);
    if (!c) {
      if (ref.optional) continue;
      fail(`${KIND_WORD[kind]} "${ref.name}" not found (envFrom)`);
    }
    const bad: string[] = [];
    for (const [k, v] of textValues(c!)) {
      const name = `${f.prefix ?? ''}${k}`;
      if (!ENV_NAME.test(name)) {
        bad.push(name);
        continue;
      }
      values.set(name, v);
    }
    if (bad.length) skipped.push({ source: `${KIND_WORD[kind]} ${ref.name}`, keys: bad.sort() });
  }
  const lookup = (n: string) => values.get(n);
  for (const e of refs.entries ?? []) {
    if (!e.valueFrom) {
      values.set(e.name, expand(e.value ?? '', lookup));
      continue;
    }
    const value = varValue(e, facts, fail);
    if (value !== undefined) values.set(e.name, value); // an optional key that is missing sets nothing (an earlier value stays, as in the kubelet)
  }
  // the recorded env in its order (the image's, then the container's literal values), each name replaced where it is set again; new names after it
  const out = new Map<string, string>();
  for (const e of def.env) {
    const i = e.indexOf('=');
    out.set(i < 0 ? e : e.slice(0, i), i < 0 ? '' : e.slice(i + 1));
  }
  for (const [k, v] of values) out.set(k, v);
  return { env: [...out].map(([k, v]) => `${k}=${v}`), args: expandArgs(def.args, refs, lookup), skipped };
}

/** The argv with the manifest's command and args expanded (the image's entrypoint and cmd are not): with `command` the whole argv is the manifest's; `args` alone are its tail. */
function expandArgs(argv: string[], refs: EnvRefs, lookup: (n: string) => string | undefined): string[] {
  if (refs.command) return argv.map((a) => expand(a, lookup));
  if (refs.args) {
    const head = argv.length - refs.args.length;
    return argv.map((a, i) => (i >= head ? expand(a, lookup) : a));
  }
  return argv;
}

/** One env[].valueFrom's value; undefined for an optional key that is missing (the variable is not set). */
function varValue(v: EnvEntry, facts: EnvFacts, fail: (m: string) => never): string | undefined {
  const s = v.valueFrom!;
  const keyRef = s.configMapKeyRef ? (['ConfigMap', s.configMapKeyRef] as const) : s.secretKeyRef ? (['Secret', s.secretKeyRef] as const) : undefined;
  if (keyRef) {
    const [kind, ref] = keyRef;
    const c = facts.read(kind, ref.name);
    if (!c) return ref.optional ? undefined : fail(`${KIND_WORD[kind]} "${ref.name}" not found (env ${v.name})`);
    const value = textValues(c).get(ref.key);
    if (value === undefined) return ref.optional ? undefined : fail(`couldn't find key ${ref.key} in ${kind} ${ref.name} (env ${v.name})`);
    return value;
  }
  if (s.fieldRef) {
    const p = s.fieldRef.fieldPath;
    const m = SUBSCRIPTED.exec(p);
    if (m) return (m[1] === 'labels' ? facts.pod.labels : facts.pod.annotations)?.[m[2]!] ?? '';
    switch (p) {
      case 'metadata.name':
        return facts.pod.name;
      case 'metadata.namespace':
        return 'default';
      case 'spec.nodeName':
        return facts.nodeName;
      case 'status.podIP':
      case 'status.podIPs':
        return facts.podIP;
      default:
        return fail(`env ${v.name}: fieldRef ${p} is not supported`);
    }
  }
  const r = s.resourceFieldRef!;
  const resource = r.resource as EnvResource;
  const amount = v.amount ?? (resource.endsWith('.cpu') ? facts.allocatable.milliCpu : facts.allocatable.memoryBytes);
  return resourceValue(resource, amount, r.divisor);
}
