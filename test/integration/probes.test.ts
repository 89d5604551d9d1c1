/**
 * Probes at scale and under trouble: one small static prober per probed pod
 * (no Node process per pod), its resident memory measured (PSS), a prober
 * killed and started again (by `gc`, or by the next command on the pod), a
 * pod removed while an exec probe runs, and the semantics the kubelet has
 * (startup gates liveness, 2xx/3xx pass with the probe's headers sent, a
 * refused tcp connect fails).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { eventually, inspect, it, nsInode, skipReason, type TestEnv } from '../helpers/harness.js';

function manifest(t: TestEnv, file: string, pods: { name: string; body: string }[]): string {
  const out = path.join(t.root, file);
  fs.mkdirSync(t.root, { recursive: true });
  fs.writeFileSync(
    out,
    pods.map((p) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${p.name}\n  annotations: {barepod.io/network: none}\nspec:\n${p.body}`).join('---\n'),
  );
  return out;
}

const recordOf = (t: TestEnv, pod: string) =>
  JSON.parse(fs.readFileSync(path.join(t.root, 'pods', pod, 'pod.json'), 'utf8')) as {
    prober?: { pid: number; startTime: string };
    containers: { def: { name: string }; launchId?: string; process?: { pid: number } }[];
  };

const probesOf = (t: TestEnv, pod: string) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(t.root, 'pods', pod, 'probes.json'), 'utf8')) as Record<
      string,
      { launchId: string; started: boolean; ready: boolean; message: string }
    >;
  } catch {
    return {};
  }
};

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** Live processes (no zombies) whose command line contains every one of `words`. */
function processesWith(...words: string[]): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid || !alive(Number(pid))) continue;
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (words.every((w) => cmd.includes(w))) out.push(`${pid}: ${cmd.trim()}`);
  }
  return out;
}

/** A process's command name (/proc/<pid>/comm), or '' once it is gone. */
function readComm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** PSS in kB of one process (/proc/<pid>/smaps_rollup). */
function pssKb(pid: number): number {
  const m = /^Pss:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  if (!m) throw new Error(`no Pss in /proc/${pid}/smaps_rollup`);
  return Number(m[1]);
}

const events = async (t: TestEnv, pod: string) =>
  (await t.ok(['events', pod, '--json']))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; container?: string; message?: string });

describe.skipIf(skipReason)('probes', () => {
  it('10 probed pods: their probers together stay under 2 MB PSS per pod, and no Node process probes any pod', async ({ t }) => {
    const pods = Array.from({ length: 10 }, (_, i) => t.pod(`p${i}`));
    const body = `  containers:
    - name: web
      image: busybox
      command: [sh, -c, "mkdir -p /www && echo ok > /www/healthz && exec httpd -f -p 127.0.0.1:8080 -h /www"]
      readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
      livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
`;
    await t.ok([
      'up',
      '-f',
      manifest(
        t,
        'ten.yaml',
        pods.map((name) => ({ name, body })),
      ),
    ]);
    for (const pod of pods) await t.ok(['wait', pod, '--for', 'ready', '--timeout', '30s']);
    const probers = pods.map((pod) => recordOf(t, pod).prober!.pid);
    expect(new Set(probers).size).toBe(10);
    // their resident memory together, shared pages split between them (PSS): at most 2 MB per probed pod
    const total = probers.reduce((sum, pid) => sum + pssKb(pid), 0);
    console.log(`probers of 10 pods: ${total} kB PSS in all, ${(total / 10).toFixed(0)} kB per pod`);
    expect(total).toBeLessThanOrEqual(10 * 2048);
    for (const [i, pid] of probers.entries()) {
      expect(alive(pid), `the prober of ${pods[i]}`).toBe(true);
      // a small program, not Node: the executable is barepod-prober
      expect(fs.readlinkSync(`/proc/${pid}/exe`)).toMatch(/\/barepod-prober( \(deleted\))?$/);
      // it probes from inside its pod's network namespace
      expect(nsInode(pid, 'net')).toBe(nsInode((await inspect(t, pods[i]!)).sandbox.pid, 'net'));
    }
    // no Node process per pod: nothing runs barepod's former `_prober` (or any barepod command) for this state root
    expect(processesWith(t.root, '_prober')).toEqual([]);
    // (a Node process itself: conmon's argv names node too, as its exit command, which runs only when a container exits)
    expect(processesWith('node', t.root).filter((p) => readComm(Number(p.split(':')[0])) === 'node')).toEqual([]);
    await t.ok(['down', '-f', path.join(t.root, 'ten.yaml')]);
    for (const pid of probers) expect(alive(pid), 'a prober after down').toBe(false);
  }, 120_000);

  it('a SIGKILLed prober: `gc` starts it again, so does the next command on the pod; readiness and liveness work on', async ({ t }) => {
    const pod = t.pod('killed');
    const file = manifest(t, 'killed.yaml', [
      {
        name: pod,
        body: `  terminationGracePeriodSeconds: 1
  containers:
    - name: app
      image: busybox
      command: [sh, -c, "touch /tmp/alive; exec sleep 3600"]
      readinessProbe: {exec: {command: [test, -e, /tmp/ready]}, periodSeconds: 1, failureThreshold: 1}
      livenessProbe: {exec: {command: [test, -e, /tmp/alive]}, periodSeconds: 1, failureThreshold: 2}
    - name: side
      image: busybox
      command: [sleep, "3600"]
`,
      },
    ]);
    await t.ok(['up', '-f', file]);
    await eventually(() => /test -e \/tmp\/ready exited with 1/.test(probesOf(t, pod).app?.message ?? ''), 15_000, 'the readiness probe failing');
    const first = recordOf(t, pod).prober!.pid;
    process.kill(first, 'SIGKILL');
    await eventually(() => !alive(first), 5000, 'the prober gone');
    // gc starts it again, and says so
    expect(await t.ok(['gc'])).toContain(`${pod}: started the prober again`);
    const second = recordOf(t, pod).prober!.pid;
    expect(second).not.toBe(first);
    expect(alive(second)).toBe(true);
    // probing goes on: readiness flips once the file is there
    await t.ok(['exec', pod, 'app', '--', 'touch', '/tmp/ready']);
    expect(await t.ok(['wait', pod, '--for', 'ready', '--timeout', '15s'])).toBe(`pod/${pod} ready\n`);
    // killed again: the next command on the pod (a stop of the other container, under the pod's lock) starts it again
    process.kill(second, 'SIGKILL');
    await eventually(() => !alive(second), 5000, 'the prober gone');
    await t.ok(['stop', pod, 'side']);
    const third = recordOf(t, pod).prober!.pid;
    expect(third).not.toBe(second);
    expect(alive(third)).toBe(true);
    // and a liveness failure still kills the container, which its policy restarts
    const before = recordOf(t, pod).containers.find((c) => c.def.name === 'app')!.launchId;
    await t.ok(['exec', pod, 'app', '--', 'rm', '/tmp/alive']);
    await eventually(async () => (await events(t, pod)).find((e) => e.type === 'unhealthy' && e.container === 'app'), 15_000, 'the unhealthy event');
    expect((await events(t, pod)).find((e) => e.type === 'unhealthy')?.message).toMatch(/liveness probe failed 2 times: test -e \/tmp\/alive exited with 1/);
    await eventually(() => recordOf(t, pod).containers.find((c) => c.def.name === 'app')!.launchId !== before, 40_000, 'the restart');
    // the new instance is probed (the prober followed the record's new launch)
    const after = recordOf(t, pod).containers.find((c) => c.def.name === 'app')!.launchId;
    await eventually(() => probesOf(t, pod).app?.launchId === after, 15_000, 'the new instance probed');
    expect(alive(third)).toBe(true);
    await t.ok(['down', pod]);
    expect(alive(third)).toBe(false);
  }, 120_000);

  it('a pod removed while its exec probe runs: no runc exec, no prober, nothing of the pod stays', async ({ t }) => {
    const pod = t.pod('busy');
    const file = manifest(t, 'busy.yaml', [
      {
        name: pod,
        body: `  terminationGracePeriodSeconds: 1
  containers:
    - name: app
      image: busybox
      command: [sleep, "3600"]
      readinessProbe: {exec: {command: [sleep, "600"]}, periodSeconds: 1, timeoutSeconds: 900}
`,
      },
    ]);
    await t.ok(['up', '-f', file]);
    const prober = recordOf(t, pod).prober!.pid;
    await eventually(() => processesWith('exec', `${pod}.app`, 'sleep 600').length > 0, 15_000, 'the exec probe running');
    await t.ok(['pod', 'rm', '-f', pod]);
    // right when the removal returns: the probe's runc exec and the prober are gone (not left to end on their own)
    expect(processesWith(`${pod}.app`)).toEqual([]);
    expect(alive(prober)).toBe(false);
  }, 60_000);

  it('startup gates liveness; httpGet sends its headers and takes a 3xx as success; a refused tcp connect fails', async ({ t }) => {
    const pod = t.pod('gate');
    const file = manifest(t, 'gate.yaml', [
      {
        name: pod,
        body: `  terminationGracePeriodSeconds: 1
  containers:
    - name: slow
      image: busybox
      command: [sleep, "3600"]
      startupProbe: {exec: {command: [test, -e, /tmp/started]}, periodSeconds: 1, failureThreshold: 100}
      livenessProbe: {exec: {command: ["false"]}, periodSeconds: 1, failureThreshold: 1}
    - name: web
      image: busybox
      command: [sh, -c, 'while true; do printf "HTTP/1.0 302 Found\\r\\nLocation: /x\\r\\n\\r\\n" | nc -l -p 8081 >> /tmp/requests; done']
      readinessProbe:
        httpGet: {path: /probe, port: 8081, httpHeaders: [{name: X-Probe, value: "yes it is"}]}
        periodSeconds: 1
    - name: closed
      image: busybox
      command: [sleep, "3600"]
      readinessProbe: {tcpSocket: {port: 9}, periodSeconds: 1, failureThreshold: 1}
`,
      },
    ]);
    await t.ok(['up', '-f', file]);
    // the startup probe fails round after round; liveness (which would fail at once) does not run meanwhile
    await eventually(() => /startup probe: test -e \/tmp\/started exited with 1/.test(probesOf(t, pod).slow?.message ?? ''), 15_000, 'startup failing');
    expect(probesOf(t, pod).slow?.started).toBe(false);
    // a 302 is success: web becomes ready; closed never is (its port refuses)
    await eventually(() => probesOf(t, pod).web?.ready, 15_000, 'web ready');
    await eventually(() => /tcp 127\.0\.0\.1:9: ECONNREFUSED/.test(probesOf(t, pod).closed?.message ?? ''), 15_000, 'the refused connect');
    expect(probesOf(t, pod).closed?.ready).toBe(false);
    const web = recordOf(t, pod).containers.find((c) => c.def.name === 'web')!.process!.pid;
    const requests = fs.readFileSync(`/proc/${web}/root/tmp/requests`, 'utf8');
    expect(requests).toMatch(/^GET \/probe HTTP\/1\.1\r$/m);
    expect(requests).toMatch(/^X-Probe: yes it is\r$/m);
    expect(requests).toMatch(/^User-Agent: barepod-probe\r$/m);
    expect((await events(t, pod)).filter((e) => e.type === 'unhealthy')).toEqual([]);
    // started: now liveness runs, fails once, and the container is killed
    await t.ok(['exec', pod, 'slow', '--', 'touch', '/tmp/started']);
    await eventually(async () => (await events(t, pod)).find((e) => e.type === 'unhealthy' && e.container === 'slow'), 15_000, 'the unhealthy event');
    expect((await events(t, pod)).find((e) => e.type === 'unhealthy')?.message).toMatch(/liveness probe failed 1 times: false exited with 1/);
    await eventually(async () => (await events(t, pod)).find((e) => e.type === 'died' && e.container === 'slow'), 15_000, 'slow killed');
    await t.ok(['down', pod]);
  }, 90_000);
});
