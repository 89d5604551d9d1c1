/**
 * env from ConfigMaps, Secrets and the pod itself on real runc: the values a
 * container's process really has (/proc/<pid>/environ on the host), read at
 * every start, and a missing one leaving that container waiting with
 * CreateContainerConfigError while the rest of the pod runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { eventually, inspect, it, pidOf, skipReason, type TestEnv } from '../helpers/harness.js';
import { storeConfig, unstoreConfig } from '../helpers/config-store.js';

/** A process's environment, read on the host. */
function environ(pid: number): Record<string, string> {
  const raw = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(
    raw
      .split('\0')
      .filter(Boolean)
      .map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
}

function manifest(t: TestEnv, name: string, body: string, meta = ''): string {
  const file = path.join(t.root, `${name}.yaml`);
  fs.writeFileSync(file, `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n${meta}spec:\n${body}`);
  return file;
}

interface PsMember {
  container: string;
  state: string;
  status: string;
  reason: string | null;
  message: string | null;
  pid: number | null;
}
async function members(t: TestEnv, pod: string): Promise<PsMember[]> {
  return (JSON.parse(await t.ok(['ps', pod, '--json'])) as { pods: { containers: PsMember[] }[] }).pods[0]!.containers;
}

describe.skipIf(skipReason)('env from ConfigMaps, Secrets and the pod', () => {
  it('ConfigMap and Secret keys, envFrom with a prefix, and the pod fields are in the process environment', async ({ t }) => {
    const pod = t.pod('env');
    storeConfig(t, 'ConfigMap', 'app-config', { mode: 'fast', LEVEL: '3', '1bad': 'skipped' });
    storeConfig(t, 'Secret', 'db', { password: 'hunter2-value' });
    const file = manifest(
      t,
      pod,
      `  containers:
  - name: app
    image: busybox
    command: [sleep, '3600']
    resources: {limits: {memory: 64Mi, cpu: 250m}}
    env:
    - {name: LEVEL, value: own-wins}
    - {name: MODE, valueFrom: {configMapKeyRef: {name: app-config, key: mode}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: TIER, valueFrom: {fieldRef: {fieldPath: "metadata.labels['tier']"}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: MEM_MI, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    - {name: CPU_M, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}}
    - {name: GREETING, value: "mode $(MODE) on $(POD_NAME), $$(MODE)"}
    envFrom:
    - configMapRef: {name: app-config}
      prefix: CFG_
    - configMapRef: {name: app-config}
`,
      '  labels: {tier: backend}\n',
    );
    await t.ok(['up', '-f', file]);
    const env = environ(await pidOf(t, pod, 'app'));
    const ip = (JSON.parse(await t.ok(['inspect', pod, '--json'])) as { network: { ip: string | null } }).network.ip;
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(env).toMatchObject({
      MODE: 'fast',
      PASSWORD: 'hunter2-value',
      POD_NAME: pod,
      TIER: 'backend',
      POD_IP: ip,
      MEM_MI: '64',
      CPU_M: '250',
      CFG_mode: 'fast',
      CFG_LEVEL: '3',
      CFG_1bad: 'skipped', // a valid name once prefixed
      mode: 'fast',
      LEVEL: 'own-wins', // the container's own env wins over envFrom
      GREETING: `mode fast on ${pod}, $(MODE)`, // $(VAR) expanded at start, $$ escapes
    });
    expect(env).not.toHaveProperty('1bad');
    // the invalid key is reported, as the kubelet's InvalidEnvironmentVariableNames event
    const events = (await t.ok(['events', pod, '--json'])).split('\n').filter(Boolean);
    expect(events.map((l) => JSON.parse(l) as { type: string; reason?: string; message?: string }).find((e) => e.type === 'warning')).toMatchObject({
      reason: 'InvalidEnvironmentVariableNames',
      message: expect.stringContaining('[1bad]'),
    });
    await t.ok(['down', pod]);
  });

  it('a missing key: that container waits with CreateContainerConfigError, the others run, wait fails at once; up -f again starts it once the key exists', async ({
    t,
  }) => {
    const pod = t.pod('missing');
    storeConfig(t, 'ConfigMap', 'cfg', { other: 'x' });
    const file = manifest(
      t,
      pod,
      `  containers:
  - name: app
    image: busybox
    command: [sleep, '3600']
    env: [{name: WANTED, valueFrom: {configMapKeyRef: {name: cfg, key: wanted}}}]
  - name: side
    image: busybox
    command: [sleep, '3600']
`,
    );
    const up = await t.bp(['up', '-f', file]);
    expect(up.code).toBe(1);
    expect(up.stderr).toContain(`pod "${pod}", container "app": CreateContainerConfigError: couldn't find key wanted in ConfigMap cfg (env WANTED)`);
    const ms = await members(t, pod);
    expect(ms.find((m) => m.container === 'app')).toMatchObject({
      state: 'waiting',
      status: 'CreateContainerConfigError',
      reason: 'CreateContainerConfigError',
      message: "couldn't find key wanted in ConfigMap cfg (env WANTED)",
      pid: null,
    });
    expect(ms.find((m) => m.container === 'side')).toMatchObject({ state: 'running' });
    // nothing made for it: no bundle, no runc container
    const v = await inspect(t, pod);
    const app = v.containers.find((c) => c.name === 'app')!;
    expect(fs.existsSync(app.bundle)).toBe(false);
    expect(app).toMatchObject({
      state: 'waiting',
      pid: null,
      reason: 'CreateContainerConfigError',
      message: "couldn't find key wanted in ConfigMap cfg (env WANTED)",
    });
    expect(fs.existsSync(path.join(t.root, 'runc', `${pod}.app`))).toBe(false);
    expect((await t.ok(['ps', pod])).split('\n').find((l) => l.includes(' app '))).toContain('CreateContainerConfigError');
    // wait fails at once naming it (not at its timeout)
    const w = await t.bp(['wait', pod, '--for', 'ready', '--timeout', '120s']);
    expect(w.code).toBe(1);
    expect(w.stderr).toContain('container "app" cannot start: CreateContainerConfigError');
    expect(w.stderr).not.toContain('not ready after');

    storeConfig(t, 'ConfigMap', 'cfg', { wanted: 'here-now' });
    expect(await t.ok(['up', '-f', file])).toBe(`pod/${pod} repaired\n`);
    expect(environ(await pidOf(t, pod, 'app')).WANTED).toBe('here-now');
    expect((await members(t, pod)).find((m) => m.container === 'app')).toMatchObject({ state: 'running', reason: null, message: null });
    await t.ok(['wait', pod, '--for', 'ready', '--timeout', '30s']);
    await t.ok(['down', pod]);
  });

  it('an init container whose Secret is missing fails up with CreateContainerConfigError and leaves no pod', async ({ t }) => {
    const pod = t.pod('initcfg');
    const file = manifest(
      t,
      pod,
      `  initContainers:
  - name: setup
    image: busybox
    command: ['true']
    envFrom: [{secretRef: {name: absent}}]
  containers:
  - name: app
    image: busybox
    command: [sleep, '3600']
`,
    );
    const up = await t.bp(['up', '-f', file]);
    expect(up.code).toBe(1);
    expect(up.stderr).toContain(`pod "${pod}": CreateContainerConfigError: container setup: secret "absent" not found (envFrom)`);
    expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(false);
  });

  it('optional references that are missing leave the variables unset; the container runs', async ({ t }) => {
    const pod = t.pod('optional');
    const file = manifest(
      t,
      pod,
      `  containers:
  - name: app
    image: busybox
    command: [sleep, '3600']
    env:
    - {name: A, valueFrom: {secretKeyRef: {name: nope, key: k, optional: true}}}
    - {name: B, valueFrom: {configMapKeyRef: {name: nope, key: k, optional: true}}}
    envFrom: [{secretRef: {name: nope, optional: true}}]
`,
    );
    await t.ok(['up', '-f', file]);
    const env = environ(await pidOf(t, pod, 'app'));
    expect(env).not.toHaveProperty('A');
    expect(env).not.toHaveProperty('B');
    expect(env.PATH).toBeTruthy();
    await t.ok(['down', pod]);
  });

  it('a restart by the restart policy reads the store again: a changed value is seen, a removed one makes it wait', async ({ t }) => {
    const pod = t.pod('restart');
    storeConfig(t, 'ConfigMap', 'cfg', { v: 'one' });
    const file = manifest(
      t,
      pod,
      `  restartPolicy: Always
  containers:
  - name: app
    image: busybox
    command: [sleep, '3600']
    env: [{name: V, valueFrom: {configMapKeyRef: {name: cfg, key: v}}}]
`,
    );
    await t.ok(['up', '-f', file]);
    const first = await pidOf(t, pod, 'app');
    expect(environ(first).V).toBe('one');
    storeConfig(t, 'ConfigMap', 'cfg', { v: 'two' });
    process.kill(first, 'SIGKILL');
    // the first restart comes after the crash-loop back-off (10 s)
    const second = await eventually(
      async () => {
        const m = (await members(t, pod)).find((x) => x.container === 'app');
        return m?.state === 'running' && m.pid !== first && m.pid;
      },
      60_000,
      'the policy restart',
    );
    expect(environ(second).V).toBe('two');

    unstoreConfig(t, 'ConfigMap', 'cfg');
    process.kill(second, 'SIGKILL');
    const waiting = await eventually(
      async () => {
        const m = (await members(t, pod)).find((x) => x.container === 'app');
        return m?.state === 'waiting' && m;
      },
      60_000,
      'the restart to find the ConfigMap gone',
    );
    expect(waiting).toMatchObject({ status: 'CreateContainerConfigError', message: 'configmap "cfg" not found (env V)' });
    await t.ok(['down', pod]);
  });
});
