/**
 * env from ConfigMaps, Secrets and the pod itself: the manifest's readers
 * (every problem names its field path), Kubernetes' precedence (the image's
 * env, then envFrom in order, then the container's own env, later wins),
 * resourceFieldRef's rounding, and what a missing object or key does.
 */
import { describe, expect, it } from 'vitest';
import { ManifestError } from '../../src/manifest/pod.js';
import { expand, resourceValue } from '../../src/manifest/env.js';
import { exportPod } from '../../src/manifest/export.js';
import { describeRefs, resolveEnv, type EnvFacts } from '../../src/pod/env.js';
import { ContainerConfigError, type ConfigKind, type StoredConfig } from '../../src/pod/config-store.js';
import type { ContainerDefinition, PodRecord } from '../../src/model.js';
import { parseResolved } from '../helpers/resolve.js';
import { thrown } from '../helpers/thrown.js';
import { base, ctr } from '../fixtures/manifests.js';

function problems(text: string, lenient = false): string[] {
  const e = thrown(() => parseResolved(text, { file: 'pod.yaml', lenient }));
  expect(e).toBeInstanceOf(ManifestError);
  return (e as ManifestError).issues.map((i) => `${i.path}: ${i.message}`);
}

const one = (extra: string, o: Parameters<typeof parseResolved>[1] = {}) => parseResolved(base(ctr(extra)), o).pods[0]!.containers[0]!;

const store = (objects: StoredConfig[]): EnvFacts['read'] => {
  return (kind: ConfigKind, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
};
const cm = (name: string, data: Record<string, string>): StoredConfig => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });
const secret = (name: string, data: Record<string, string>): StoredConfig => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});
const facts = (objects: StoredConfig[] = [], more: Partial<EnvFacts> = {}): EnvFacts => ({
  read: store(objects),
  pod: { name: 'web', labels: { app: 'shop' }, annotations: { 'example.com/owner': 'ops' } },
  podIP: '10.88.0.7',
  nodeName: 'node1',
  allocatable: { milliCpu: 2000, memoryBytes: 4 * 2 ** 30 },
  ...more,
});
const envOf = (def: ContainerDefinition, f: EnvFacts) =>
  Object.fromEntries(resolveEnv(def, f).env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));

describe('env: the manifest readers', () => {
  it('keeps references as written, literal values as env', () => {
    const c = one(`      env:
      - {name: A, value: a}
      - {name: B, valueFrom: {configMapKeyRef: {name: cfg, key: b}}}
      - {name: C, valueFrom: {secretKeyRef: {name: sec, key: c, optional: true}}}
      - {name: D, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
      - {name: E, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
      resources: {limits: {memory: 100Mi}}
      envFrom: [{configMapRef: {name: cfg}, prefix: CFG_}, {secretRef: {name: sec, optional: true}}]
`);
    expect(c.env).toEqual(['A=a']);
    expect(c.envRefs).toEqual({
      from: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }, { secretRef: { name: 'sec', optional: true } }],
      entries: [
        { name: 'A', value: 'a' },
        { name: 'B', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'b' } } },
        { name: 'C', valueFrom: { secretKeyRef: { name: 'sec', key: 'c', optional: true } } },
        { name: 'D', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'E', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } }, amount: 100 * 2 ** 20 },
      ],
    });
  });

  it('names the field of every problem', () => {
    const p = problems(
      base(
        ctr(`      env:
      - {name: A, value: x, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
      - {name: B, valueFrom: {}}
      - {name: C, valueFrom: {configMapKeyRef: {name: Bad_Name, key: "a/b"}}}
      - {name: D, valueFrom: {secretKeyRef: {key: k}}}
      - {name: E, valueFrom: {fieldRef: {fieldPath: metadata.labels}}}
      - {name: F, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
      - {name: G, valueFrom: {resourceFieldRef: {resource: limits.gpu}}}
      - {name: H, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1Mi}}}
      - {name: I, valueFrom: {resourceFieldRef: {resource: limits.cpu, containerName: nope}}}
      - {name: J, valueFrom: {configMapKeyRef: {name: c, key: k, extra: 1}}}
      envFrom:
      - {configMapRef: {name: a}, secretRef: {name: b}}
      - {prefix: "1X"}
      - {secretRef: {name: s, optional: "yes"}}
`),
      ),
    );
    expect(p).toEqual([
      'spec.containers[0].env[0].valueFrom: may not be given together with a non-empty value',
      'spec.containers[0].env[1].valueFrom: needs a source: configMapKeyRef, secretKeyRef, fieldRef or resourceFieldRef',
      expect.stringMatching(/^spec\.containers\[0\]\.env\[2\]\.valueFrom\.configMapKeyRef\.name: "Bad_Name" is not a valid object name/),
      "spec.containers[0].env[2].valueFrom.configMapKeyRef.key: \"a/b\" is not a valid key (letters, digits, '-', '_', '.')",
      'spec.containers[0].env[3].valueFrom.secretKeyRef.name: is required',
      expect.stringMatching(/^spec\.containers\[0\]\.env\[4\]\.valueFrom\.fieldRef\.fieldPath: "metadata\.labels" is not a field env can take/),
      expect.stringMatching(/^spec\.containers\[0\]\.env\[5\]\.valueFrom\.fieldRef\.fieldPath: "status\.hostIP" is not supported/),
      expect.stringMatching(/^spec\.containers\[0\]\.env\[6\]\.valueFrom\.resourceFieldRef\.resource: "limits\.gpu" is not a resource env can take/),
      'spec.containers[0].env[7].valueFrom.resourceFieldRef.divisor: "1Mi" is not a divisor of cpu (one of 1, 1m)',
      'spec.containers[0].env[8].valueFrom.resourceFieldRef.containerName: "nope" is not a container of this pod',
      'spec.containers[0].env[9].valueFrom.configMapKeyRef.extra: unknown field (not part of the supported v1/Pod subset)',
      'spec.containers[0].envFrom[0]: must have exactly one of configMapRef and secretRef',
      'spec.containers[0].envFrom[1]: needs configMapRef or secretRef',
      'spec.containers[0].envFrom[1].prefix: "1X" is not a valid environment variable name',
      'spec.containers[0].envFrom[2].secretRef.optional: must be true or false, got a string',
    ]);
  });

  it('--lenient: a field path one host has no value for is a warning, and the variable is not set', () => {
    const r = parseResolved(base(ctr('      env: [{name: U, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}]\n')), { lenient: true });
    expect(r.warnings.map((w) => w.path)).toEqual(['spec.containers[0].env[0].valueFrom.fieldRef.fieldPath']);
    expect(r.pods[0]!.containers[0]!.envRefs).toBeUndefined();
  });

  it('resourceFieldRef of another container reads its resources; requests default to limits, and to 0 without either', () => {
    const r = parseResolved(
      base(`    - name: app
      image: busybox
      env:
      - {name: SIDE_MEM, valueFrom: {resourceFieldRef: {containerName: side, resource: requests.memory}}}
      - {name: OWN_REQ, valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}}
      - {name: OWN_LIM, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}
    - name: side
      image: busybox
      resources: {limits: {memory: 64Mi}}
`),
    );
    expect(r.pods[0]!.containers[0]!.envRefs?.entries?.map((v) => [v.name, v.amount])).toEqual([
      ['SIDE_MEM', 64 * 2 ** 20],
      ['OWN_REQ', 0],
      ['OWN_LIM', undefined], // no limit: the node's allocatable, at start
    ]);
  });
});

describe('env: resolution at start', () => {
  it('Kubernetes precedence: image env < envFrom (in order) < the container env (later wins)', () => {
    const c = one(
      `      env:
      - {name: B, value: own-b}
      - {name: D, valueFrom: {configMapKeyRef: {name: one, key: d}}}
      - {name: D, value: literal-d-wins}
      - {name: E, value: literal-e}
      - {name: E, valueFrom: {secretKeyRef: {name: sec, key: e}}}
      envFrom: [{configMapRef: {name: one}}, {configMapRef: {name: two}}]
`,
      { imageDefaults: () => ({ env: ['PATH=/bin', 'A=image-a', 'B=image-b'] }) },
    );
    const env = envOf(c, facts([cm('one', { A: 'one-a', B: 'one-b', C: 'one-c', d: 'one-d' }), cm('two', { C: 'two-c' }), secret('sec', { e: 's3cret' })]));
    expect(env).toEqual({ PATH: '/bin', A: 'one-a', B: 'own-b', C: 'two-c', D: 'literal-d-wins', E: 's3cret', d: 'one-d' });
  });

  it('envFrom: prefix; keys that are no env names are skipped and reported (InvalidEnvironmentVariableNames)', () => {
    const c = one('      envFrom: [{configMapRef: {name: cfg}, prefix: CFG_}, {secretRef: {name: s}}]\n');
    const r = resolveEnv(c, facts([cm('cfg', { mode: 'fast', 'a.b': 'x' }), secret('s', { '1st': 'no', ok: 'yes' })]));
    expect(r.env).toEqual(['CFG_mode=fast', 'CFG_a.b=x', 'ok=yes']);
    expect(r.skipped).toEqual([{ source: 'secret s', keys: ['1st'] }]);
  });

  it('fieldRef: the pod name, namespace, a label, an annotation (empty when absent), the node, the pod IP', () => {
    const c = one(`      env:
      - {name: N, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
      - {name: NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace, apiVersion: v1}}}
      - {name: L, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
      - {name: NOL, valueFrom: {fieldRef: {fieldPath: "metadata.labels['none']"}}}
      - {name: AN, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['example.com/owner']"}}}
      - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
      - {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
`);
    expect(envOf(c, facts())).toEqual({ N: 'web', NS: 'default', L: 'shop', NOL: '', AN: 'ops', NODE: 'node1', IP: '10.88.0.7' });
  });

  it('a missing map, secret or key is a ContainerConfigError naming it; optional ones leave the variable unset', () => {
    const c = (ref: string) => one(`      env: [{name: V, valueFrom: ${ref}}]\n`);
    const err = (def: ContainerDefinition, f: EnvFacts) => {
      const e = thrown(() => resolveEnv(def, f));
      expect(e).toBeInstanceOf(ContainerConfigError);
      expect((e as ContainerConfigError).reason).toBe('CreateContainerConfigError');
      expect((e as ContainerConfigError).code).toBe('container-config');
      return (e as Error).message;
    };
    expect(err(c('{configMapKeyRef: {name: cfg, key: k}}'), facts())).toBe('container app: configmap "cfg" not found (env V)');
    expect(err(c('{secretKeyRef: {name: sec, key: k}}'), facts([cm('sec', { k: 'v' })]))).toBe('container app: secret "sec" not found (env V)');
    expect(err(c('{secretKeyRef: {name: sec, key: k}}'), facts([secret('sec', { other: 'v' })]))).toBe(
      "container app: couldn't find key k in Secret sec (env V)",
    );
    expect(err(one('      envFrom: [{configMapRef: {name: gone}}]\n'), facts())).toBe('container app: configmap "gone" not found (envFrom)');
    expect(envOf(c('{secretKeyRef: {name: sec, key: k, optional: true}}'), facts())).toEqual({});
    expect(envOf(c('{configMapKeyRef: {name: cfg, key: k, optional: true}}'), facts([cm('cfg', {})]))).toEqual({});
    expect(envOf(one('      envFrom: [{secretRef: {name: gone, optional: true}}]\n'), facts())).toEqual({});
  });

  it('a ConfigMap binaryData key is not env (as in Kubernetes)', () => {
    const c = one('      env: [{name: V, valueFrom: {configMapKeyRef: {name: cfg, key: bin}}}]\n');
    const e = thrown(() => resolveEnv(c, facts([{ ...cm('cfg', {}), binaryData: { bin: 'AAE=' } }])));
    expect((e as Error).message).toBe("container app: couldn't find key bin in ConfigMap cfg (env V)");
  });
});

describe('env: $(VAR) expansion, as Kubernetes does it', () => {
  const vars: Record<string, string> = { A: 'a', EMPTY: '' };
  it.each([
    ['$(A)', 'a'],
    ['x-$(A)-y', 'x-a-y'],
    ['$(EMPTY)|', '|'],
    ['$(UNSET)', '$(UNSET)'],
    ['$$(A)', '$(A)'],
    ['$$', '$'],
    ['$x $', '$x $'],
    ['$(A', '$(A'],
    ['$(A)$(A)', 'aa'],
    ['no dollar', 'no dollar'],
  ])('%s → %s', (input, want) => {
    expect(expand(input, (n) => vars[n])).toBe(want);
  });

  it('without references: expanded once, each value against what is set before it; command and args against all of it', () => {
    const c = one(`      env:
      - {name: B, value: "$(A)-b"}
      - {name: A, value: a}
      - {name: C, value: "$(A)-c"}
      - {name: D, value: "$$(A)"}
      command: [echo, "$(C)", "$(B)", "$(NONE)", "$$"]
`);
    expect(c.env).toEqual(['B=$(A)-b', 'A=a', 'C=a-c', 'D=$(A)']);
    expect(c.args).toEqual(['echo', 'a-c', '$(A)-b', '$(NONE)', '$']);
    expect(c.envRefs).toBeUndefined();
  });

  it("with references: at start, against envFrom and earlier entries (never the image's env); args (after the image's entrypoint) with the whole env", () => {
    const c = one(
      `      env:
      - {name: PASSWORD, valueFrom: {secretKeyRef: {name: db, key: pw}}}
      - {name: URL, value: "postgres://app:$(PASSWORD)@$(HOST)/$(PATH)"}
      args: [--url, "$(URL)", "--mode=$(MODE)"]
      envFrom: [{configMapRef: {name: cfg}}]
`,
      { imageDefaults: () => ({ entrypoint: ['/app'], env: ['PATH=/bin'] }) },
    );
    expect(c.envRefs?.args).toEqual(['--url', '$(URL)', '--mode=$(MODE)']);
    const r = resolveEnv(c, facts([secret('db', { pw: 'pw1' }), cm('cfg', { HOST: 'db.local', MODE: 'fast' })]));
    expect(r.env).toContain('URL=postgres://app:pw1@db.local/$(PATH)');
    expect(r.args).toEqual(['/app', '--url', 'postgres://app:pw1@db.local/$(PATH)', '--mode=fast']);
    expect(c.args).toEqual(['/app', '--url', '$(URL)', '--mode=$(MODE)']); // the record keeps what was written
  });

  it("export writes a CLI-made pod's `$` as `$$`, so up gives the very same argv and env back", () => {
    const p = parseResolved(base(ctr('      command: [sleep, "60"]\n'))).pods[0]!;
    const def = { ...p.containers[0]!, args: ['sh', '-c', 'echo $$ $(A) $$(B) $'], env: ['A=x', 'P=$(A)$$'] };
    const rec = { version: 2, def: p.pod, createdAt: '', cgroupVersion: 1, sandbox: {}, containers: [{ def }] } as unknown as PodRecord;
    const again = parseResolved(JSON.stringify(exportPod(rec))).pods[0]!.containers[0]!;
    expect(again.args).toEqual(def.args);
    expect(again.env).toEqual(def.env);
  });

  it('an optional key that is missing sets nothing: an earlier value of the name stays (the kubelet skips it)', () => {
    const c = one(`      env:
      - {name: V, value: first}
      - {name: V, valueFrom: {configMapKeyRef: {name: cfg, key: k, optional: true}}}
`);
    expect(envOf(c, facts())).toEqual({ V: 'first' });
  });
});

describe('env: resourceFieldRef rounding (the kubelet: up to whole divisor units)', () => {
  it.each([
    ['limits.cpu', 250, undefined, '1'], // 250m in cores: rounds up
    ['limits.cpu', 250, '1m', '250'],
    ['limits.cpu', 2000, '1', '2'],
    ['requests.cpu', 0, '1', '0'],
    ['limits.memory', 100 * 2 ** 20, '1Mi', '100'],
    ['limits.memory', 100 * 2 ** 20, '1M', '105'], // 104.8576 MB → 105
    ['limits.memory', 100 * 2 ** 20, undefined, String(100 * 2 ** 20)],
    ['limits.memory', 1, '1Gi', '1'],
  ] as const)('%s of %d by %s is %s', (resource, amount, divisor, want) => {
    expect(resourceValue(resource, amount, divisor)).toBe(want);
  });

  it("a missing limit is the node's allocatable (the host's CPUs and memory)", () => {
    const c = one(`      env:
      - {name: CPU, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}
      - {name: MEM, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
      - {name: REQ, valueFrom: {resourceFieldRef: {resource: requests.memory}}}
`);
    expect(envOf(c, facts())).toEqual({ CPU: '2', MEM: '4096', REQ: '0' });
  });
});

describe('env: never a value where people look', () => {
  it('--explain and the dry run describe references, and export writes them back as written', () => {
    const r = parseResolved(
      base(
        ctr(`      env: [{name: PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}, {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
      envFrom: [{configMapRef: {name: cfg}, prefix: APP_}]
`),
      ),
    );
    const def = r.pods[0]!.containers[0]!;
    expect(describeRefs(def.envRefs!)).toEqual(['envFrom configmap cfg (prefix APP_)', 'PASSWORD=<secret:db/password>', 'POD=<fieldRef:metadata.name>']);
    const rec = { def: r.pods[0]!.pod, containers: [{ def }] } as unknown as PodRecord;
    const spec = (exportPod(rec) as { spec: { containers: Record<string, unknown>[] } }).spec.containers[0]!;
    expect(spec.env).toEqual([
      { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ]);
    expect(spec.envFrom).toEqual([{ configMapRef: { name: 'cfg' }, prefix: 'APP_' }]);
  });
});
