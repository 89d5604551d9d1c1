/**
 * Supervision on real runc and conmon: restart policies through conmon's exit
 * command, the crash-loop backoff, sandbox death, OOM kills, stop in a shared
 * pid namespace, events, and gc after a killed CLI.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, eventually, inspect, killRunAtRuncStart, nsInode, pidOf, readInContainer, skipReason, type TestEnv, useTestEnv } from '../helpers/harness.js';

interface PsContainer {
  container: string;
  state: string;
  status: string;
  reason: string | null;
  pid: number | null;
  restarts: number;
  exitCode: number | null;
  backoff: { until: string; delayMs: number } | null;
  lastTermination: { exitCode: number | null; reason: string } | null;
}
interface PsView {
  pods: { name: string; state: string; containers: PsContainer[] }[];
}
interface Ev {
  type: string;
  container?: string;
  delayMs?: number;
  restarts?: number;
  exitCode?: number | null;
  reason?: string;
}

async function ps(t: TestEnv, pod: string): Promise<PsView['pods'][number]> {
  const v = JSON.parse(await t.ok(['ps', pod, '--json'])) as PsView;
  return v.pods[0]!;
}
async function member(t: TestEnv, pod: string, name: string): Promise<PsContainer> {
  return (await ps(t, pod)).containers.find((c) => c.container === name)!;
}
async function events(t: TestEnv, pod: string): Promise<Ev[]> {
  return (await t.ok(['events', pod, '--json']))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Ev);
}
const alive = (pid: number) => {
  try {
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
};
/** The inode of the listening TCP socket a process holds on a port (from /proc/net/tcp of its netns and its fds). */
function listeningSocketInode(pid: number, port: number): number | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const lines = fs.readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').slice(1);
  const row = lines.map((l) => l.trim().split(/\s+/)).find((f) => f[1]?.endsWith(`:${hex}`) && f[3] === '0A');
  const inode = row ? Number(row[9]) : undefined;
  if (!inode) return undefined;
  const fds = fs.readdirSync(`/proc/${pid}/fd`).map((fd) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
  return fds.includes(`socket:[${inode}]`) ? inode : undefined;
}

describe.skipIf(skipReason)('supervision', () => {
  const t = useTestEnv();

  it('S1: an app killed 10 times comes back each time into the same namespaces; the sidecar keeps its socket and answers the new app', async () => {
    const pod = t.pod('s1');
    await t.ok(['pod', 'create', pod, '--restart', 'always', '--backoff', '0s']);
    await t.ok([
      'run',
      '--pod',
      pod,
      '--name',
      'sidecar',
      '--',
      'sh',
      '-c',
      'mkdir -p /srv && echo pong > /srv/index.html && exec httpd -f -p 127.0.0.1:8080 -h /srv',
    ]);
    const sidecar = await pidOf(t, pod, 'sidecar');
    const socket = await eventually(() => listeningSocketInode(sidecar, 8080), 15_000, 'the sidecar to listen');
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sh', '-c', 'wget -qO /tmp/got http://127.0.0.1:8080/index.html; exec sleep 3600']);
    const pause = (await inspect(t, pod)).sandbox.pid;
    const netns = nsInode(pause, 'net');
    let app = await pidOf(t, pod, 'app');
    for (let i = 1; i <= 10; i++) {
      process.kill(app, 'SIGKILL');
      const next = await eventually(
        async () => {
          const c = await member(t, pod, 'app');
          return c.state === 'running' && c.pid !== null && c.pid !== app && c.restarts === i && c.pid;
        },
        30_000,
        `restart ${i}`,
      );
      app = next;
      expect(nsInode(app, 'net')).toBe(netns);
      expect(nsInode(sidecar, 'net')).toBe(netns);
      expect(nsInode(pause, 'net')).toBe(netns);
      // the new app reached the sidecar's unchanged socket on 127.0.0.1
      expect(await eventually(() => readInContainer(app, '/tmp/got'), 15_000, 'the new app to fetch')).toBe('pong\n');
      expect(listeningSocketInode(sidecar, 8080)).toBe(socket);
    }
    const c = await member(t, pod, 'app');
    expect(c.restarts).toBe(10);
    expect(c.lastTermination).toMatchObject({ exitCode: 137, reason: 'Error' });
    expect((await member(t, pod, 'sidecar')).restarts).toBe(0);
    expect((await events(t, pod)).filter((e) => e.type === 'restarted' && e.container === 'app').map((e) => e.restarts)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('the crash-loop delay doubles up to its cap, and a container that ran past the reset window starts again at the first delay', async () => {
    const pod = t.pod('backoff');
    await t.ok(['pod', 'create', pod, '--restart', 'always', '--backoff', '500ms', '--backoff-max', '1s', '--backoff-reset', '2s']);
    // /dev/shm is the pod's (ipc is shared) and outlives restarts: the test switches the app to a long run through it
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sh', '-c', 'if [ -e /dev/shm/long ]; then rm /dev/shm/long; sleep 3; fi; exit 1']);
    const delays = async () => (await events(t, pod)).filter((e) => e.type === 'backoff').map((e) => e.delayMs);
    expect(
      (
        await eventually(async () => {
          const d = await delays();
          return d.length >= 3 && d;
        }, 30_000)
      ).slice(0, 3),
    ).toEqual([500, 1000, 1000]);
    const waiting = await eventually(async () => {
      const c = await member(t, pod, 'app');
      return c.backoff && c;
    });
    expect(waiting.status).toBe('CrashLoopBackOff');
    expect(waiting.state).toBe('exited');
    const table = await t.ok(['ps', pod]);
    expect(table).toMatch(/CrashLoopBackOff \(restart in|Running|Error \(1\)/);
    const before = (await delays()).length;
    fs.writeFileSync(path.join(t.root, 'pods', pod, 'shm', 'long'), '');
    const after = await eventually(
      async () => {
        const evs = await events(t, pod);
        // the backoff that follows the long run: its died event comes after a restart that ran ≥ 2 s
        const d = evs.filter((e) => e.type === 'backoff').map((e) => e.delayMs);
        return d.length > before && d.slice(before).includes(500) && d;
      },
      30_000,
      'a reset delay',
    );
    // between the earlier loop and the reset, every delay stayed at the cap
    const tail = after.slice(before);
    expect(tail.slice(0, tail.indexOf(500)).every((d) => d === 1000)).toBe(true);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('on-failure restarts an Error but not a Completed container; never restarts nothing; reasons shown', async () => {
    const pod = t.pod('policy');
    await t.ok(['pod', 'create', pod, '--restart', 'on-failure', '--backoff', '0s']);
    await t.ok(['run', '--pod', pod, '--name', 'ok', '--', 'true']);
    await t.ok(['run', '--pod', pod, '--name', 'bad', '--', 'sh', '-c', '[ -e /dev/shm/once ] && exec sleep 3600; touch /dev/shm/once; exit 2']);
    await t.ok(['run', '--pod', pod, '--name', 'never', '--restart', 'never', '--', 'sh', '-c', 'exit 3']);
    const bad = await eventually(async () => {
      const c = await member(t, pod, 'bad');
      return c.restarts === 1 && c.state === 'running' && c;
    });
    expect(bad.lastTermination).toMatchObject({ exitCode: 2, reason: 'Error' });
    const ok = await eventually(async () => {
      const c = await member(t, pod, 'ok');
      return c.state === 'exited' && c;
    });
    expect([ok.status, ok.exitCode, ok.restarts]).toEqual(['Completed', 0, 0]);
    const never = await eventually(async () => {
      const c = await member(t, pod, 'never');
      return c.state === 'exited' && c;
    });
    expect([never.status, never.exitCode, never.restarts]).toEqual(['Error', 3, 0]);
    const died = (await events(t, pod)).filter((e) => e.type === 'died').map((e) => [e.container, e.exitCode, e.reason]);
    expect(died).toEqual(
      expect.arrayContaining([
        ['ok', 0, 'Completed'],
        ['bad', 2, 'Error'],
        ['never', 3, 'Error'],
      ]),
    );
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it("a user's stop cancels a pending restart and keeps the container down; start brings it back", async () => {
    const pod = t.pod('cancel');
    await t.ok(['pod', 'create', pod, '--restart', 'always', '--backoff', '1m']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sh', '-c', 'exit 1']);
    const waiting = await eventually(async () => {
      const c = await member(t, pod, 'app');
      return c.backoff && c;
    });
    expect(waiting.backoff!.delayMs).toBe(60_000);
    const sleeper = (
      JSON.parse(fs.readFileSync(path.join(t.root, 'pods', pod, 'pod.json'), 'utf8')) as { containers: { backoff: { sleeper: { pid: number } } }[] }
    ).containers[0]!.backoff.sleeper.pid;
    expect(alive(sleeper)).toBe(true);
    await t.ok(['stop', pod, 'app']);
    const stopped = await member(t, pod, 'app');
    expect(stopped.backoff).toBeNull();
    expect(stopped.status).toBe('Error');
    expect(alive(sleeper)).toBe(false);
    await t.ok(['start', pod, 'app']);
    expect((await member(t, pod, 'app')).state).toMatch(/running|exited/);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('SIGKILL of the pause with policy always: every container stops, the pod comes back with a new sandbox and nothing of the old one survives', async () => {
    const pod = t.pod('phoenix');
    await t.ok(['pod', 'create', pod, '--restart', 'always', '--backoff', '0s', '--share', 'net,ipc,uts,pid']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    await t.ok(['run', '--pod', pod, '--name', 'loner', '--pid', 'private', '--', 'sh', '-c', 'sleep 3600 & exec sleep 3600']);
    const old = await inspect(t, pod);
    const oldPids = [old.sandbox.pid, ...old.containers.map((c) => c.pid!)];
    process.kill(old.sandbox.pid, 'SIGKILL');
    const now = await eventually(
      async () => {
        const v = await inspect(t, pod);
        return v.sandbox.pid !== old.sandbox.pid && v.sandbox.alive && v.containers.every((c) => c.state === 'running' && c.pid !== null) && v;
      },
      30_000,
      'the pod to come back',
    );
    for (const pid of oldPids) expect(alive(pid), `old pid ${pid}`).toBe(false);
    const newNet = nsInode(now.sandbox.pid, 'net'); // (the kernel may recycle the old inode number: not compared)
    for (const c of now.containers) expect(nsInode(c.pid!, 'net')).toBe(newNet);
    const types = (await events(t, pod)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['sandbox-died', 'sandbox-recreated', 'restarted']));
    expect((await ps(t, pod)).containers[0]!.restarts).toBe(1); // the sandbox's count
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('SIGKILL of the pause with policy never: the pod is Failed and no process of it survives', async () => {
    const pod = t.pod('failed');
    await t.ok(['pod', 'create', pod, '--restart', 'never']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sh', '-c', 'sleep 3600 & exec sleep 3600']);
    const before = await inspect(t, pod);
    const app = before.containers[0]!.pid!;
    const child = Number(fs.readFileSync(`/proc/${app}/task/${app}/children`, 'utf8').trim());
    process.kill(before.sandbox.pid, 'SIGKILL');
    await eventually(async () => (await ps(t, pod)).state === 'Failed', 30_000, 'the pod to fail');
    for (const pid of [before.sandbox.pid, app, child]) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect((await events(t, pod)).map((e) => e.type)).toEqual(expect.arrayContaining(['sandbox-died', 'pod-failed']));
    const inspectView = JSON.parse(await t.ok(['inspect', pod, '--json'])) as { message: string };
    expect(inspectView.message).toMatch(/restart policy is Never/);
    await t.ok(['pod', 'rm', pod]);
  });

  it('an OOM kill of one container shows OOMKilled and leaves its neighbour and the pause running', async () => {
    const pod = t.pod('oom');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'calm', '--', 'sleep', '3600']);
    // dd's 100 MiB buffer is filled from /dev/zero: far past the 32 MiB limit
    await t.ok(['run', '--pod', pod, '--name', 'hog', '--memory', '32Mi', '--', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=100M', 'count=1']);
    const hog = await eventually(async () => {
      const c = await member(t, pod, 'hog');
      return c.state === 'exited' && c;
    });
    expect([hog.status, hog.reason, hog.exitCode]).toEqual(['OOMKilled', 'OOMKilled', 137]);
    const v = await ps(t, pod);
    expect(v.state).toBe('Running');
    expect(v.containers.find((c) => c.container === 'calm')?.state).toBe('running');
    expect(alive(v.containers[0]!.pid!)).toBe(true);
    expect((await events(t, pod)).filter((e) => e.container === 'hog').map((e) => e.type)).toEqual(expect.arrayContaining(['oom', 'died']));
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('an OOM-killed container is restarted per its policy', async () => {
    const pod = t.pod('oomr');
    await t.ok(['pod', 'create', pod, '--restart', 'on-failure', '--backoff', '0s']);
    await t.ok([
      'run',
      '--pod',
      pod,
      '--name',
      'hog',
      '--memory',
      '32Mi',
      '--',
      'sh',
      '-c',
      '[ -e /dev/shm/once ] && exec sleep 3600; touch /dev/shm/once; exec dd if=/dev/zero of=/dev/null bs=100M count=1',
    ]);
    const c = await eventually(async () => {
      const x = await member(t, pod, 'hog');
      return x.restarts === 1 && x.state === 'running' && x;
    }, 30_000);
    expect(c.lastTermination).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it("stop in a shared pid namespace signals only that container's processes, never the pause or a neighbour", async () => {
    const pod = t.pod('pidstop');
    await t.ok(['pod', 'create', pod, '--share', 'net,ipc,uts,pid']);
    await t.ok(['run', '--pod', pod, '--name', 'a', '--', 'sh', '-c', 'sleep 3600 & exec sleep 3600']);
    await t.ok(['run', '--pod', pod, '--name', 'b', '--', 'sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"]);
    const v = await inspect(t, pod);
    const a = v.containers.find((c) => c.name === 'a')!.pid!;
    const aChild = Number(fs.readFileSync(`/proc/${a}/task/${a}/children`, 'utf8').trim());
    const b = v.containers.find((c) => c.name === 'b')!.pid!;
    const bChild = await eventually(() => Number(fs.readFileSync(`/proc/${b}/task/${b}/children`, 'utf8').trim()));
    await t.ok(['stop', pod, 'b', '--time', '5']);
    expect(alive(b)).toBe(false);
    expect(alive(bChild)).toBe(false);
    for (const pid of [v.sandbox.pid, a, aChild]) expect(alive(pid), `pid ${pid}`).toBe(true);
    expect((await member(t, pod, 'b')).exitCode).toBe(0); // its TERM trap ran: it was asked, not killed
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it("stop takes the pod's grace period when --time is not given", async () => {
    const pod = t.pod('grace');
    await t.ok(['pod', 'create', pod, '--grace-period', '1']);
    await t.ok(['run', '--pod', pod, '--name', 'stubborn', '--', 'sh', '-c', "trap 'echo not yet' TERM; while :; do sleep 0.2; done"]);
    await t.ok(['stop', pod, 'stubborn']); // outlives SIGTERM: SIGKILL after the pod's 1 s, not 30 s
    const c = await member(t, pod, 'stubborn');
    expect(c.exitCode).toBe(137);
    expect((await events(t, pod)).some((e) => e.type === 'stopped' && e.container === 'stubborn')).toBe(true);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('SIGKILL of the CLI in the middle of run: the next command removes the half-made container', async () => {
    const pod = t.pod('killrun');
    await t.ok(['pod', 'create', pod]);
    // a runc wrapper holds `runc start` of the app, so the CLI is killed between create and start
    await killRunAtRuncStart(t, pod, 'app');
    expect(fs.existsSync(path.join(t.root, 'runc', `${pod}.app`))).toBe(true); // created, never recorded
    const v = await ps(t, pod); // a read: changes nothing
    expect(v.containers.map((c) => c.container)).toEqual(['_pause']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']); // the next change clears the stray first
    expect((await member(t, pod, 'app')).state).toBe('running');
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('SIGKILL of the CLI in the middle of pod rm: gc finishes the removal, and a second gc has nothing to do', async () => {
    const pod = t.pod('killrm');
    await t.ok(['pod', 'create', pod, '--restart', 'always']);
    await t.ok(['run', '--pod', pod, '--name', 'stubborn', '--', 'sh', '-c', "trap 'echo not yet' TERM; while :; do sleep 0.2; done"]);
    await t.ok(['run', '--pod', pod, '--name', 'quick', '--', 'sleep', '3600']);
    const child = spawn(CLI, ['pod', 'rm', pod, '--time', '60'], { env: t.env, stdio: 'ignore' });
    try {
      // the removal has begun (the record says so) and is waiting out the stubborn container's grace period
      await eventually(() => {
        const rec = JSON.parse(fs.readFileSync(path.join(t.root, 'pods', pod, 'pod.json'), 'utf8')) as { phase: string };
        return rec.phase === 'Removing';
      }, 30_000);
      await eventually(async () => (await member(t, pod, 'quick')).state === 'exited', 30_000);
    } finally {
      child.kill('SIGKILL');
    }
    expect((await ps(t, pod)).state).toBe('Removing');
    const out = JSON.parse(await t.ok(['gc', '--json'])) as { pod: string; action: string }[];
    expect(out).toContainEqual({ pod, action: 'finished an interrupted removal' });
    expect(await t.ok(['gc'])).toBe('nothing to do\n');
  });

  it('gc: restarts a container whose exit handler was lost, recreates a sandbox that died unseen, and is idempotent', async () => {
    const pod = t.pod('gc');
    await t.ok(['pod', 'create', pod, '--restart', 'always', '--backoff', '0s']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    const rec = () =>
      JSON.parse(fs.readFileSync(path.join(t.root, 'pods', pod, 'pod.json'), 'utf8')) as {
        sandbox: { pid: number; conmon: { pid: number } };
        containers: { process: { pid: number }; conmon: { pid: number } }[];
      };
    // kill the monitor first: no exit command runs, only gc can notice
    const r0 = rec();
    process.kill(r0.containers[0]!.conmon.pid, 'SIGKILL');
    process.kill(r0.containers[0]!.process.pid, 'SIGKILL');
    await eventually(() => !alive(r0.containers[0]!.process.pid));
    const first = JSON.parse(await t.ok(['gc', '--json'])) as { pod: string; action: string }[];
    expect(first).toContainEqual({ pod, action: 'restarted app (its exit handler was lost)' });
    expect((await member(t, pod, 'app')).state).toBe('running');
    const r1 = rec();
    process.kill(r1.sandbox.conmon.pid, 'SIGKILL');
    process.kill(r1.sandbox.pid, 'SIGKILL');
    await eventually(() => !alive(r1.sandbox.pid));
    const second = JSON.parse(await t.ok(['gc', '--json'])) as { pod: string; action: string }[];
    expect(second).toContainEqual({ pod, action: 'recreated the dead sandbox' });
    const v = await inspect(t, pod);
    expect(v.sandbox.alive).toBe(true);
    expect(v.containers[0]!.state).toBe('running');
    expect(nsInode(v.containers[0]!.pid!, 'net')).toBe(nsInode(v.sandbox.pid, 'net'));
    expect(JSON.parse(await t.ok(['gc', '--json']))).toEqual([]);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('events lists started, died and restarted in order, as JSON lines and as a table', async () => {
    const pod = t.pod('events');
    await t.ok(['pod', 'create', pod, '--restart', 'on-failure', '--backoff', '0s']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sh', '-c', '[ -e /dev/shm/once ] && exit 0; touch /dev/shm/once; exit 4']);
    await eventually(async () => (await member(t, pod, 'app')).status === 'Completed', 30_000);
    // ps reconciles without the lock; the exit handler writes the last died event a moment later
    await eventually(async () => (await events(t, pod)).filter((e) => e.type === 'died').length === 2, 15_000, 'the second died event');
    const evs = (await events(t, pod)).filter((e) => e.container === 'app').map((e) => [e.type, e.exitCode ?? null]);
    expect(evs).toEqual([
      ['started', null],
      ['died', 4],
      ['restarted', null],
      ['died', 0],
    ]);
    const table = await t.ok(['events', pod]);
    expect(table.split('\n')[0]).toMatch(/^TIME\s+POD\s+CONTAINER\s+EVENT\s+DETAILS/);
    expect(table).toMatch(/died\s+exit 4, Error/);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it("two concurrent stops of one pod: the second waits for the first's lock; both succeed and the record stays whole", async () => {
    const pod = t.pod('twostops');
    await t.ok(['pod', 'create', pod, '--restart', 'always']);
    await t.ok(['run', '--pod', pod, '--name', 'a', '--', 'sh', '-c', "trap 'exit 0' TERM; while :; do sleep 0.2; done"]);
    await t.ok(['run', '--pod', pod, '--name', 'b', '--', 'sleep', '3600']);
    const [ra, rb] = await Promise.all([t.bp(['stop', pod, 'a', '--time', '5']), t.bp(['stop', pod, 'b', '--time', '5'])]);
    expect([ra.code, rb.code, ra.stderr + rb.stderr]).toEqual([0, 0, '']);
    const v = await ps(t, pod);
    expect(v.containers.map((c) => [c.container, c.state])).toEqual([
      ['_pause', 'running'],
      ['a', 'exited'],
      ['b', 'exited'],
    ]);
    // stopped by the user: the always policy does not bring them back
    expect((await events(t, pod)).some((e) => e.type === 'restarted')).toBe(false);
    await t.ok(['pod', 'rm', pod]);
  });

  it("the pod's --log-size-max caps each container log: conmon starts a fresh file past it", async () => {
    const pod = t.pod('logcap');
    await t.ok(['pod', 'create', pod, '--log-size-max', '64Ki']);
    await t.ok([
      'run',
      '--pod',
      pod,
      '--name',
      'chatty',
      '--',
      'sh',
      '-c',
      'i=0; while [ $i -lt 3000 ]; do echo "line $i of a chatty container"; i=$((i+1)); done; echo last; exec sleep 3600',
    ]);
    const log = path.join(t.root, 'pods', pod, 'containers', 'chatty', 'ctr.log');
    await eventually(async () => (await t.ok(['logs', pod, 'chatty', '--tail', '1'])) === 'last\n', 15_000, 'the last line');
    expect(fs.statSync(log).size).toBeLessThanOrEqual(64 * 1024 + 4096);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('a torn lock (its maker killed before it wrote its pid) is taken over after a moment, by commands and by gc', async () => {
    const pod = t.pod('torn');
    await t.ok(['pod', 'create', pod]);
    const lock = path.join(t.root, 'locks', pod);
    fs.writeFileSync(lock, '');
    const old = new Date(Date.now() - 10_000);
    fs.utimesSync(lock, old, old);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    fs.writeFileSync(lock, '');
    fs.utimesSync(lock, old, old);
    expect(JSON.parse(await t.ok(['gc', '--json']))).toEqual([]); // the pod's own pass takes the torn lock over
    expect(fs.existsSync(lock)).toBe(false);
    await t.ok(['pod', 'rm', '-f', pod]);
  });
});
