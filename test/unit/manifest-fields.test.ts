/**
 * Drift test: the supported-field table of docs/manifests.md and the fields
 * the manifest parser accepts are the same set. The accepted fields are read
 * from the parser itself: every object it checks goes through checkKeys()
 * with the keys it knows, so a spy on checkKeys, run over a manifest that
 * reaches every object, records them (and every checkKeys call in pod.ts must
 * have been reached, so a new kind of object cannot slip past).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';

const calls = vi.hoisted(() => [] as { path: string; known: string[]; unsupported: string[]; site: string }[]);

vi.mock('../../src/manifest/fields.js', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../../src/manifest/fields.js')>();
  return {
    ...orig,
    checkKeys: (...args: Parameters<typeof orig.checkKeys>) => {
      const [, , at, known, unsupported = []] = args;
      // the direct caller: pod.ts:123 (a Pod, or a workload's pod template), env.ts:45, workloads.ts:67, claims.ts:89
      const site = /manifest\/((?:pod|env|workloads|claims)\.ts:\d+)/.exec(new Error().stack ?? '')?.[1] ?? '?';
      calls.push({ path: at, known: [...known], unsupported: [...unsupported], site });
      return orig.checkKeys(...args);
    },
  };
});

const { parseManifests } = await import('../../src/manifest/pod.js');

const repo = path.resolve(import.meta.dirname, '../..');

/** A pod that holds every object the parser checks (it need not be valid: the parser checks every object even when others have errors). */
const probes = `
    livenessProbe: {exec: {command: [true]}, initialDelaySeconds: 1, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 1}
    readinessProbe: {tcpSocket: {port: 80, host: 127.0.0.1}}
    startupProbe: {httpGet: {port: http, path: /, host: 127.0.0.1, scheme: HTTP, httpHeaders: [{name: X, value: y}]}}`;
const container = (name: string, extra = '') => `
  - name: ${name}
    image: busybox
    command: [sh]
    args: [-c, 'true']
    env: [{name: A, value: b}, {name: B, valueFrom: {configMapKeyRef: {name: c, key: k, optional: true}}}, {name: C, valueFrom: {secretKeyRef: {name: s, key: k}}}, {name: D, valueFrom: {fieldRef: {fieldPath: metadata.name, apiVersion: v1}}}, {name: E, valueFrom: {resourceFieldRef: {resource: limits.cpu, containerName: app, divisor: 1m}}}]
    envFrom: [{configMapRef: {name: c, optional: true}, prefix: P_}, {secretRef: {name: s, optional: false}}]
    workingDir: /
    ports: [{containerPort: 80, name: http, protocol: TCP}]
    volumeMounts: [{name: scratch, mountPath: /s, readOnly: true, subPath: x}]
    resources: {limits: {cpu: 100m, memory: 64Mi}, requests: {cpu: 100m}}
    securityContext: {capabilities: {add: [NET_ADMIN], drop: [ALL]}, runAsUser: 1, runAsGroup: 1, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false}
    stdin: true
    tty: true
    imagePullPolicy: Never${extra}${probes}`;
const EVERYTHING = `apiVersion: v1
kind: Pod
metadata:
  name: every
  labels: {a: b}
  annotations: {c: d}
spec:
  restartPolicy: Always
  hostname: every
  hostAliases: [{ip: 10.1.2.3, hostnames: [db.local]}]
  resources: {limits: {memory: 128Mi}}
  volumes:
  - name: scratch
    emptyDir: {medium: Memory, sizeLimit: 1Mi}
  - name: host
    hostPath: {path: /tmp, type: Directory}
  - name: claim
    persistentVolumeClaim: {claimName: data, readOnly: true}
  - name: cfg
    configMap: {name: c, items: [{key: k, path: p, mode: 0644}], defaultMode: 0644, optional: true}
  - name: sec
    secret: {secretName: s, items: [{key: k, path: p, mode: 0600}], defaultMode: 0400, optional: false}
  - name: info
    downwardAPI:
      defaultMode: 0644
      items:
      - {path: n, mode: 0644, fieldRef: {fieldPath: metadata.name, apiVersion: v1}}
      - {path: m, resourceFieldRef: {containerName: app, resource: limits.memory, divisor: 1Mi}}
  - name: all
    projected:
      defaultMode: 0644
      sources:
      - configMap: {name: c, items: [{key: k, path: a, mode: 0644}], optional: true}
      - secret: {name: s, items: [{key: k, path: b}], optional: true}
      - downwardAPI: {items: [{path: n2, fieldRef: {fieldPath: metadata.name}}, {path: c, resourceFieldRef: {containerName: app, resource: limits.cpu}}]}
  initContainers:${container('side', '\n    restartPolicy: Always')}
  containers:${container('app')}
`;

/** Expands a table path: `{a,b}` and `a/b` components, and a leading `.` (a container field, of both lists). */
function expand(p: string): string[] {
  if (p.startsWith('.')) return [...expand(`spec.containers[]${p}`), ...expand(`spec.initContainers[]${p}`)];
  const parts = p.split(/\.(?![^{]*\})/);
  let out = [''];
  for (const part of parts) {
    const m = /^([^[]*)(\[\])?$/.exec(part);
    const base = m?.[1] ?? part;
    const names = base.startsWith('{') ? base.slice(1, -1).split(',') : base.split('/');
    out = out.flatMap((prefix) => names.map((n) => (prefix ? `${prefix}.${n}` : n) + (m?.[2] ?? '')));
  }
  return out;
}

/** The table's paths: supported (every row but "no") and refused ("no" rows); `| field |` is the Pod's, `| Deployment field |` a kind's. */
function tablePaths(kind = ''): { supported: Set<string>; refused: Set<string> } {
  const text = fs.readFileSync(path.join(repo, 'docs/manifests.md'), 'utf8');
  const start = text.indexOf(`| ${kind ? `${kind} ` : ''}field | supported | notes |`);
  expect(start, `docs/manifests.md has the ${kind || 'Pod'} field table`).toBeGreaterThan(0);
  const rows = text.slice(start).split('\n').slice(2);
  const supported = new Set<string>();
  const refused = new Set<string>();
  for (const row of rows) {
    if (!row.startsWith('|')) break;
    const [field = '', support] = row
      .split(/(?<!\\)\|/)
      .slice(1)
      .map((c) => c.trim());
    for (const [, token = ''] of field.matchAll(/`([^`]+)`/g)) {
      if (token.includes('["')) continue; // a key inside a map (an annotation), not a field
      const p = token.replace(/:.*$/, '').trim();
      for (const e of expand(p)) (support === 'no' ? refused : supported).add(e);
    }
  }
  return { supported, refused };
}

/** The parser's checked objects: normalised path (`[0]` → `[]`) → known and refused keys; `own` keeps the calls of one file (a kind's reader, not the Pod's). */
function parserObjects(text = EVERYTHING, own?: string): Map<string, { known: Set<string>; unsupported: Set<string> }> {
  calls.length = 0;
  try {
    parseManifests(text, { file: 'every.yaml' });
  } catch {
    // only the keys matter here, not whether this pod is valid
  }
  const out = new Map<string, { known: Set<string>; unsupported: Set<string> }>();
  for (const c of calls) {
    if (own !== undefined && !c.site.startsWith(`${own}:`)) continue;
    const p = c.path.replace(/\[\d+\]/g, '[]');
    const o = out.get(p) ?? { known: new Set(), unsupported: new Set() };
    c.known.forEach((k) => o.known.add(k));
    c.unsupported.forEach((k) => o.unsupported.add(k));
    out.set(p, o);
  }
  return out;
}

const join = (parent: string, key: string) => (parent ? `${parent}.${key}` : key);
const parentOf = (p: string) => (p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '');
const keyOf = (p: string) => p.slice(p.lastIndexOf('.') + 1).replace(/\[\]$/, '');

describe('docs/manifests.md field table matches the parser', () => {
  it('the test pod reaches every checkKeys call of the parser (a new kind of object must be added to it)', () => {
    parserObjects();
    const reached = new Set(calls.map((c) => c.site));
    for (const file of ['pod.ts', 'env.ts']) {
      const source = fs.readFileSync(path.join(repo, 'src/manifest', file), 'utf8').split('\n');
      const sites = source.flatMap((line, i) => (/\bcheckKeys\(/.test(line) && !/^import/.test(line) ? [i + 1] : []));
      expect(sites.length).toBeGreaterThan(file === 'pod.ts' ? 5 : 3);
      const unreached = sites.filter((s) => !reached.has(`${file}:${s}`));
      expect(unreached.map((s) => `src/manifest/${file}:${s}: ${source[s - 1]?.trim()} ${source[s]?.trim()}`)).toEqual([]);
    }
  });

  it('every field the parser accepts is in the table', () => {
    const { supported } = tablePaths();
    const prefixes = new Set([...supported].flatMap((p) => p.split('.').map((_, i, a) => a.slice(0, i + 1).join('.'))));
    const missing: string[] = [];
    for (const [obj, { known }] of parserObjects()) {
      for (const k of known) if (![join(obj, k), join(obj, `${k}[]`)].some((p) => prefixes.has(p))) missing.push(join(obj, k));
    }
    expect(missing).toEqual([]);
  });

  it('every field of the table is accepted by the parser, and every "no" field is refused', () => {
    const { supported, refused } = tablePaths();
    const objects = parserObjects();
    const wrong: string[] = [];
    for (const p of supported) {
      // each step of the path whose object the parser checks must be a key it knows
      const steps = p.split('.');
      for (let i = 0; i < steps.length; i++) {
        const at = steps.slice(0, i + 1).join('.');
        const o = objects.get(parentOf(at));
        if (o && !o.known.has(keyOf(at))) wrong.push(`${p}: "${keyOf(at)}" is not accepted at ${parentOf(at) || '(top level)'}`);
      }
    }
    for (const p of refused) {
      const o = objects.get(parentOf(p));
      if (!o) wrong.push(`${p}: the parser checks no object ${parentOf(p)}`);
      else if (o.known.has(keyOf(p))) wrong.push(`${p}: listed as not supported, but the parser accepts it`);
    }
    expect([...new Set(wrong)]).toEqual([]);
  });

  it('the table parser sees the rows (expansion of {a,b}, a/b and container paths)', () => {
    expect(expand('.env[].name/value')).toEqual([
      'spec.containers[].env[].name',
      'spec.containers[].env[].value',
      'spec.initContainers[].env[].name',
      'spec.initContainers[].env[].value',
    ]);
    expect(expand('spec.{a,b}.c/d')).toEqual(['spec.a.c', 'spec.a.d', 'spec.b.c', 'spec.b.d']);
    const { supported, refused } = tablePaths();
    expect(supported.has('spec.containers[].securityContext.capabilities.add')).toBe(true);
    expect(refused.has('spec.nodeSelector')).toBe(true);
  });
});

/** A document of each other kind that holds every object its reader checks (its pod template is the Pod table's). */
const template = `
  template:
    metadata: {name: ignored, labels: {app: x}, annotations: {a: b}}
    spec:
      containers: [{name: app, image: busybox}]`;
const KINDS: { kind: string; file: string; text: string }[] = [
  {
    kind: 'Deployment',
    file: 'workloads.ts',
    text: `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {a: b}, annotations: {c: d}, namespace: default}
spec:
  replicas: 1
  revisionHistoryLimit: 1
  minReadySeconds: 0
  progressDeadlineSeconds: 600
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: x}}${template}
`,
  },
  {
    kind: 'DaemonSet',
    file: 'workloads.ts',
    text: `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, labels: {a: b}, annotations: {c: d}, namespace: default}
spec:
  revisionHistoryLimit: 1
  minReadySeconds: 0
  updateStrategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}
  selector: {matchLabels: {app: x}}${template}
`,
  },
  {
    kind: 'PersistentVolumeClaim',
    file: 'claims.ts',
    text: `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, labels: {a: b}, annotations: {c: d}, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: local
  volumeMode: Filesystem
  resources: {requests: {storage: 1Gi}}
`,
  },
];

describe.each(KINDS)('docs/manifests.md $kind field table matches its reader', ({ kind, file, text }) => {
  it('the test document reaches every checkKeys call of its reader', () => {
    parserObjects(text, file);
    const source = fs.readFileSync(path.join(repo, 'src/manifest', file), 'utf8').split('\n');
    const sites = source.flatMap((line, i) => (/\bcheckKeys\(/.test(line) && !/^import/.test(line) ? [`${file}:${i + 1}`] : []));
    expect(sites.length).toBeGreaterThan(1);
    const reached = new Set(calls.map((c) => c.site));
    expect(sites.filter((s) => !reached.has(s))).toEqual([]);
  });

  it('every field its reader accepts is in the table, every field of the table is accepted, every "no" field refused', () => {
    const { supported, refused } = tablePaths(kind);
    const objects = parserObjects(text, file);
    const prefixes = new Set([...supported].flatMap((p) => p.split('.').map((_, i, a) => a.slice(0, i + 1).join('.'))));
    const wrong: string[] = [];
    for (const [obj, { known }] of objects) {
      for (const k of known) if (![join(obj, k), join(obj, `${k}[]`)].some((p) => prefixes.has(p))) wrong.push(`${join(obj, k)}: not in the table`);
    }
    for (const p of supported) {
      const steps = p.split('.');
      for (let i = 0; i < steps.length; i++) {
        const at = steps.slice(0, i + 1).join('.');
        const o = objects.get(parentOf(at));
        if (o && !o.known.has(keyOf(at))) wrong.push(`${p}: "${keyOf(at)}" is not accepted at ${parentOf(at) || '(top level)'}`);
      }
    }
    for (const p of refused) {
      const o = objects.get(parentOf(p));
      if (!o) wrong.push(`${p}: the reader checks no object ${parentOf(p)}`);
      else if (o.known.has(keyOf(p))) wrong.push(`${p}: listed as not supported, but the reader accepts it`);
    }
    expect([...new Set(wrong)]).toEqual([]);
  });
});
