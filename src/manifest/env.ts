/**
 * A manifest container's environment: `env` (literal values and
 * `valueFrom`) and `envFrom`, read strictly. Literal values are the
 * container's `env`; references (ConfigMap and Secret keys, the pod's own
 * fields, its resources) are kept as written, in `envRefs`, and resolved at
 * every start (src/pod/env.ts), as the kubelet does.
 */
import type { EnvEntry, EnvFromSource, EnvRefs, EnvVarSource, KeyRef } from '../model.js';
import { parseBytes, parseMilliCpu } from '../quantity.js';
import { bool, checkKeys, isObj, list, obj, str, type Issues, type Obj } from './fields.js';

/** An environment variable name barepod accepts (Kubernetes' C_IDENTIFIER-like rule of env names, dashes and dots allowed). */
export const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** The fieldRef paths env may use on one host (Kubernetes' list, less what one host has no value for). */
export const FIELD_PATHS = ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.podIP', 'status.podIPs'] as const;
/** Kubernetes allows these for env; barepod has no value for them. */
const FIELD_PATHS_REFUSED: Record<string, string> = {
  'metadata.uid': 'barepod pods have no UID',
  'spec.serviceAccountName': 'barepod has no service accounts',
  'status.hostIP': "one host has no cluster address of its own (use spec.nodeName, the host's name)",
  'status.hostIPs': "one host has no cluster address of its own (use spec.nodeName, the host's name)",
};
/** metadata.labels['key'] and metadata.annotations['key'] */
export const SUBSCRIPTED = /^metadata\.(labels|annotations)\['([^']+)'\]$/;

/** resourceFieldRef.resource values and the divisors each allows (Kubernetes' ValidateContainerResourceDivisor). */
const CPU_DIVISORS: Record<string, number> = { '1m': 1, '1': 1000 };
const MEMORY_DIVISORS: Record<string, number> = {
  '1': 1,
  '1k': 1e3,
  '1M': 1e6,
  '1G': 1e9,
  '1T': 1e12,
  '1P': 1e15,
  '1E': 1e18,
  '1Ki': 2 ** 10,
  '1Mi': 2 ** 20,
  '1Gi': 2 ** 30,
  '1Ti': 2 ** 40,
  '1Pi': 2 ** 50,
  '1Ei': 2 ** 60,
};
export const RESOURCES = ['limits.cpu', 'limits.memory', 'requests.cpu', 'requests.memory'] as const;
export type EnvResource = (typeof RESOURCES)[number];

/** The divisor of a resourceFieldRef in its unit (millicores or bytes); undefined when it is not one Kubernetes allows. */
export function divisorOf(resource: EnvResource, divisor: string | undefined): number | undefined {
  const table = resource.endsWith('.cpu') ? CPU_DIVISORS : MEMORY_DIVISORS;
  return Object.hasOwn(table, divisor ?? '1') ? table[divisor ?? '1'] : undefined;
}

/**
 * A resourceFieldRef's value, as the kubelet rounds it: the amount (the
 * container's limit or request; the node's allocatable for a missing limit)
 * divided by the divisor, rounded up to a whole number.
 */
export function resourceValue(resource: EnvResource, amount: number, divisor: string | undefined): string {
  const d = divisorOf(resource, divisor) ?? 1;
  return String(Math.ceil(amount / d));
}

/** A container's resources as its manifest writes them: limit and request of one resource (requests default to limits, as the API server does). */
export function manifestAmount(resources: unknown, resource: EnvResource): number | undefined {
  const [kind, res] = resource.split('.') as ['limits' | 'requests', 'cpu' | 'memory'];
  const r = isObj(resources) ? resources : {};
  const read = (k: 'limits' | 'requests'): number | undefined => {
    const m = r[k];
    const q = isObj(m) ? m[res] : undefined;
    const text = typeof q === 'number' ? String(q) : q;
    if (typeof text !== 'string') return undefined;
    try {
      return res === 'cpu' ? parseMilliCpu(text, res) : parseBytes(text, res);
    } catch {
      return undefined; // its own field's error says why
    }
  };
  if (kind === 'limits') return read('limits');
  // a request defaults to the limit; with neither, the request is 0 (the node's allocatable fills in limits only)
  return read('requests') ?? read('limits') ?? 0;
}

/**
 * Kubernetes' `$(VAR)` expansion (k8s.io/kubernetes third_party expansion):
 * `$(NAME)` becomes the value `lookup` gives, or stays as written when it
 * gives none; `$$` is a literal `$` (so `$$(NAME)` stays `$(NAME)`); any
 * other `$` is kept.
 */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  if (!input.includes('$')) return input;
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i]!;
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1]!;
    if (next === '$') {
      out += '$';
      i += 1;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += '$(';
        i += 1;
      } else {
        const name = input.slice(i + 2, close);
        out += lookup(name) ?? `$(${name})`;
        i = close;
      }
    } else {
      out += `$${next}`;
      i += 1;
    }
  }
  return out;
}

/** What parseEnv gives: the literal env (`NAME=value`, expanded when it refers to nothing resolved at start), the command and args (expanded the same way), and the references. */
export interface ParsedEnv {
  env: string[];
  command?: string[] | undefined;
  args?: string[] | undefined;
  envRefs?: EnvRefs;
}

/**
 * `env` and `envFrom` of the container at `path`, and its `command` and
 * `args` with `$(VAR)` expanded as Kubernetes does. `resourcesOf` gives the
 * `resources` a container of the pod writes (undefined when the pod has no
 * container of that name), for resourceFieldRef. A container with no
 * reference is expanded here, once; one with references keeps its entries
 * in order, expanded at every start (src/pod/env.ts) once their values are known.
 */
export function parseEnv(
  is: Issues,
  c: Obj,
  path: string,
  self: string | undefined,
  resourcesOf: (name: string) => unknown,
  command: string[] | undefined,
  args: string[] | undefined,
): ParsedEnv {
  const entries: EnvEntry[] = [];
  (list(is, c.env, `${path}.env`) ?? []).forEach((e, i) => {
    const at = `${path}.env[${i}]`;
    const eo = obj(is, e, at);
    if (!eo) return;
    checkKeys(is, eo, at, ['name', 'value', 'valueFrom']);
    const key = str(is, eo.name, `${at}.name`, true);
    if (key !== undefined && !ENV_NAME.test(key)) is.error(`${at}.name`, `"${key}" is not a valid environment variable name`);
    const val =
      eo.value === undefined
        ? ''
        : typeof eo.value === 'string'
          ? eo.value
          : (is.error(`${at}.value`, `must be a string (quote numbers and booleans), got ${typeof eo.value}`), '');
    if (eo.valueFrom !== undefined) {
      if (val !== '') is.error(`${at}.valueFrom`, 'may not be given together with a non-empty value');
      const from = parseValueFrom(is, eo.valueFrom, `${at}.valueFrom`, self, resourcesOf);
      if (key !== undefined && from) entries.push({ name: key, ...from });
      return;
    }
    if (key !== undefined) entries.push({ name: key, value: val });
  });
  const from: EnvFromSource[] = [];
  (list(is, c.envFrom, `${path}.envFrom`) ?? []).forEach((e, i) => {
    const at = `${path}.envFrom[${i}]`;
    const eo = obj(is, e, at);
    if (!eo) return;
    checkKeys(is, eo, at, ['configMapRef', 'secretRef', 'prefix']);
    const sources = (['configMapRef', 'secretRef'] as const).filter((k) => eo[k] !== undefined);
    if (sources.length !== 1) is.error(at, sources.length ? 'must have exactly one of configMapRef and secretRef' : 'needs configMapRef or secretRef');
    const prefix = str(is, eo.prefix, `${at}.prefix`);
    if (prefix !== undefined && prefix !== '' && !ENV_NAME.test(prefix)) is.error(`${at}.prefix`, `"${prefix}" is not a valid environment variable name`);
    const k = sources[0];
    if (k === undefined) return;
    const ref = parseObjectRef(is, eo[k], `${at}.${k}`);
    if (ref) from.push({ [k]: ref, ...(prefix ? { prefix } : {}) });
  });
  const hasRefs = from.length > 0 || entries.some((e) => e.valueFrom);
  const literal = entries.filter((e) => !e.valueFrom);
  if (!hasRefs) {
    // everything is known now: expand once, in order (each value sees what is set before it), then command and args with all of it
    const known = new Map<string, string>();
    const env = literal.map((e) => {
      const v = expand(e.value ?? '', (n) => known.get(n));
      known.set(e.name, v);
      return `${e.name}=${v}`;
    });
    const lookup = (n: string) => known.get(n);
    return {
      env,
      command: command?.map((a) => expand(a, lookup)),
      args: args?.map((a) => expand(a, lookup)),
    };
  }
  const dollar = (xs: string[] | undefined) => xs?.some((x) => x.includes('$')) === true;
  return {
    // the literal values as written: the env at start replaces each of them with its expansion
    env: literal.map((e) => `${e.name}=${e.value ?? ''}`),
    command,
    args,
    envRefs: {
      ...(from.length ? { from } : {}),
      entries,
      ...(dollar(command) ? { command } : {}),
      ...(dollar(args) ? { args } : {}),
    },
  };
}

/** configMapRef / secretRef of envFrom: {name, optional}. */
function parseObjectRef(is: Issues, v: unknown, at: string): { name: string; optional?: boolean } | undefined {
  const o = obj(is, v, at);
  if (!o) return undefined;
  checkKeys(is, o, at, ['name', 'optional']);
  const name = str(is, o.name, `${at}.name`, true);
  if (name !== undefined) is.attempt(`${at}.name`, () => validateObjectName(name));
  const optional = bool(is, o.optional, `${at}.optional`);
  if (name === undefined) return undefined;
  return { name, ...(optional !== undefined ? { optional } : {}) };
}

/** A ConfigMap's or Secret's name: a DNS-1123 subdomain (it names a file of the store: no slash, no dot-dot). */
export function validateObjectName(name: string): void {
  if (name.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name)) {
    throw new Error(`"${name}" is not a valid object name (a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', at most 253 characters)`);
  }
}

/** A ConfigMap's or Secret's key: Kubernetes' rule ([-._a-zA-Z0-9]+, not "." or ".."). */
const KEY = /^[-._a-zA-Z0-9]+$/;

function parseKeyRef(is: Issues, v: unknown, at: string): KeyRef | undefined {
  const o = obj(is, v, at);
  if (!o) return undefined;
  checkKeys(is, o, at, ['name', 'key', 'optional']);
  const name = str(is, o.name, `${at}.name`, true);
  if (name !== undefined) is.attempt(`${at}.name`, () => validateObjectName(name));
  const key = str(is, o.key, `${at}.key`, true);
  if (key !== undefined && (!KEY.test(key) || key === '.' || key === '..' || key.length > 253))
    is.error(`${at}.key`, `"${key}" is not a valid key (letters, digits, '-', '_', '.')`);
  const optional = bool(is, o.optional, `${at}.optional`);
  if (name === undefined || key === undefined) return undefined;
  return { name, key, ...(optional !== undefined ? { optional } : {}) };
}

function parseValueFrom(
  is: Issues,
  v: unknown,
  at: string,
  self: string | undefined,
  resourcesOf: (name: string) => unknown,
): { valueFrom: EnvVarSource; amount?: number } | undefined {
  const o = obj(is, v, at);
  if (!o) return undefined;
  checkKeys(is, o, at, ['configMapKeyRef', 'secretKeyRef', 'fieldRef', 'resourceFieldRef'], ['fileKeyRef']);
  const sources = (['configMapKeyRef', 'secretKeyRef', 'fieldRef', 'resourceFieldRef'] as const).filter((k) => o[k] !== undefined);
  if (sources.length !== 1) {
    if (o.fileKeyRef === undefined)
      is.error(
        at,
        sources.length
          ? `must have exactly one source, got ${sources.join(' and ')}`
          : 'needs a source: configMapKeyRef, secretKeyRef, fieldRef or resourceFieldRef',
      );
    return undefined;
  }
  const k = sources[0]!;
  const sub = `${at}.${k}`;
  if (k === 'configMapKeyRef' || k === 'secretKeyRef') {
    const ref = parseKeyRef(is, o[k], sub);
    return ref ? { valueFrom: { [k]: ref } } : undefined;
  }
  if (k === 'fieldRef') {
    const f = obj(is, o[k], sub);
    if (!f) return undefined;
    checkKeys(is, f, sub, ['fieldPath', 'apiVersion']);
    if (f.apiVersion !== undefined && f.apiVersion !== 'v1') is.error(`${sub}.apiVersion`, `must be "v1", got ${JSON.stringify(f.apiVersion)}`);
    const fieldPath = str(is, f.fieldPath, `${sub}.fieldPath`, true);
    if (fieldPath === undefined) return undefined;
    if (Object.hasOwn(FIELD_PATHS_REFUSED, fieldPath)) {
      is.unsupported(`${sub}.fieldPath`, `"${fieldPath}" is not supported: ${FIELD_PATHS_REFUSED[fieldPath]}`);
      return undefined;
    }
    if (!(FIELD_PATHS as readonly string[]).includes(fieldPath) && !SUBSCRIPTED.test(fieldPath)) {
      return is.error(
        `${sub}.fieldPath`,
        `"${fieldPath}" is not a field env can take (${FIELD_PATHS.join(', ')}, metadata.labels['KEY'], metadata.annotations['KEY'])`,
      );
    }
    return { valueFrom: { fieldRef: { fieldPath } } };
  }
  const r = obj(is, o[k], sub);
  if (!r) return undefined;
  checkKeys(is, r, sub, ['resource', 'containerName', 'divisor']);
  const resource = str(is, r.resource, `${sub}.resource`, true);
  const containerName = str(is, r.containerName, `${sub}.containerName`);
  const divisor = typeof r.divisor === 'number' ? String(r.divisor) : str(is, r.divisor, `${sub}.divisor`);
  if (resource === undefined) return undefined;
  if (!(RESOURCES as readonly string[]).includes(resource)) {
    if (/^(limits|requests)\.(ephemeral-storage|hugepages-)/.test(resource))
      is.unsupported(`${sub}.resource`, `"${resource}" is not supported (${RESOURCES.join(', ')} are)`);
    else is.error(`${sub}.resource`, `"${resource}" is not a resource env can take (${RESOURCES.join(', ')})`);
    return undefined;
  }
  const res = resource as EnvResource;
  if (divisorOf(res, divisor) === undefined) {
    const allowed = Object.keys(res.endsWith('.cpu') ? CPU_DIVISORS : MEMORY_DIVISORS).join(', ');
    return is.error(`${sub}.divisor`, `"${divisor}" is not a divisor of ${res.split('.')[1]} (one of ${allowed})`);
  }
  const target = containerName ?? self;
  const resources = target === undefined ? undefined : resourcesOf(target);
  if (containerName !== undefined && resources === undefined) return is.error(`${sub}.containerName`, `"${containerName}" is not a container of this pod`);
  const amount = manifestAmount(resources ?? {}, res);
  return {
    valueFrom: { resourceFieldRef: { resource, ...(containerName !== undefined ? { containerName } : {}), ...(divisor !== undefined ? { divisor } : {}) } },
    ...(amount !== undefined ? { amount } : {}),
  };
}
