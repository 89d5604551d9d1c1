/**
 * Chaos: the exit handler (`barepod _exited POD MEMBER LAUNCH`, conmon's exit
 * command) SIGKILLed at every step its `--explain` narration announces, then
 * `gc`. Whatever the kill point, the container must be running again under its
 * restart policy (a new pid, the restart count one up, its exit recorded), or
 * for the sandbox the pod must be whole again in a new sandbox; and after
 * `pod rm` the leak check must find nothing.
 *
 * Deterministic, and the real code path: the test disarms conmon's own exit
 * command for this one exit (the bundle's `stopping` marker, which barepod
 * itself writes when it stops a member), kills the member, waits until its
 * conmon has written the exit code and ended, and then runs the very handler
 * conmon would have run, with --explain, SIGKILLing it when the Nth step or
 * program is announced. BAREPOD_CHAOS_SAMPLE=N runs N points (by the day of
 * the year, so successive runs visit every point).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cniIdPrefix } from '../../src/plan/network.js';
import { eventually, nsInode, skipReason, type TestEnv, useTestEnv } from '../helpers/harness.js';
import { alive, killAt, runcIds, sample } from '../helpers/chaos.js';

/**
 * Waits until no program a killed command started is still running on this
 * test's root (runc, mount, umount, a CNI plugin): they finish on their own, and
 * only then is what is on the host final.
 */
async function toolsIdle(t: TestEnv): Promise<void> {
  const cni = cniIdPrefix(t.root);
  const busy = (p: string) => {
    try {
      const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      const prog = path.basename(argv[0] ?? '');
      if (['runc', 'mount', 'umount'].includes(prog) && argv.some((a) => a.includes(t.root))) return true;
      return fs.readFileSync(`/proc/${p}/environ`, 'utf8').includes(`CNI_CONTAINERID=${cni}`);
    } catch {
      return false;
    }
  };
  await eventually(() => !fs.readdirSync('/proc').some((p) => /^\d+$/.test(p) && busy(p)), 30_000, 'the programs of the killed handler to finish');
}

interface Rec {
  sandbox: { pid: number; launchId: string; conmon?: { pid: number } };
  sandboxRestarts?: number;
  containers: { def: { name: string }; launchId: string; state: string; restarts: number; process?: { pid: number }; conmon?: { pid: number } }[];
}
const record = (t: TestEnv, pod: string): Rec => JSON.parse(fs.readFileSync(path.join(t.root, 'pods', pod, 'pod.json'), 'utf8')) as Rec;

/**
 * Kills a member with its exit handler disarmed, as barepod's own stop does,
 * and waits until its conmon has recorded the exit and ended: the handler is
 * then the test's to run. Returns the launch id the handler is called with.
 */
async function killDisarmed(t: TestEnv, pod: string, member: string): Promise<string> {
  const rec = record(t, pod);
  const m = member === '_pause' ? rec.sandbox : rec.containers.find((c) => c.def.name === member)!;
  const pid = 'pid' in m ? m.pid : m.process!.pid;
  fs.writeFileSync(path.join(t.root, 'pods', pod, 'containers', member, 'stopping'), '');
  process.kill(pid, 'SIGKILL');
  // in the dir of its launch (one exit dir per launch)
  const exitFile = path.join(t.root, 'pods', pod, 'exits', m.launchId, `${pod}.${member}`);
  await eventually(() => fs.existsSync(exitFile) && !alive(m.conmon!.pid), 15_000, `conmon of ${member} to record its exit and end`);
  return m.launchId;
}

interface View {
  state: string;
  sandbox: { pid: number; alive: boolean };
  containers: { name: string; state: string; pid: number | null; restarts?: number }[];
}

describe.skipIf(skipReason)('chaos: the exit handler killed at every step', () => {
  const t = useTestEnv();

  it('a container restart: after SIGKILL of its handler at any step and gc, it runs again (new pid, restarts +1); pod rm leaves nothing', async () => {
    const pod = t.pod('hx');
    await t.ok(['pod', 'create', pod, '--restart', 'always', '--backoff', '0s']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);

    // the points of one handler run that completes
    const launch0 = await killDisarmed(t, pod, 'app');
    const clean = await killAt(t, ['_exited', pod, 'app', launch0], Number.MAX_SAFE_INTEGER);
    expect(clean.finished && clean.code, clean.seen.join('\n')).toBe(0);
    const points = clean.seen;
    expect(points.length, 'the handler narrates the restart (runc, conmon, mounts)').toBeGreaterThan(3);
    expect(record(t, pod).containers[0]!.restarts).toBe(1);

    for (const at of sample(points.length)) {
      const where = `handler killed at point ${at} (${points[at - 1]!.trim().slice(0, 90)})`;
      const before = record(t, pod).containers[0]!;
      const launch = await killDisarmed(t, pod, 'app');
      const killed = await killAt(t, ['_exited', pod, 'app', launch], at);
      expect(killed.finished, where).toBe(false);
      await toolsIdle(t);
      await t.ok(['gc']);
      const after = record(t, pod).containers[0]!;
      expect(after.state, `${where}, then gc: running again`).toBe('running');
      expect(after.process!.pid, `${where}, then gc: a new instance`).not.toBe(before.process!.pid);
      expect(alive(after.process!.pid), `${where}, then gc: its pid lives`).toBe(true);
      expect(alive(after.conmon!.pid), `${where}, then gc: it is supervised`).toBe(true);
      expect(after.restarts, `${where}, then gc: the restart is counted once`).toBe(before.restarts + 1);
      expect(runcIds(t), `${where}, then gc: runc has the pod's members and nothing else`).toEqual([`${pod}._pause`, `${pod}.app`]);
      const died = (await t.ok(['events', pod, '--json']))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; container?: string });
      expect(died.filter((e) => e.type === 'died' && e.container === 'app').length, `${where}: every exit is recorded`).toBe(before.restarts + 1);
    }
    await t.ok(['pod', 'rm', '-f', pod]);
    expect(t.leaks()).toEqual([]);
  }, 300_000);

  it("a sandbox recreation: after SIGKILL of the pause's handler at any step and gc, the pod is whole in a new sandbox; pod rm leaves nothing", async () => {
    const pod = t.pod('hs');
    await t.ok(['pod', 'create', pod, '--restart', 'always', '--backoff', '0s']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);

    const launch0 = await killDisarmed(t, pod, '_pause');
    const clean = await killAt(t, ['_exited', pod, '_pause', launch0], Number.MAX_SAFE_INTEGER);
    expect(clean.finished && clean.code, clean.seen.join('\n')).toBe(0);
    const points = clean.seen;
    expect(points.length).toBeGreaterThan(5);

    for (const at of sample(points.length)) {
      const where = `pause handler killed at point ${at} (${points[at - 1]!.trim().slice(0, 90)})`;
      const before = record(t, pod);
      const launch = await killDisarmed(t, pod, '_pause');
      const killed = await killAt(t, ['_exited', pod, '_pause', launch], at);
      expect(killed.finished, where).toBe(false);
      await toolsIdle(t);
      await t.ok(['gc']);
      const v = JSON.parse(await t.ok(['inspect', pod, '--json'])) as View;
      expect(v.state, `${where}, then gc`).toBe('Running');
      expect(v.sandbox.alive && v.sandbox.pid !== before.sandbox.pid, `${where}, then gc: a new pause`).toBe(true);
      const app = v.containers.find((c) => c.name === 'app')!;
      expect(app.state, `${where}, then gc: the app runs again`).toBe('running');
      expect(nsInode(app.pid!, 'net'), `${where}, then gc: in the new sandbox's network namespace`).toBe(nsInode(v.sandbox.pid, 'net'));
      expect(runcIds(t), `${where}, then gc`).toEqual([`${pod}._pause`, `${pod}.app`]);
    }
    await t.ok(['pod', 'rm', '-f', pod]);
    expect(t.leaks()).toEqual([]);
  }, 600_000);
});

describe.skipIf(skipReason)("an exit file a previous instance's conmon wrote late", () => {
  const t = useTestEnv();

  // a restart removes the old exit file before the new instance starts, but the old conmon may write it just after
  // (it reaps, runc delete succeeds, then conmon writes): stop and pod rm must judge the running instance by its process
  for (const how of [['stop'], ['pod', 'rm'], ['pod', 'rm', '-f']] as const) {
    it(`${how.join(' ')} stops the running instance and runc deletes it, a stale exit file notwithstanding`, async () => {
      const pod = t.pod(how.join('').replace(/\W/g, ''));
      await t.ok(['pod', 'create', pod]);
      await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
      const pid = (JSON.parse(await t.ok(['inspect', pod, '--json'])) as View).containers[0]!.pid!;
      fs.writeFileSync(path.join(t.root, 'pods', pod, 'exits', `${pod}.app`), '137');
      const r = await t.bp(how[0] === 'stop' ? ['stop', pod, 'app'] : [...how, pod]);
      expect(r.code, r.stderr).toBe(0);
      expect(alive(pid), `the instance (pid ${pid})`).toBe(false);
      expect(
        runcIds(t).filter((id) => id === `${pod}.app`),
        'runc deleted it',
      ).toEqual([]);
      if (how[0] === 'stop') await t.ok(['pod', 'rm', pod]);
    });
  }
});

interface PsMember {
  container: string;
  state: string;
  pid: number | null;
  exitCode: number | null;
  restarts: number;
}
const psMember = async (t: TestEnv, pod: string, name: string): Promise<PsMember> =>
  (JSON.parse(await t.ok(['ps', pod, '--json'])) as { pods: { containers: PsMember[] }[] }).pods[0]!.containers.find((c) => c.container === name)!;

describe.skipIf(skipReason)('the exit file of one launch is never read as the next launch’s', () => {
  const t = useTestEnv();

  it("a previous instance's conmon writing its exit file after the restart: ps and inspect still show the new instance running; gc removes it", async () => {
    const pod = t.pod('late');
    await t.ok(['pod', 'create', pod, '--restart', 'always', '--backoff', '0s']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    const first = record(t, pod).containers[0]!;
    process.kill(first.process!.pid, 'SIGKILL');
    const next = await eventually(
      () => {
        const c = record(t, pod).containers[0]!;
        return c.restarts === 1 && c.state === 'running' && alive(c.conmon!.pid) && c;
      },
      30_000,
      'the restart',
    );
    await eventually(() => !alive(first.conmon!.pid), 15_000, 'the first conmon to end');
    // what a late old conmon writes, after the restart cleared its file: where it was told to write (its own launch's dir,
    // `exits/<launch>/<id>`; an older build's `exits/<id>`), both written here
    const exits = path.join(t.root, 'pods', pod, 'exits');
    const stale = [path.join(exits, first.launchId, `${pod}.app`), path.join(exits, `${pod}.app`)];
    for (const file of stale) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, '137');
    }
    const ps = await psMember(t, pod, 'app');
    expect([ps.state, ps.pid, ps.exitCode, ps.restarts], 'ps --json: the new instance, running').toEqual(['running', next.process!.pid, null, 1]);
    const v = JSON.parse(await t.ok(['inspect', pod, '--json'])) as View;
    expect([v.containers[0]!.state, v.containers[0]!.pid], 'inspect --json: the new instance, running').toEqual(['running', next.process!.pid]);
    await t.ok(['gc']);
    const after = record(t, pod).containers[0]!;
    expect([after.state, after.process!.pid, after.restarts], 'gc: still the same running instance').toEqual(['running', next.process!.pid, 1]);
    expect(alive(next.process!.pid)).toBe(true);
    expect(
      stale.filter((f) => fs.existsSync(f)),
      'gc removed the stale exit files',
    ).toEqual([]);
    expect(fs.existsSync(path.join(exits, first.launchId)), "gc removed the old launch's exit dir").toBe(false);
    await t.ok(['pod', 'rm', '-f', pod]);
    expect(t.leaks()).toEqual([]);
  }, 120_000);

  it('a container an older build launched (its exit file at exits/<id>, no dir of its launch) has its exit read there', async () => {
    const pod = t.pod('old');
    await t.ok(['pod', 'create', pod, '--restart', 'never']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    const c = record(t, pod).containers[0]!;
    const exits = path.join(t.root, 'pods', pod, 'exits');
    // as an older build leaves it: one exit dir for the pod, the file named by the runc id
    fs.rmSync(path.join(exits, c.launchId), { recursive: true, force: true });
    fs.writeFileSync(path.join(t.root, 'pods', pod, 'containers', 'app', 'stopping'), '');
    process.kill(c.process!.pid, 'SIGKILL');
    await eventually(() => !alive(c.conmon!.pid), 15_000, 'its conmon to end');
    fs.writeFileSync(path.join(exits, `${pod}.app`), '137');
    const ps = await psMember(t, pod, 'app');
    expect([ps.state, ps.exitCode]).toEqual(['exited', 137]);
    await t.ok(['pod', 'rm', pod]);
    expect(t.leaks()).toEqual([]);
  }, 60_000);
});
