/**
 * ConfigMaps and Secrets on real runc: documents stored by `up -f`, their
 * volumes' files (items, modes, read-only), a ConfigMap changed by a second
 * `up -f` reaching the running container without a restart (a subPath mount
 * keeps its file, as in Kubernetes), a missing one that is optional or not,
 * `down -f` removing what its file made, and the secret CLI. Judged by what
 * the container itself reads and by the files on the host.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { eventually, pidOf, readInContainer, skipReason, type TestEnv, test } from '../helpers/harness.js';

/** Writes a manifest of the test's own (under its state root). */
function manifest(t: TestEnv, name: string, text: string): string {
  const file = path.join(t.root, name);
  fs.writeFileSync(file, text);
  return file;
}

/** The dir of one kind in the data dir for this test's state root. */
const storeDir = (t: TestEnv, kind: 'configmaps' | 'secrets') => path.join('/var/lib/barepod', kind, t.cgroupRoot);

const configMap = (name: string, greeting: string) => `apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}}
data:
  greeting: ${greeting}
  other: unchanged
`;

interface PsRow {
  container: string;
  state: string;
  pid: number | null;
  restarts: number;
  reason: string | null;
  message: string | null;
}
const psRows = async (t: TestEnv, pod: string): Promise<PsRow[]> =>
  (JSON.parse(await t.ok(['ps', '--json'])) as { pods: { name: string; containers: PsRow[] }[] }).pods.find((p) => p.name === pod)?.containers ?? [];

describe.skipIf(skipReason)('ConfigMap and Secret volumes', () => {
  test('a ConfigMap changed by up -f reaches the running container (same process, no restart); a subPath mount keeps its file', async ({ t }) => {
    const pod = t.pod('live');
    const cm = `${t.prefix}-cfg`;
    const podDoc = `apiVersion: v1
kind: Pod
metadata: {name: ${pod}, annotations: {barepod.io/network: none}}
spec:
  restartPolicy: Never
  volumes:
  - {name: cfg, configMap: {name: ${cm}}}
  containers:
  - name: app
    image: busybox
    # the container reads the file itself, again and again: what it saw last is in /tmp/seen
    command: [sh, -c, 'while true; do cat /etc/cfg/greeting > /tmp/seen.new 2>/dev/null && mv /tmp/seen.new /tmp/seen; sleep 0.1; done']
    volumeMounts:
    - {name: cfg, mountPath: /etc/cfg}
    - {name: cfg, mountPath: /etc/pinned, subPath: greeting}
`;
    const file = manifest(t, 'live.yaml', `${configMap(cm, 'hello')}---\n${podDoc}`);
    expect(await t.ok(['up', '-f', file])).toContain(`configmap/${cm} created`);
    const pid = await pidOf(t, pod, 'app');
    expect(await eventually(() => readInContainer(pid, '/tmp/seen'), 15_000, 'the first read')).toBe('hello');
    expect(readInContainer(pid, '/etc/pinned')).toBe('hello');

    fs.writeFileSync(file, `${configMap(cm, 'bonjour')}---\n${podDoc}`);
    const out = await t.ok(['up', '-f', file]);
    expect(out).toContain(`configmap/${cm} configured`);
    expect(out).toContain(`pod/${pod} unchanged`);
    // the container's own read sees the new value
    expect(await eventually(() => readInContainer(pid, '/tmp/seen') === 'bonjour', 15_000, 'the new value in the container')).toBe(true);
    // the very same process, never restarted
    const app = (await psRows(t, pod)).find((r) => r.container === 'app')!;
    expect(app).toMatchObject({ state: 'running', pid, restarts: 0 });
    expect(fs.existsSync(`/proc/${pid}`)).toBe(true);
    // subPath: the file it was started with (Kubernetes does not update a subPath mount)
    expect(readInContainer(pid, '/etc/pinned')).toBe('hello');
    // on the host: one version dir, ..data pointing at it, the key a link into it
    const vol = path.join(t.root, 'pods', pod, 'volumes', 'cfg');
    const versions = fs.readdirSync(vol).filter((e) => e.startsWith('..') && e !== '..data');
    expect(versions).toHaveLength(1);
    expect(fs.readlinkSync(path.join(vol, '..data'))).toBe(versions[0]);
    expect(fs.readlinkSync(path.join(vol, 'greeting'))).toBe('..data/greeting');
    await t.ok(['down', '-f', file]);
  });

  test('items and defaultMode give the paths and modes the container sees; the volume is read-only; the downward API and a projected volume', async ({ t }) => {
    const pod = t.pod('modes');
    const cm = `${t.prefix}-cm`;
    const sec = `${t.prefix}-sec`;
    const file = manifest(
      t,
      'modes.yaml',
      `${configMap(cm, 'hi')}---
apiVersion: v1
kind: Secret
metadata: {name: ${sec}}
stringData: {password: pw-value}
---
apiVersion: v1
kind: Pod
metadata: {name: ${pod}, labels: {app: modes}, annotations: {barepod.io/network: none}}
spec:
  restartPolicy: Never
  volumes:
  - {name: cfg, configMap: {name: ${cm}, defaultMode: 0640, items: [{key: greeting, path: sub/hello.txt, mode: 0400}, {key: other, path: other}]}}
  - {name: sec, secret: {secretName: ${sec}, defaultMode: 0400}}
  - name: info
    downwardAPI:
      items:
      - {path: name, fieldRef: {fieldPath: metadata.name}}
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: mem, resourceFieldRef: {containerName: app, resource: limits.memory, divisor: 1Mi}}
  - {name: all, projected: {sources: [{configMap: {name: ${cm}, items: [{key: other, path: o}]}}, {secret: {name: ${sec}}}]}}
  containers:
  - name: app
    image: busybox
    command: [sh, -c, 'touch /etc/cfg/x 2>/tmp/ro-error; stat -L -c "%a %n" /etc/cfg/sub/hello.txt /etc/cfg/other /etc/sec/password > /tmp/modes; exec sleep 3600']
    resources: {limits: {memory: 48Mi}}
    volumeMounts:
    - {name: cfg, mountPath: /etc/cfg}
    - {name: sec, mountPath: /etc/sec}
    - {name: info, mountPath: /etc/info}
    - {name: all, mountPath: /etc/all}
`,
    );
    await t.ok(['up', '-f', file]);
    const pid = await pidOf(t, pod, 'app');
    expect(await eventually(() => readInContainer(pid, '/tmp/modes'), 15_000, 'the modes')).toBe(
      '400 /etc/cfg/sub/hello.txt\n640 /etc/cfg/other\n400 /etc/sec/password\n',
    );
    expect(await eventually(() => readInContainer(pid, '/tmp/ro-error'))).toContain('Read-only file system');
    expect(readInContainer(pid, '/etc/cfg/sub/hello.txt')).toBe('hi');
    expect(readInContainer(pid, '/etc/sec/password')).toBe('pw-value');
    expect(readInContainer(pid, '/etc/info/name')).toBe(pod);
    expect(readInContainer(pid, '/etc/info/labels')).toBe('app="modes"');
    expect(readInContainer(pid, '/etc/info/mem')).toBe('48');
    expect(readInContainer(pid, '/etc/all/o')).toBe('unchanged');
    expect(readInContainer(pid, '/etc/all/password')).toBe('pw-value');
    // the store: 0600 files in 0700 dirs
    for (const [kind, name] of [
      ['configmaps', cm],
      ['secrets', sec],
    ] as const) {
      const f = path.join(storeDir(t, kind), `${name}.json`);
      expect((fs.statSync(f).mode & 0o777).toString(8)).toBe('600');
      expect((fs.statSync(path.dirname(f)).mode & 0o777).toString(8)).toBe('700');
    }
    await t.ok(['down', '-f', file]);
  });

  test('a missing optional ConfigMap: the container runs with an empty volume; one that is not optional: the container waits with CreateContainerConfigError until up -f brings it', async ({
    t,
  }) => {
    const pod = t.pod('opt');
    const doc = (optional: boolean) => `apiVersion: v1
kind: Pod
metadata: {name: ${pod}, annotations: {barepod.io/network: none}}
spec:
  restartPolicy: Never
  volumes: [{name: cfg, configMap: {name: ${t.prefix}-absent, optional: ${optional}}}]
  containers:
  - {name: app, image: busybox, command: [sleep, '3600'], volumeMounts: [{name: cfg, mountPath: /etc/cfg}]}
`;
    await t.ok(['up', '-f', manifest(t, 'opt.yaml', doc(true))]);
    const pid = await pidOf(t, pod, 'app');
    expect(fs.readdirSync(`/proc/${pid}/root/etc/cfg`).filter((e) => !e.startsWith('..'))).toEqual([]);
    await t.ok(['down', pod]);

    const req = manifest(t, 'req.yaml', doc(false));
    const r = await t.bp(['up', '-f', req]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`configmap "${t.prefix}-absent" not found (volume "cfg")`);
    // the container waits with Kubernetes' reason, nothing of it was started
    expect((await psRows(t, pod)).find((x) => x.container === 'app')).toMatchObject({
      state: 'waiting',
      pid: null,
      reason: 'CreateContainerConfigError',
      message: `configmap "${t.prefix}-absent" not found (volume "cfg")`,
    });
    // once the ConfigMap exists, up -f of the same file starts it, with its files
    fs.writeFileSync(req, `${configMap(`${t.prefix}-absent`, 'here')}---\n${fs.readFileSync(req, 'utf8')}`);
    await t.ok(['up', '-f', req]);
    const started = await pidOf(t, pod, 'app');
    expect(readInContainer(started, '/etc/cfg/greeting')).toBe('here');
    await t.ok(['down', '-f', req]);
  });

  test('a ConfigMap removed while the pod runs: the volume keeps its files, and the container starts again with them', async ({ t }) => {
    const pod = t.pod('gone');
    const cm = `${t.prefix}-gone`;
    const file = manifest(
      t,
      'gone.yaml',
      `${configMap(cm, 'kept')}---
apiVersion: v1
kind: Pod
metadata: {name: ${pod}, annotations: {barepod.io/network: none}}
spec:
  restartPolicy: Never
  volumes: [{name: cfg, configMap: {name: ${cm}}}]
  containers:
  - {name: app, image: busybox, command: [sleep, '3600'], volumeMounts: [{name: cfg, mountPath: /etc/cfg}]}
`,
    );
    await t.ok(['up', '-f', file]);
    await t.ok(['configmap', 'rm', cm]);
    await t.ok(['stop', pod, 'app', '-t', '0']);
    await t.ok(['start', pod, 'app']);
    const pid = await pidOf(t, pod, 'app');
    expect(readInContainer(pid, '/etc/cfg/greeting')).toBe('kept');
    await t.ok(['down', pod]);
  });

  test('down -f removes the ConfigMaps and Secrets its file made, and keeps one another file made since', async ({ t }) => {
    const a = `${t.prefix}-a`;
    const b = `${t.prefix}-b`;
    const s = `${t.prefix}-s`;
    const first = manifest(
      t,
      'first.yaml',
      `${configMap(a, 'x')}---\n${configMap(b, 'x')}---\napiVersion: v1\nkind: Secret\nmetadata: {name: ${s}}\nstringData: {k: v}\n`,
    );
    const other = manifest(t, 'other.yaml', configMap(b, 'y'));
    await t.ok(['up', '-f', first]);
    await t.ok(['up', '-f', other]);
    const ls = JSON.parse(await t.ok(['configmap', 'ls', '--json'])) as { name: string; madeBy: string }[];
    expect(ls.map((r) => [r.name, r.madeBy])).toEqual([
      [a, `file:${first}`],
      [b, `file:${other}`],
    ]);
    const out = await t.ok(['down', '-f', first]);
    expect(out).toContain(`configmap/${a} removed`);
    expect(out).toContain(`secret/${s} removed`);
    expect(fs.existsSync(path.join(storeDir(t, 'configmaps'), `${a}.json`))).toBe(false);
    expect(fs.existsSync(path.join(storeDir(t, 'secrets'), `${s}.json`))).toBe(false);
    expect(fs.existsSync(path.join(storeDir(t, 'configmaps'), `${b}.json`))).toBe(true);
    // --configmap FILE: its objects are stored too; a pod in such a file is refused
    const extra = manifest(t, 'extra.yaml', configMap(`${t.prefix}-extra`, 'z'));
    await t.ok(['up', '-f', other, '--configmap', extra]);
    expect(fs.existsSync(path.join(storeDir(t, 'configmaps'), `${t.prefix}-extra.json`))).toBe(true);
    const bad = await t.bp([
      'up',
      '-f',
      other,
      '--configmap',
      manifest(t, 'pod.yaml', `apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, image: busybox}]}\n`),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('a --configmap file holds only ConfigMaps and Secrets');
  });

  test('an immutable ConfigMap that would change is refused, and nothing of the file is stored', async ({ t }) => {
    const cm = `${t.prefix}-frozen`;
    const other = `${t.prefix}-other`;
    await t.ok(['up', '-f', manifest(t, 'a.yaml', `${configMap(cm, 'one')}immutable: true\n`)]);
    const r = await t.bp(['up', '-f', manifest(t, 'b.yaml', `${configMap(other, 'x')}---\n${configMap(cm, 'two')}immutable: true\n`)]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`ConfigMap "${cm}" is immutable and differs from the one given`);
    expect(fs.existsSync(path.join(storeDir(t, 'configmaps'), `${other}.json`))).toBe(false);
    const stored = JSON.parse(fs.readFileSync(path.join(storeDir(t, 'configmaps'), `${cm}.json`), 'utf8')) as { data: Record<string, string> };
    expect(stored.data.greeting).toBe('one');
  });

  test('secret create / ls / inspect (values hidden unless --showsecret) / rm, and a running pod gets a replaced Secret', async ({ t }) => {
    const name = `${t.prefix}-db`;
    const value = 'pa55-word-value';
    const valueFile = path.join(t.root, 'token.txt');
    fs.writeFileSync(valueFile, 'file-token\n');
    expect(JSON.parse(await t.ok(['secret', 'create', name, '--from-literal', `password=${value}`, '--from-file', valueFile, '--json']))).toEqual({
      kind: 'Secret',
      name,
      outcome: 'created',
    });
    const again = await t.bp(['secret', 'create', name, '--from-literal', 'password=x']);
    expect(again.code).toBe(4);
    const ls = JSON.parse(await t.ok(['secret', 'ls', '--json'])) as unknown[];
    expect(ls).toEqual([expect.objectContaining({ name, type: 'Opaque', keys: ['password', 'token.txt'], madeBy: 'cli' })]);
    expect(await t.ok(['secret', 'ls'])).not.toContain(value);
    const hidden = await t.ok(['secret', 'inspect', name, '--json']);
    expect(hidden).not.toContain(value);
    expect(hidden).not.toContain(Buffer.from(value).toString('base64'));
    expect(JSON.parse(hidden)).toEqual([expect.objectContaining({ dataBytes: { password: value.length, 'token.txt': 11 } })]);
    const shown = JSON.parse(await t.ok(['secret', 'inspect', name, '--showsecret'])) as { data: Record<string, string> }[];
    expect(Buffer.from(shown[0]!.data.password!, 'base64').toString()).toBe(value);

    // a pod mounting it sees a --replace at once
    const pod = t.pod('sec');
    await t.ok([
      'up',
      '-f',
      manifest(
        t,
        'sec.yaml',
        `apiVersion: v1
kind: Pod
metadata: {name: ${pod}, annotations: {barepod.io/network: none}}
spec:
  restartPolicy: Never
  volumes: [{name: s, secret: {secretName: ${name}}}]
  containers:
  - {name: app, image: busybox, command: [sleep, '3600'], volumeMounts: [{name: s, mountPath: /s}]}
`,
      ),
    ]);
    const pid = await pidOf(t, pod, 'app');
    expect(readInContainer(pid, '/s/password')).toBe(value);
    expect((await t.ok(['secret', 'create', name, '--from-literal', 'password=new-one', '--replace'])).split('\n')).toEqual(
      expect.arrayContaining([`secret/${name} configured`, `pod/${pod} volume s updated`]),
    );
    expect(readInContainer(pid, '/s/password')).toBe('new-one');
    expect(readInContainer(pid, '/s/token.txt')).toBeUndefined();

    expect(JSON.parse(await t.ok(['secret', 'rm', name, `${t.prefix}-none`, '--ignore', '--json']))).toEqual([
      { name, outcome: 'removed' },
      { name: `${t.prefix}-none`, outcome: 'not-found' },
    ]);
    expect(fs.existsSync(path.join(storeDir(t, 'secrets'), `${name}.json`))).toBe(false);
    // the pod keeps the files it has (as in Kubernetes)
    expect(readInContainer(pid, '/s/password')).toBe('new-one');
    expect((await t.bp(['secret', 'rm', name])).code).toBe(3);
    expect((await t.bp(['secret', 'inspect', '../../etc/passwd'])).code).toBe(2);
    await t.ok(['down', pod]);
  });
});
