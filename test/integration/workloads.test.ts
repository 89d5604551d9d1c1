/**
 * Deployments and PersistentVolumeClaims on real runc: a Deployment is one
 * pod (named as podman names it, its labels carried, its owner recorded),
 * idempotent, scaled to 0 and taken down by its file; a claim's data outlives
 * the pod (checked on disk, and read back by the next pod) until `volume rm`
 * or `down --volumes`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, inspect, skipReason, type TestEnv, useTestEnv } from '../helpers/harness.js';

/** Where this test's state root keeps its named volumes (the data dir is the host's: the test removes what it made). */
const volumesOf = (t: TestEnv) => path.join('/var/lib/barepod/volumes', t.cgroupRoot);

function write(t: TestEnv, name: string, text: string): string {
  const file = path.join(t.root, name);
  fs.writeFileSync(file, text);
  return file;
}

const deployment = (name: string, replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels: {app: web, team: docs}
  annotations: {owner: kube-docs}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web, version: "1"}
    spec:
      containers: [{name: app, image: busybox, command: [sleep, "3600"]}]
`;

interface PodRow {
  name: string;
  state: string;
  owner: string | null;
}
const podRows = async (t: TestEnv) => JSON.parse(await t.ok(['pod', 'ls', '--json'])) as PodRow[];

interface VolumeRow {
  name: string;
  createdBy: string;
  storage: string | null;
  pods: string[];
  mountpoint: string;
}

describe.skipIf(skipReason)('Deployments', () => {
  const t = useTestEnv();

  it("up makes one pod <name>-pod-0 with the workload's labels and owner; again: unchanged; replicas 0 removes it; down -f removes it", async () => {
    const name = `${t.prefix}-web`;
    const pod = t.pod('web-pod-0');
    const one = write(t, 'one.yaml', deployment(name, 1));
    expect(await t.ok(['up', '-f', one, '--wait', '--timeout', '60s'])).toBe(`pod/${pod} created\n`);
    const v = await inspect(t, pod);
    expect(v.state).toBe('Running');
    const view = v as unknown as { owner: string; labels: Record<string, string>; annotations: Record<string, string> };
    expect(view.owner).toBe(`Deployment/${name}`);
    expect(view.labels).toEqual({ app: 'web', team: 'docs', version: '1' });
    expect(view.annotations).toEqual({ owner: 'kube-docs' });
    expect((await podRows(t)).map((r) => [r.name, r.state, r.owner])).toEqual([[pod, 'Running', `Deployment/${name}`]]);
    // the container runs: its process is on the host
    const pid = v.containers.find((c) => c.name === 'app')?.pid;
    expect(pid).toBeGreaterThan(0);
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toBe('sleep\u00003600\u0000');

    // the same file again: nothing to do
    expect(await t.ok(['up', '-f', one])).toBe(`pod/${pod} unchanged\n`);
    expect((await inspect(t, pod)).sandbox.pid).toBe(v.sandbox.pid);

    // scaled to 0: the pod goes, as scaling a Deployment to 0 does
    const zero = write(t, 'zero.yaml', deployment(name, 0));
    expect(await t.ok(['up', '-f', zero])).toBe(`deployment/${name} scaled to 0 (pod ${pod}): its pod was removed\n`);
    expect(await podRows(t)).toEqual([]);
    await eventually(() => !fs.existsSync(`/proc/${pid}`), 10_000, 'the container process to be gone');
    expect(await t.ok(['up', '-f', zero])).toBe(`deployment/${name} scaled to 0 (pod ${pod})\n`);

    // back to 1, then down -f with the replicas-0 file still removes the workload's pod
    await t.ok(['up', '-f', one]);
    expect((await podRows(t)).map((r) => r.name)).toEqual([pod]);
    expect(JSON.parse(await t.ok(['down', '-f', zero, '--json']))).toEqual([{ pod, outcome: 'removed' }]);
    expect(await podRows(t)).toEqual([]);
  });

  it('replicas 0 leaves alone a pod of that name the Deployment did not make (up and down -f)', async () => {
    const name = `${t.prefix}-web`;
    const pod = t.pod('web-pod-0');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    const r = await t.bp(['up', '-f', write(t, 'zero.yaml', deployment(name, 0))]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Deployment/${name} has replicas 0, but pod "${pod}" was not made by it (no owner): left as it is`);
    expect((await podRows(t)).map((p) => p.name)).toEqual([pod]);
    // and down -f of that file does not take it either: the file makes no pod of that name
    expect(JSON.parse(await t.ok(['down', '-f', path.join(t.root, 'zero.yaml'), '--json']))).toEqual([]);
    expect((await podRows(t)).map((p) => p.name)).toEqual([pod]);
    await t.ok(['pod', 'rm', pod]);
  });
});

describe.skipIf(skipReason)('PersistentVolumeClaims', () => {
  const t = useTestEnv();
  afterEach(() => {
    // named volumes are not leaks, but this test's must go: its state root's volumes dir, whatever a failure left
    fs.rmSync(volumesOf(t), { recursive: true, force: true });
  });

  const claimFile = (claim: string, pod: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${pod}}
spec:
  restartPolicy: Never
  volumes: [{name: data, persistentVolumeClaim: {claimName: ${claim}}}]
  containers:
    - name: app
      image: busybox
      command: [sh, -c, "cat /data/log 2>/dev/null; echo run >> /data/log; exec sleep 3600"]
      volumeMounts: [{name: data, mountPath: /data}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${claim}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 16Mi}}
`;

  it('the data a pod wrote survives down and up (on disk, and read back by the new pod); rm is refused while a pod uses it; down --volumes removes it', async () => {
    const claim = `${t.prefix}-data`;
    const pod = t.pod('db');
    const file = write(t, 'db.yaml', claimFile(claim, pod));
    // the claim is applied before the pod, though it comes after it in the file
    expect(await t.ok(['up', '-f', file])).toBe(`persistentvolumeclaim/${claim} created\npod/${pod} created\n`);
    const dir = path.join(volumesOf(t), claim);
    const log = path.join(dir, '_data', 'log');
    await eventually(() => fs.existsSync(log) && fs.readFileSync(log, 'utf8') === 'run\n', 15_000, 'the pod to write its log');
    // on the host: 0700 volume dir, 0755 data dir, 0600 metadata with the claim's request and the pod
    expect(fs.statSync(dir).mode & 0o7777).toBe(0o700);
    expect(fs.statSync(path.join(dir, '_data')).mode & 0o7777).toBe(0o755);
    expect(fs.statSync(path.join(dir, 'volume.json')).mode & 0o7777).toBe(0o600);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'volume.json'), 'utf8')) as Record<string, unknown>;
    expect(meta).toMatchObject({
      name: claim,
      createdBy: 'PersistentVolumeClaim',
      claim: { accessModes: ['ReadWriteOnce'], storageBytes: 16 << 20 },
      pods: [pod],
    });

    const ls = JSON.parse(await t.ok(['volume', 'ls', '--json'])) as VolumeRow[];
    expect(ls.map((v) => [v.name, v.createdBy, v.storage, v.pods, v.mountpoint])).toEqual([
      [claim, 'PersistentVolumeClaim', '16Mi', [pod], path.join(dir, '_data')],
    ]);
    const [info] = JSON.parse(await t.ok(['volume', 'inspect', claim])) as { usage: { bytes: number; files: number } }[];
    expect(info!.usage).toEqual({ bytes: 4, files: 1 });

    // in use: refused, naming the pod; the data is intact
    const busy = await t.bp(['volume', 'rm', claim]);
    expect(busy.code).toBe(4);
    expect(busy.stderr).toContain(`volume "${claim}" is used by pod "${pod}"`);
    expect(fs.readFileSync(log, 'utf8')).toBe('run\n');

    // down keeps the data; up again: the new pod reads what the old one wrote
    expect(await t.ok(['down', '-f', file])).toBe(`pod/${pod} removed\n`);
    expect(fs.readFileSync(log, 'utf8')).toBe('run\n');
    expect((JSON.parse(await t.ok(['volume', 'ls', '--json'])) as VolumeRow[])[0]!.pods).toEqual([]);
    expect(await t.ok(['up', '-f', file])).toBe(`persistentvolumeclaim/${claim} unchanged\npod/${pod} created\n`);
    await eventually(() => fs.readFileSync(log, 'utf8') === 'run\nrun\n', 15_000, 'the new pod to append to the log');
    await eventually(async () => (await t.ok(['logs', pod, 'app'])) === 'run\n', 15_000, 'the new pod to print the old log');

    // down --volumes: the pod, then its claim's data
    expect(JSON.parse(await t.ok(['down', '-f', file, '--volumes', '--json']))).toEqual([
      { pod, outcome: 'removed' },
      { object: `PersistentVolumeClaim/${claim}`, outcome: 'removed' },
    ]);
    expect(fs.existsSync(dir)).toBe(false);
    expect(JSON.parse(await t.ok(['volume', 'ls', '--json']))).toEqual([]);
  });

  it('a claim no document defines is made on first use; volume rm -f takes its pod down first; rm of a missing volume is exit 3', async () => {
    const claim = `${t.prefix}-scratch`;
    const pod = t.pod('user');
    const file = write(t, 'user.yaml', claimFile(claim, pod).split('---')[0]!);
    expect(await t.ok(['up', '-f', file])).toBe(`pod/${pod} created\n`);
    const dir = path.join(volumesOf(t), claim);
    await eventually(() => fs.existsSync(path.join(dir, '_data', 'log')), 15_000, 'the pod to write');
    const [v] = JSON.parse(await t.ok(['volume', 'ls', '--json'])) as VolumeRow[];
    expect([v!.name, v!.createdBy, v!.storage, v!.pods]).toEqual([claim, 'pod', null, [pod]]);

    expect(JSON.parse(await t.ok(['volume', 'rm', '-f', claim, '--json']))).toEqual([{ volume: claim, outcome: 'removed', pods: [pod] }]);
    expect(fs.existsSync(dir)).toBe(false);
    expect(await podRows(t)).toEqual([]);

    const missing = await t.bp(['volume', 'rm', claim]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain(`volume "${claim}" not found`);
    expect((await t.bp(['volume', 'inspect', claim])).code).toBe(3);
  });

  it('down --volumes keeps a volume a pod of another file still uses, and says so', async () => {
    const claim = `${t.prefix}-shared`;
    const a = t.pod('a');
    const b = t.pod('b');
    const fa = write(t, 'a.yaml', claimFile(claim, a));
    const fb = write(t, 'b.yaml', claimFile(claim, b).split('---')[0]!);
    await t.ok(['up', '-f', fa]);
    await t.ok(['up', '-f', fb]);
    expect(await t.ok(['down', '-f', fa, '--volumes'])).toBe(`pod/${a} removed\npersistentvolumeclaim/${claim} kept: used by pod "${b}"\n`);
    expect(fs.existsSync(path.join(volumesOf(t), claim, '_data'))).toBe(true);
    await t.ok(['down', '-f', fb, '--volumes']);
    expect(fs.existsSync(path.join(volumesOf(t), claim))).toBe(false);
  });
});
