/**
 * ConfigMap and Secret documents, and the volumes that show them: the
 * readers (every problem at its field path, a Secret's value never in a
 * message), the payload of each volume kind (items, modes, optional, the
 * downward API), and the store's write side (immutable, who made it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManifestError, parseManifests } from '../../src/manifest/pod.js';
import { storedForm } from '../../src/manifest/config-objects.js';
import type { StoredConfig, VolumeDefinition } from '../../src/model.js';
import { downwardFacts, volumePayload, type DownwardFacts } from '../../src/pod/config-volumes.js';
import { configFile, readConfig, removeConfig, writeConfig } from '../../src/pod/config-store.js';
import { thrown } from '../helpers/thrown.js';

function problems(text: string): string[] {
  const e = thrown(() => parseManifests(text, { file: 'cm.yaml' }));
  expect(e).toBeInstanceOf(ManifestError);
  return (e as ManifestError).issues.map((i) => `${i.path}: ${i.message}`);
}

describe('ConfigMap and Secret documents', () => {
  it('reads a ConfigMap and a Secret (stringData folded into base64 data) beside a pod', () => {
    const r = parseManifests(`apiVersion: v1
kind: ConfigMap
metadata: {name: app.config, labels: {a: b}}
data: {greeting: hello, app.conf: "x=1\\n"}
binaryData: {blob: AAEC}
---
apiVersion: v1
kind: Secret
metadata: {name: db}
data: {user: YWRtaW4=}
stringData: {password: s3cret}
immutable: true
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec: {containers: [{name: app, image: busybox}]}
`);
    expect(r.pods.map((p) => p.pod.name)).toEqual(['web']);
    expect(r.objects.map((o) => `${o.kind}/${o.name}`)).toEqual(['ConfigMap/app.config', 'Secret/db']);
    expect(storedForm(r.objects[0]!)).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'app.config', labels: { a: 'b' } },
      data: { greeting: 'hello', 'app.conf': 'x=1\n' },
      binaryData: { blob: 'AAEC' },
    });
    expect(storedForm(r.objects[1]!)).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db' },
      data: { user: 'YWRtaW4=', password: Buffer.from('s3cret').toString('base64') },
      type: 'Opaque',
      immutable: true,
    });
  });

  it('refuses bad names, keys, base64 and unknown fields at their paths, and never quotes a Secret value', () => {
    const got = problems(`apiVersion: v1
kind: Secret
metadata: {name: Bad_Name}
data: {"a/b": eA==, good: "not base64!!TOPSECRET"}
stringData: {..x: y}
type: kubernetes.io/tls
extra: 1
`);
    expect(got).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^metadata\.name: "Bad_Name" must be a DNS-1123 subdomain/),
        expect.stringMatching(/^data\.a\/b: "a\/b" is not a valid key/),
        'data.good: is not valid base64 (its value is not shown)',
        expect.stringMatching(/^stringData\.\.\.x: "\.\.x" must not start with "\.\."/),
        'data: a Secret of type kubernetes.io/tls must have the key "tls.crt"',
        expect.stringMatching(/^extra: /),
      ]),
    );
    expect(got.join('\n')).not.toContain('TOPSECRET');
  });

  it('refuses more than 1 MiB of data, a key in both data and binaryData, and a name defined twice', () => {
    const big = 'x'.repeat(1024 * 1024);
    expect(problems(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {a: "${big}"}\n`)).toEqual([
      `data: ${1024 * 1024 + 1} bytes of keys and values: more than the limit of 1 MiB (1048576 bytes) of a ConfigMap`,
    ]);
    expect(problems(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: x}\nbinaryData: {a: eA==}\n`)).toEqual([
      'binaryData.a: is a key of data too: a key is in one of them',
    ]);
    expect(problems(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n`)).toEqual([
      '(file): ConfigMap/c is defined twice in this file',
    ]);
  });

  it('volumes: items paths without "..", modes up to 0777 (YAML 0644 is octal, as in Kubernetes), known downward fields and containers', () => {
    const pod = (vols: string) => `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers: [{name: app, image: busybox}]
  volumes:
${vols}`;
    const ok = parseManifests(pod('  - {name: c, configMap: {name: cm, defaultMode: 0644, items: [{key: k, path: a/b, mode: 0400}]}}\n'));
    expect(ok.pods[0]!.pod.volumes).toEqual([
      {
        kind: 'configMap',
        name: 'c',
        defaultMode: 0o644,
        sources: [{ kind: 'configMap', name: 'cm', items: [{ key: 'k', path: 'a/b', mode: 0o400 }], optional: false }],
      },
    ]);
    expect(
      problems(
        pod(`  - {name: a, configMap: {name: cm, items: [{key: k, path: ../etc/x}, {key: k, path: /abs}, {key: k, path: ..data}]}}
  - {name: b, secret: {secretName: s, defaultMode: 0o1777}}
  - name: d
    downwardAPI:
      items:
      - {path: ip, fieldRef: {fieldPath: status.podIP}}
      - {path: mem, resourceFieldRef: {containerName: nope, resource: limits.memory}}
      - {path: cpu, resourceFieldRef: {containerName: app, resource: limits.cpu, divisor: 2}}
  - {name: p, projected: {sources: [{serviceAccountToken: {path: t}}]}}
`),
      ),
    ).toEqual([
      'spec.volumes[0].configMap.items[0].path: "../etc/x" must not contain ".."',
      'spec.volumes[0].configMap.items[1].path: "/abs" must be a relative path',
      'spec.volumes[0].configMap.items[2].path: "..data" must not start with ".."',
      "spec.volumes[1].secret.defaultMode: must be a file mode from 0 to 0777 (511), got 01777 (1023); YAML's 0644 and 0o644 are octal",
      expect.stringMatching(/^spec\.volumes\[2\]\.downwardAPI\.items\[0\]\.fieldRef\.fieldPath: "status\.podIP" is not supported in a volume/),
      'spec.volumes[2].downwardAPI.items[1].resourceFieldRef.containerName: "nope" is not a container of this pod',
      expect.stringMatching(/^spec\.volumes\[2\]\.downwardAPI\.items\[2\]\.resourceFieldRef\.divisor: "2" is not a divisor of limits\.cpu/),
      'spec.volumes[3].projected.sources[0].serviceAccountToken: is not supported by barepod',
    ]);
  });
});

describe('what a volume holds', () => {
  const cm: StoredConfig = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { a: 'A', b: 'B' }, binaryData: { bin: 'AAE=' } };
  const sec: StoredConfig = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, data: { pw: Buffer.from('hunter2').toString('base64') } };
  const lookup = (kind: string, name: string) => [cm, sec].find((c) => c.kind === kind && c.metadata.name === name);
  const facts: DownwardFacts = {
    name: 'web',
    labels: { app: 'web', tier: 'a "b"' },
    annotations: {},
    resources: { app: { limits: { cpu: '250m', memory: '64Mi' } }, side: { requests: { memory: '1Gi' } } },
    allocatable: { cpuMillis: 2000, memoryBytes: 8 << 30 },
  };
  const files = (v: VolumeDefinition) => {
    const r = volumePayload(v as never, lookup, facts);
    if ('missing' in r) return r.missing;
    return Object.fromEntries([...r.payload].map(([p, f]) => [p, `${f.data.toString()} ${f.mode.toString(8)}`]));
  };

  it('every key at its name, or the items asked for at their paths and modes', () => {
    expect(files({ kind: 'configMap', name: 'v', defaultMode: 0o644, sources: [{ kind: 'configMap', name: 'cm', optional: false }] })).toEqual({
      a: 'A 644',
      b: 'B 644',
      bin: '\x00\x01 644',
    });
    expect(
      files({
        kind: 'secret',
        name: 'v',
        defaultMode: 0o400,
        sources: [{ kind: 'secret', name: 'db', items: [{ key: 'pw', path: 'x/pw', mode: 0o440 }], optional: false }],
      }),
    ).toEqual({ 'x/pw': 'hunter2 440' });
  });

  it('a missing object or key is the container config error (Kubernetes words) unless optional', () => {
    expect(files({ kind: 'configMap', name: 'v', defaultMode: 0o644, sources: [{ kind: 'configMap', name: 'gone', optional: false }] })).toBe(
      'configmap "gone" not found (volume "v")',
    );
    expect(files({ kind: 'configMap', name: 'v', defaultMode: 0o644, sources: [{ kind: 'configMap', name: 'gone', optional: true }] })).toEqual({});
    expect(
      files({
        kind: 'secret',
        name: 'v',
        defaultMode: 0o644,
        sources: [{ kind: 'secret', name: 'db', items: [{ key: 'nokey', path: 'k' }], optional: false }],
      }),
    ).toBe('secret "db" has no key "nokey" (volume "v", items)');
  });

  it('the downward API: name, namespace, labels as key="value" lines, resources in divisor units rounded up, the host for a missing limit', () => {
    const item = (path: string, ref: object) => ({ path, ...ref });
    expect(
      files({
        kind: 'downwardAPI',
        name: 'v',
        defaultMode: 0o644,
        sources: [
          {
            kind: 'downwardAPI',
            items: [
              item('name', { fieldRef: { fieldPath: 'metadata.name' } }),
              item('ns', { fieldRef: { fieldPath: 'metadata.namespace' } }),
              item('labels', { fieldRef: { fieldPath: 'metadata.labels' } }),
              item('app', { fieldRef: { fieldPath: "metadata.labels['app']" } }),
              item('cpu', { resourceFieldRef: { containerName: 'app', resource: 'limits.cpu' } }),
              item('cpum', { resourceFieldRef: { containerName: 'app', resource: 'limits.cpu', divisor: '1m' } }),
              item('mem', { resourceFieldRef: { containerName: 'app', resource: 'requests.memory', divisor: '1Mi' } }),
              item('sidecpu', { resourceFieldRef: { containerName: 'side', resource: 'limits.cpu' } }),
              item('sidemem', { resourceFieldRef: { containerName: 'side', resource: 'requests.memory', divisor: '1Gi' } }),
            ],
          },
        ],
      }),
    ).toEqual({
      name: 'web 644',
      ns: 'default 644',
      labels: 'app="web"\ntier="a \\"b\\"" 644',
      app: 'web 644',
      cpu: '1 644',
      cpum: '250 644',
      mem: '64 644',
      sidecpu: '2 644',
      sidemem: '1 644',
    });
  });

  it("downwardFacts reads the containers' resources from the pod's manifest", () => {
    const f = downwardFacts({
      def: { name: 'web', labels: { a: 'b' } } as never,
      manifest: { hash: '', source: { spec: { containers: [{ name: 'app', resources: { limits: { cpu: '1' } } }] } } },
    });
    expect(f).toMatchObject({ name: 'web', labels: { a: 'b' }, annotations: {}, resources: { app: { limits: { cpu: '1' } } } });
  });
});

describe('the ConfigMap/Secret store', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  const settings = () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-store-'));
    return { dataDir: dir, cgroupRoot: 'barepod-12345678' };
  };
  const cm = (data: Record<string, string>, immutable?: boolean): StoredConfig => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cm' },
    data,
    ...(immutable ? { immutable } : {}),
  });

  it('writes 0600 in 0700 dirs, says created / unchanged / configured, records who made it, removes', () => {
    const s = settings();
    expect(writeConfig(s, cm({ a: '1' }), 'file:/a.yaml')).toBe('created');
    const file = configFile(s, 'ConfigMap', 'cm');
    expect(file).toBe(path.join(dir!, 'configmaps', 'barepod-12345678', 'cm.json'));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(writeConfig(s, cm({ a: '1' }), 'file:/a.yaml')).toBe('unchanged');
    expect(writeConfig(s, cm({ a: '2' }), 'file:/b.yaml')).toBe('configured');
    expect(readConfig(s, 'ConfigMap', 'cm')).toMatchObject({ data: { a: '2' }, barepod: { madeBy: 'file:/b.yaml' } });
    expect(removeConfig(s, 'ConfigMap', 'cm')).toBe(true);
    expect(removeConfig(s, 'ConfigMap', 'cm')).toBe(false);
  });

  it('an immutable object is never changed, and a name that is not a subdomain never names a file', () => {
    const s = settings();
    writeConfig(s, cm({ a: '1' }, true), 'cli');
    expect(writeConfig(s, cm({ a: '1' }, true), 'cli')).toBe('unchanged');
    expect(thrown(() => writeConfig(s, cm({ a: '2' }, true), 'cli')).message).toBe('ConfigMap "cm" is immutable and differs from the one given');
    expect(readConfig(s, 'ConfigMap', 'cm')?.data).toEqual({ a: '1' });
    expect(thrown(() => readConfig(s, 'Secret', '../../etc/passwd')).message).toMatch(/^invalid Secret name "..\/..\/etc\/passwd"/);
  });
});
