/**
 * Chaos: a runc killed inside its own copy guard. At every start (`runc create`, `runc exec`) runc init bind-mounts
 * the runc binary read-only on a runc.XXXXXX file in the container's state dir (under the state root's runc/), opens
 * it and unmounts it again (runc's guard against CVE-2019-5736). A kill in between (a probe's `runc exec` when the
 * pod's prober is stopped, an OOM kill, a kill -9) leaves that mount and file behind; `runc delete` then leaves the
 * dir, and runc refuses the id for good ("container with given ID already exists"). barepod must clear it: nothing
 * stays mounted on the host, and the same pod and container names work again.
 *
 * The kill lands there for real: a runc wrapper holds runc init's first umount2 under strace (runcHeldInGuard).
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect } from 'vitest';
import { eventually, inspect, it, mountsUnder, podManifest, skipReason, type TestEnv } from '../helpers/harness.js';
import { alive, background, realRunc, runcInitsOf, runcHeldInGuard } from '../helpers/chaos.js';

/** What the state root's runc/ holds: runc's state dirs, by container id. */
const runcDirs = (t: TestEnv): string[] => {
  const dir = path.join(t.root, 'runc');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
};

/** The container runs (a live pid, state running). */
async function runs(t: TestEnv, pod: string, name: string): Promise<void> {
  const v = await inspect(t, pod);
  const c = v.containers.find((x) => x.name === name);
  expect(c?.state).toBe('running');
  expect(alive(c!.pid!)).toBe(true);
}

/** The leftover as runc leaves it: a runc.XXXXXX file in the container's state dir, the runc binary bound on it read-only. */
function leftover(t: TestEnv, id: string): string {
  const dir = path.join(t.root, 'runc', id);
  fs.mkdirSync(dir, { recursive: true, mode: 0o711 });
  const guard = path.join(dir, 'runc.Qx7bZ2');
  fs.writeFileSync(guard, '', { mode: 0o600 });
  for (const argv of [
    ['--bind', realRunc(), guard],
    ['-o', 'remount,bind,ro', guard],
  ]) {
    const m = spawnSync('mount', argv, { encoding: 'utf8' });
    expect(m.status, m.stderr).toBe(0);
  }
  return guard;
}

/** A pod, and `run --name app` in it held inside runc init's guard of its `runc create` (held until the test ends). */
async function runHeldAtCreate(t: TestEnv, pod: string, onTestFinished: (fn: () => void) => void) {
  await t.ok(['pod', 'create', pod, '--network', 'none']);
  const runc = runcHeldInGuard(t, 'create');
  onTestFinished(() => runc.end()); // before the leak check: nothing it held goes on after the test
  const run = background(t, ['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600'], runc.env);
  await runc.held(`${pod}.app`);
  return { runc, run };
}

describe.skipIf(skipReason)('chaos: a runc killed inside its copy guard', () => {
  it("a probe's runc exec killed there as the pod is taken down: nothing stays mounted, and the pod comes up again", async ({ t, onTestFinished }) => {
    const pod = t.pod('probed');
    const file = podManifest(
      t,
      pod,
      `  terminationGracePeriodSeconds: 1
  containers:
    - name: app
      image: busybox
      command: [sleep, "3600"]
      readinessProbe: {exec: {command: ["true"]}, periodSeconds: 1, timeoutSeconds: 120}
`,
      '  annotations: {barepod.io/network: none}\n',
    );
    const runc = runcHeldInGuard(t, 'exec');
    onTestFinished(() => runc.end()); // before the leak check: nothing it held goes on after the test
    await t.ok(['up', '-f', file], runc.env);
    // the prober's first exec probe: its runc init holds the guard's mount
    const guard = await runc.held(`${pod}.app`);
    expect(mountsUnder(t.root)).toContain(guard);
    // down stops the prober with its process group (the probe's runc exec and runc init), then the pod
    await t.ok(['down', pod]);
    expect(mountsUnder(t.root)).toEqual([]);
    expect(runcDirs(t)).toEqual([]);
    // the same names again, with the real runc: runc must not refuse the id
    await t.ok(['up', '-f', file]);
    await runs(t, pod, 'app');
    await t.ok(['down', pod]);
  });

  it('runc init killed there during `run`: run fails and rolls back, nothing stays mounted, and the name works again', async ({ t, onTestFinished }) => {
    const pod = t.pod('created');
    const { runc, run } = await runHeldAtCreate(t, pod, onTestFinished);
    // what an OOM kill or a stray kill -9 does: runc init dies, runc create fails, conmon reports it
    const inits = runcInitsOf(path.join(t.root, 'runc', `${pod}.app`));
    expect(inits.length).toBeGreaterThan(0);
    for (const pid of inits) process.kill(pid, 'SIGKILL');
    runc.release(); // runc create's own clean-up goes on without the tracer's hold
    const r = await run.result;
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toMatch(/runc create/);
    expect(mountsUnder(path.join(t.root, 'runc'))).toEqual([]);
    expect(runcDirs(t)).toEqual([`${pod}._pause`]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    await runs(t, pod, 'app');
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('a run killed while its runc create is held there: the next run of the name waits for that create, then replaces it', async ({ t, onTestFinished }) => {
    const pod = t.pod('orphan');
    const { runc, run: first } = await runHeldAtCreate(t, pod, onTestFinished);
    // the command only: its conmon and the runc create it runs go on, and its lock is free to take over
    first.child.kill('SIGKILL');
    await first.result;
    const runcDir = path.join(t.root, 'runc', `${pod}.app`);
    expect(fs.existsSync(path.join(runcDir, 'state.json'))).toBe(false);
    const next = background(t, ['run', '--pod', pod, '--name', 'app', '--explain', '--', 'sleep', '3600']);
    await eventually(() => /runc is still at work on \S+\.app/.test(next.stderr()), 30_000, 'the next run to see the held create').catch((e: unknown) => {
      console.error(`the next run's narration so far:\n${next.stderr()}`);
      throw e;
    });
    // the create goes on: runc knows the container, which the next run then replaces with its own
    runc.release();
    const r = await next.result;
    expect(r.code, r.stderr).toBe(0);
    await runs(t, pod, 'app');
    expect(mountsUnder(path.join(t.root, 'runc'))).toEqual([]);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it("a process that only looks like a runc at work (a container's, another local user's) keeps nothing from being cleared", async ({ t, onTestFinished }) => {
    const victim = t.pod('victim');
    const runcRoot = path.join(t.root, 'runc');
    const dir = path.join(runcRoot, `${victim}.app`);
    leftover(t, `${victim}.app`);
    // a hostile image's processes: the runc root and the id in its argv; a runc init's name and state dir in another's
    const fake = t.pod('fake');
    await t.ok(['pod', 'create', fake, '--network', 'none']);
    await t.ok(['run', '--pod', fake, '--name', 'argv', '--', 'sh', '-c', 'sleep 3600; :', runcRoot, `${victim}.app`]);
    await t.ok([
      'run',
      '--pod',
      fake,
      '--name',
      'init',
      '--env',
      `_LIBCONTAINER_STATEDIR=${dir}`,
      '--',
      'sh',
      '-c',
      'cd /tmp && echo "sleep 3600; :" > init && exec sh init',
    ]);
    // another local user's process, on the host, with the same argv
    const other = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', 'sleep 3600; :', runcRoot, `${victim}.app`], {
      stdio: 'ignore',
    });
    onTestFinished(() => void other.kill('SIGKILL'));
    await eventually(
      () => other.pid !== undefined && fs.readFileSync(`/proc/${other.pid}/cmdline`, 'utf8').includes(`${victim}.app`),
      5_000,
      "the other user's process",
    );
    const out = await t.ok(['gc']);
    expect(out).toContain(`${victim}.app`);
    expect(mountsUnder(runcRoot)).toEqual([]);
    expect(fs.existsSync(dir)).toBe(false);
    await t.ok(['pod', 'rm', '-f', fake]);
  });

  describe('what an older barepod left (the dir and its mount, no state.json)', () => {
    it('of a pod that is gone: gc removes it and says so', async ({ t }) => {
      const pod = t.pod('gone');
      const guard = leftover(t, `${pod}.app`);
      expect(mountsUnder(t.root)).toEqual([guard]);
      const out = await t.ok(['gc']);
      expect(out).toContain(`${pod}.app`);
      expect(mountsUnder(t.root)).toEqual([]);
      expect(runcDirs(t)).toEqual([]);
      // and a second gc has nothing to do
      expect(await t.ok(['gc'])).toMatch(/nothing to do/);
    });

    it('under a name a new pod takes: its container starts all the same', async ({ t }) => {
      const pod = t.pod('reused');
      leftover(t, `${pod}.app`);
      await t.ok(['pod', 'create', pod, '--network', 'none']);
      await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
      await runs(t, pod, 'app');
      expect(mountsUnder(path.join(t.root, 'runc'))).toEqual([]);
      await t.ok(['pod', 'rm', '-f', pod]);
      expect(runcDirs(t)).toEqual([]);
    });
  });
});
