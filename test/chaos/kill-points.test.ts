/**
 * Chaos: the CLI SIGKILLed at every step its `--explain` narration announces
 * (each step title and each program it runs), then `gc`. Whatever the kill
 * point, the pod must then be either complete and serving or entirely absent;
 * the next `up` must give a complete pod; and after `down` the leak check must
 * find nothing (runc containers, cgroups, mounts, netns pins, IPAM, veths,
 * iptables rules and chains, processes, files).
 *
 * Deterministic: the kill is sent when the Nth narration line arrives (stderr
 * is a pipe, which Node writes synchronously on Linux), never after a sleep.
 * Every point runs by default; BAREPOD_CHAOS_SAMPLE=N runs N of them, chosen
 * by the day of the year so that successive runs visit every point.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipReason, type TestEnv, useTestEnv } from '../helpers/harness.js';
import { killAt, pointsOf, sample } from '../helpers/chaos.js';

/** Each test visits every kill point of a command: minutes, not the default two. */
const LONG = 600_000;

function manifest(pod: string, hostPort: number): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${pod}
spec:
  restartPolicy: Always
  initContainers:
  - name: init
    image: busybox
    command: ["sh", "-c", "echo served-by-${pod} > /data/index.html"]
    volumeMounts: [{name: data, mountPath: /data}]
  containers:
  - name: web
    image: busybox
    command: ["httpd", "-f", "-p", "8080", "-h", "/data"]
    ports: [{containerPort: 8080, hostPort: ${hostPort}}]
    volumeMounts: [{name: data, mountPath: /data}]
  - name: side
    image: busybox
    command: ["sleep", "3600"]
  volumes:
  - name: data
    emptyDir: {}
`;
}

interface View {
  containers: { name: string; state: string; pid: number | null }[];
}

/** Asserts the pod is complete (every container of the manifest running, init done) and serving on its localhost. */
async function expectComplete(t: TestEnv, pod: string, where: string): Promise<void> {
  const r = await t.bp(['inspect', pod, '--json']);
  expect(r.code, `${where}: inspect ${pod}: ${r.stderr}`).toBe(0);
  const v = JSON.parse(r.stdout) as View;
  const state = Object.fromEntries(v.containers.map((c) => [c.name, c.state]));
  expect(state, `${where}: every container of the manifest, running`).toMatchObject({ web: 'running', side: 'running' });
  const page = await t.bp(['exec', pod, 'side', '--', 'wget', '-qO-', '127.0.0.1:8080']);
  expect(page.stdout.trim(), `${where}: the app serves what its init container wrote (${page.stderr})`).toBe(`served-by-${pod}`);
}

/** After a kill and gc: complete and serving, or entirely absent (nothing of it on the host). */
async function expectCompleteOrAbsent(t: TestEnv, pod: string, where: string): Promise<'complete' | 'absent'> {
  const r = await t.bp(['inspect', pod, '--json']);
  if (r.code === 3) {
    expect(t.leaks(), `${where}: the pod is gone, so nothing of it may be left`).toEqual([]);
    return 'absent';
  }
  await expectComplete(t, pod, where);
  return 'complete';
}

/** Writes the test manifest of a pod into the test's root (one host port for all of them: one pod runs at a time); returns its path. */
function manifestWriter(t: TestEnv): (pod: string) => string {
  const port = 21000 + Math.floor(Math.random() * 20000);
  return (pod) => {
    const f = path.join(t.root, `${pod}.yaml`);
    fs.writeFileSync(f, manifest(pod, port));
    return f;
  };
}

describe.skipIf(skipReason)('chaos: up -f killed at every step', () => {
  const t = useTestEnv();

  it(
    'after SIGKILL at any step and gc, the pod is complete or absent; up completes it; down leaves nothing',
    async () => {
      const file = manifestWriter(t);
      const probe = t.pod('probe');
      const points = await pointsOf(t, ['up', '-f', file(probe)]);
      expect(points.length).toBeGreaterThan(10);
      await expectComplete(t, probe, 'a clean up');
      await t.ok(['down', '-f', file(probe)]);
      expect(t.leaks()).toEqual([]);

      for (const at of sample(points.length)) {
        const pod = t.pod(`k${at}`);
        const where = `killed at point ${at} (${points[at - 1]!.trim().slice(0, 90)})`;
        const killed = await killAt(t, ['up', '-f', file(pod)], at);
        expect(killed.finished, where).toBe(false);
        // an exit handler of a member that ended (the init container) may hold the pod's lock a moment: gc skips a busy pod, so ask again
        let gc = await t.ok(['gc', '--json']);
        for (let i = 0; i < 20 && gc.includes('skipped: busy'); i++) gc = await t.ok(['gc', '--json']);
        await expectCompleteOrAbsent(t, pod, `${where}, then gc (${gc.replace(/\s+/g, ' ')})`);
        const again = await t.bp(['up', '-f', file(pod)]);
        expect(again.code, `${where}, then up again: ${again.stderr}`).toBe(0);
        await expectComplete(t, pod, `${where}, then up again`);
        await t.ok(['down', '-f', file(pod)]);
        expect(t.leaks(), `${where}, then down`).toEqual([]);
      }
    },
    LONG,
  );
});

describe.skipIf(skipReason)('chaos: down -f killed at every step', () => {
  const t = useTestEnv();

  it(
    'after SIGKILL at any step of down and gc, the pod is entirely absent or still complete; down finishes; nothing leaks',
    async () => {
      const file = manifestWriter(t);
      const probe = t.pod('probe');
      await t.ok(['up', '-f', file(probe)]);
      const points = await pointsOf(t, ['down', '-f', file(probe)]);
      expect(points.length).toBeGreaterThan(3);
      expect(t.leaks()).toEqual([]);

      for (const at of sample(points.length)) {
        const pod = t.pod(`d${at}`);
        const where = `down killed at point ${at} (${points[at - 1]!.trim().slice(0, 90)})`;
        await t.ok(['up', '-f', file(pod)]);
        const killed = await killAt(t, ['down', '-f', file(pod)], at);
        expect(killed.finished, where).toBe(false);
        await t.ok(['gc']);
        // a removal once marked is finished by gc; killed before the mark, the pod is untouched
        await expectCompleteOrAbsent(t, pod, `${where}, then gc`);
        const down = await t.bp(['down', '-f', file(pod)]);
        expect(down.code, `${where}, then down again: ${down.stderr}`).toBe(0);
        expect(t.leaks(), `${where}, then down`).toEqual([]);
      }
    },
    LONG,
  );
});

describe.skipIf(skipReason)('chaos: pod rm and run killed at every step', () => {
  const t = useTestEnv();

  it(
    'run --pod killed at any step, then gc: the container is running or absent, the pod intact; run again works; pod rm leaves nothing',
    async () => {
      const pod = t.pod('run');
      await t.ok(['pod', 'create', pod]);
      const runArgs = (name: string) => ['run', '--pod', pod, '--name', name, '--', 'sleep', '3600'];
      const points = await pointsOf(t, runArgs('probe'));
      expect(points.length).toBeGreaterThan(2);
      for (const at of sample(points.length)) {
        const name = `c${at}`;
        const where = `run killed at point ${at} (${points[at - 1]!.trim().slice(0, 90)})`;
        const killed = await killAt(t, runArgs(name), at);
        expect(killed.finished, where).toBe(false);
        await t.ok(['gc']);
        const v = JSON.parse(await t.ok(['inspect', pod, '--json'])) as View;
        const c = v.containers.find((x) => x.name === name);
        if (c) expect(c.state, `${where}, then gc: a recorded container runs`).toBe('running');
        else expect(fs.existsSync(path.join(t.root, 'pods', pod, 'containers', name)), `${where}, then gc: no bundle of an unrecorded container`).toBe(false);
        // the pod still works, and the name can be used (again)
        if (c) await t.ok(['rm', '-f', pod, name]);
        await t.ok(runArgs(name));
        await t.ok(['rm', '-f', pod, name]);
      }
      await t.ok(['pod', 'rm', '-f', pod]);
      expect(t.leaks()).toEqual([]);
    },
    LONG,
  );

  it(
    'pod rm -f killed at any step, then gc: the pod is gone or untouched; pod rm finishes; nothing leaks',
    async () => {
      const make = async (pod: string) => {
        await t.ok(['pod', 'create', pod, '-p', `${21000 + Math.floor(Math.random() * 20000)}:8080`]);
        await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
      };
      const probe = t.pod('probe');
      await make(probe);
      const points = await pointsOf(t, ['pod', 'rm', '-f', probe]);
      expect(points.length).toBeGreaterThan(3);
      expect(t.leaks()).toEqual([]);
      for (const at of sample(points.length)) {
        const pod = t.pod(`r${at}`);
        const where = `pod rm killed at point ${at} (${points[at - 1]!.trim().slice(0, 90)})`;
        await make(pod);
        const killed = await killAt(t, ['pod', 'rm', '-f', pod], at);
        expect(killed.finished, where).toBe(false);
        await t.ok(['gc']);
        const r = await t.bp(['inspect', pod, '--json']);
        if (r.code === 3) expect(t.leaks(), `${where}, then gc`).toEqual([]);
        else expect((JSON.parse(r.stdout) as View).containers.find((c) => c.name === 'app')?.state, `${where}, then gc`).toBe('running');
        const rm = await t.bp(['pod', 'rm', '-f', pod]);
        expect([0, 3], `${where}, then pod rm again: ${rm.stderr}`).toContain(rm.code);
        expect(t.leaks(), `${where}, then pod rm`).toEqual([]);
      }
    },
    LONG,
  );
});
