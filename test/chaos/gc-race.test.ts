/**
 * Chaos: `gc` beside other commands. Each race is made deterministic: the
 * other command is stopped (SIGSTOP) at the step its --explain narration
 * announces, or gc itself is held inside a runc call (a gated runc) while
 * the test makes and removes pods. What counts is what is on the host
 * afterwards: runc's containers, the processes, cgroups and IPAM entries.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventually, inspect, readInContainer, skipReason, type TestEnv, useTestEnv } from '../helpers/harness.js';
import {
  alive,
  background,
  runcIdle,
  settled,
  podCgroups,
  record,
  reservationsOf,
  runcGate,
  runcIds,
  runcPid,
  runUntilStep,
  servingPod,
} from '../helpers/chaos.js';

type Action = { pod: string; action: string };

/** A CLI pod (no network) whose record is then marked Removing, as a `pod rm` killed half-way leaves it. */
async function interruptedRemoval(t: TestEnv, name: string): Promise<string> {
  const pod = t.pod(name);
  await t.ok(['pod', 'create', pod]);
  const file = path.join(t.root, 'pods', pod, 'pod.json');
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), phase: 'Removing' }));
  return pod;
}

/** The pod's app containers run, each has written its /served. */
async function serving(t: TestEnv, pod: string, names = ['app', 'side']): Promise<void> {
  const v = await inspect(t, pod);
  expect(v.state).toBe('Running');
  expect(v.containers.map((c) => [c.name, c.state])).toEqual(names.map((n) => [n, 'running']));
  for (const c of v.containers) expect(readInContainer(c.pid!, '/served')).toBe(`${c.name} serving\n`);
}

describe.skipIf(skipReason)('chaos: gc racing up and down', () => {
  const t = useTestEnv();

  it('gc skips a pod whose up holds its lock (stopped while attaching the network): its sandbox, cgroup and address stay, and the up finishes a whole pod', async () => {
    const pod = t.pod('busy');
    const file = servingPod(t, pod);
    const up = runUntilStep(t, ['up', '-f', file], /^Network: CNI ADD/, 'SIGSTOP');
    try {
      await settled(up);
      // the pod directory exists, no record yet, the pause runs: what gc used to call an incomplete pod
      expect(fs.existsSync(path.join(t.root, 'pods', pod, 'pod.json'))).toBe(false);
      const pause = runcPid(t, `${pod}._pause`);
      const addresses = reservationsOf(t);
      const gc = await t.bp(['gc', '--json']);
      expect(gc.code, gc.stderr).toBe(0);
      expect(JSON.parse(gc.stdout)).toEqual([{ pod, action: expect.stringMatching(/^skipped: busy \(another barepod command, pid \d+, holds its lock\)$/) }]);
      // untouched on the host
      expect(runcIds(t)).toEqual([`${pod}._pause`]);
      expect(alive(pause)).toBe(true);
      expect(podCgroups(t, pod).length).toBeGreaterThan(0);
      expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(true);
      expect(reservationsOf(t)).toEqual(addresses);
      up.child.kill('SIGCONT');
      expect(await up.closed, up.stderr()).toBe(0);
      expect(up.stdout()).toBe(`pod/${pod} created\n`);
      await serving(t, pod);
      expect((await inspect(t, pod)).sandbox.pid).toBe(pause);
    } finally {
      up.child.kill('SIGCONT');
      await up.closed;
    }
    await t.ok(['down', pod]);
  });

  it('gc skips a pod whose up is starting its containers (Creating, its lock held), and the pod that up finishes is whole', async () => {
    const pod = t.pod('creating');
    const file = servingPod(t, pod);
    // stopped as it starts its first container: the record (Creating, naming it) is written
    const up = runUntilStep(t, ['up', '-f', file], /^Container app:/, 'SIGSTOP');
    try {
      await settled(up);
      expect(record(t, pod).phase).toBe('Creating');
      const gc = await t.bp(['gc', '--json']);
      expect(gc.code, gc.stderr).toBe(0);
      expect(JSON.parse(gc.stdout)).toEqual([{ pod, action: expect.stringMatching(/^skipped: busy/) }]);
      expect(runcIds(t)).toContain(`${pod}._pause`);
      up.child.kill('SIGCONT');
      expect(await up.closed, up.stderr()).toBe(0);
      await serving(t, pod);
    } finally {
      up.child.kill('SIGCONT');
      await up.closed;
    }
    await t.ok(['down', pod]);
  });

  it("gc leaves a Creating pod alone while its up lives (between that up's lock rounds), and removes all of it once that up is gone", async () => {
    const pod = t.pod('creator');
    const file = servingPod(t, pod);
    const up = runUntilStep(t, ['up', '-f', file], /^Container app:/, 'SIGKILL');
    await up.reached;
    await up.closed;
    await runcIdle(t);
    // the record names its maker: make that a live process (the lock is free, as between two of up's lock rounds)
    const maker = spawn('sleep', ['3600'], { stdio: 'ignore' });
    try {
      const stat = fs.readFileSync(`/proc/${maker.pid}/stat`, 'utf8');
      const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
      const file = path.join(t.root, 'pods', pod, 'pod.json');
      fs.writeFileSync(file, JSON.stringify({ ...record(t, pod), creator: { pid: maker.pid, startTime } }));
      const pause = runcPid(t, `${pod}._pause`);
      const ids = runcIds(t);
      const gc = await t.bp(['gc', '--json']);
      expect(gc.code, gc.stderr).toBe(0);
      expect(JSON.parse(gc.stdout)).toEqual([{ pod, action: `skipped: being created (by pid ${maker.pid})` }]);
      expect(runcIds(t)).toEqual(ids);
      expect(alive(pause)).toBe(true);
      expect(podCgroups(t, pod).length).toBeGreaterThan(0);
    } finally {
      maker.kill('SIGKILL');
    }
    await eventually(() => !alive(maker.pid!));
    const gc = JSON.parse(await t.ok(['gc', '--json'])) as Action[];
    expect(gc).toEqual([{ pod, action: expect.stringMatching(/^removed a pod its up left incomplete/) }]);
    expect(runcIds(t)).toEqual([]);
    expect(podCgroups(t, pod)).toEqual([]);
    expect(reservationsOf(t)).toEqual([]);
  });

  it('gc held mid-sweep while a new pod is made: it never touches the pod that appeared after it started', async () => {
    const first = await interruptedRemoval(t, 'a');
    const gate = runcGate(t);
    const gc = background(t, ['gc', '--json'], gate.env);
    try {
      await gate.reached(); // gc is finishing the removal of the first pod, in a runc call
      const pod = t.pod('n');
      expect(await t.ok(['up', '-f', servingPod(t, pod, ['app'])])).toBe(`pod/${pod} created\n`);
      const before = await inspect(t, pod);
      const app = before.containers[0]!.pid!;
      const addresses = reservationsOf(t);
      gate.open();
      const r = await gc.result;
      expect(r.code, r.stderr).toBe(0);
      const actions = JSON.parse(r.stdout) as Action[];
      expect(actions).toContainEqual({ pod: first, action: 'finished an interrupted removal' });
      expect(actions.filter((a) => a.pod === pod)).toEqual([]);
      // the new pod is as it was: its runc containers, processes, cgroups and address
      expect(runcIds(t)).toEqual([`${pod}._pause`, `${pod}.app`]);
      expect(alive(before.sandbox.pid)).toBe(true);
      expect(alive(app)).toBe(true);
      expect(podCgroups(t, pod).length).toBeGreaterThan(0);
      expect(reservationsOf(t)).toEqual(addresses);
      await serving(t, pod, ['app']);
      await t.ok(['down', pod]);
    } finally {
      gate.open();
      await gc.result;
    }
  });

  it('gc held mid-sweep while a pod it listed is removed: it passes over that pod and finishes the rest of the sweep (exit 0)', async () => {
    const a = await interruptedRemoval(t, 'a');
    const b = t.pod('b');
    await t.ok(['pod', 'create', b]);
    const c = await interruptedRemoval(t, 'c');
    const gate = runcGate(t);
    const gc = background(t, ['gc', '--json'], gate.env);
    try {
      await gate.reached(); // gc listed a, b, c and is finishing a's removal
      expect(await t.ok(['down', b])).toBe(`pod/${b} removed\n`);
      gate.open();
      const r = await gc.result;
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([
        { pod: a, action: 'finished an interrupted removal' },
        { pod: c, action: 'finished an interrupted removal' },
      ]);
      expect(runcIds(t)).toEqual([]);
      expect(fs.readdirSync(path.join(t.root, 'pods'))).toEqual([]);
    } finally {
      gate.open();
      await gc.result;
    }
  });
});

describe.skipIf(skipReason)('chaos: gc at every step of a concurrent up and down', () => {
  const t = useTestEnv();

  /** gc while `cmd` is stopped at a step: it exits 0, only skips the pod, and leaves runc's containers as they were. */
  async function gcBeside(pod: string, cmd: ReturnType<typeof runUntilStep>, step: string): Promise<void> {
    await settled(cmd);
    const ids = runcIds(t);
    const gc = await t.bp(['gc', '--json']);
    expect(gc.code, `${step}: ${gc.stderr}`).toBe(0);
    for (const a of JSON.parse(gc.stdout) as Action[]) expect(a, step).toEqual({ pod, action: expect.stringMatching(/^skipped: /) });
    expect(runcIds(t), step).toEqual(ids);
    cmd.child.kill('SIGCONT');
    expect(await cmd.closed, `${step}: ${cmd.stderr()}`).toBe(0);
  }

  it('up stopped at each step it announces, gc, up goes on: a whole pod every time, and nothing left after down', { timeout: 300_000 }, async () => {
    const pod = t.pod('everyup');
    const file = servingPod(t, pod);
    const plan = JSON.parse(await t.ok(['up', '-f', file, '--dry-run', '--json'])) as { steps: string[] }[];
    const steps = plan[0]!.steps;
    expect(steps.length).toBeGreaterThanOrEqual(6); // check, pod, sandbox, network, app, side
    for (const step of steps) {
      const up = runUntilStep(t, ['up', '-f', file], step, 'SIGSTOP');
      try {
        await gcBeside(pod, up, step);
        expect(up.stdout(), step).toBe(`pod/${pod} created\n`);
        await serving(t, pod);
      } finally {
        up.child.kill('SIGCONT');
        await up.closed;
      }
      await t.ok(['down', pod]);
      await eventually(() => t.leaks().length === 0, 15_000, `no leaks after down (stopped at ${step}): ${t.leaks().join('; ')}`);
    }
  });

  it('down stopped at each step it announces, gc, down goes on: the pod is gone every time, nothing left', { timeout: 300_000 }, async () => {
    const pod = t.pod('everydown');
    const file = servingPod(t, pod);
    const steps = [
      /^Pod .*: mark it Removing/,
      /^Container side: stop/,
      /^Container app: stop/,
      /^Network: CNI DEL/,
      /^Sandbox: stop the pause/,
      /^Mounts: /,
      /^Cgroups: /,
      /^State: rm -r /,
    ];
    for (const step of steps) {
      await t.ok(['up', '-f', file]);
      const down = runUntilStep(t, ['down', pod], step, 'SIGSTOP');
      try {
        await gcBeside(pod, down, String(step));
        expect(down.stdout()).toBe(`pod/${pod} removed\n`);
      } finally {
        down.child.kill('SIGCONT');
        await down.closed;
      }
      expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(false);
      await eventually(() => t.leaks().length === 0, 15_000, `no leaks after down (stopped at ${step}): ${t.leaks().join('; ')}`);
    }
  });
});

describe.skipIf(skipReason)('chaos: up and down racing each other', () => {
  const t = useTestEnv();

  it('two ups of one manifest at once: exactly one creates, the other says unchanged (exit 0), and the pod is whole', async () => {
    const pod = t.pod('twoups');
    const file = servingPod(t, pod);
    // the first holds the pod's lock, its directory made and no record yet
    const first = runUntilStep(t, ['up', '-f', file], /^Sandbox:/, 'SIGSTOP');
    let second: ReturnType<typeof runUntilStep> | undefined;
    try {
      await first.reached;
      // the second has looked for the pod (found none) and goes on to make it
      second = runUntilStep(t, ['up', '-f', file], /^Check before making anything/, 'SIGCONT');
      await second.reached;
      first.child.kill('SIGCONT');
      const [c1, c2] = await Promise.all([first.closed, second.closed]);
      expect([c1, c2], first.stderr() + second.stderr()).toEqual([0, 0]);
      expect([first.stdout(), second.stdout()]).toEqual([`pod/${pod} created\n`, `pod/${pod} unchanged\n`]);
      await serving(t, pod);
      expect(runcIds(t)).toEqual([`${pod}._pause`, `${pod}.app`, `${pod}.side`]);
    } finally {
      first.child.kill('SIGCONT');
      await first.closed;
      await second?.closed;
    }
    await t.ok(['down', pod]);
  });

  it('down racing another removal of the same pod says already down (exit 0)', async () => {
    const pod = t.pod('twodowns');
    await t.ok(['pod', 'create', pod]);
    // the first down holds the lock, stopped as it stops the pause (the record already says Removing)
    const first = runUntilStep(t, ['down', pod], /^Sandbox: stop the pause/, 'SIGSTOP');
    try {
      await first.reached;
      // the second reads the record (an atime past the one set here shows it), then waits for the lock
      const file = path.join(t.root, 'pods', pod, 'pod.json');
      const old = new Date(Date.now() - 60_000);
      fs.utimesSync(file, old, new Date());
      const second = background(t, ['down', pod]);
      await eventually(() => fs.statSync(file).atimeMs > old.getTime() + 1000, 30_000, 'the second down to read the record');
      first.child.kill('SIGCONT');
      expect(await first.closed, first.stderr()).toBe(0);
      const r = await second.result;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`pod/${pod} not found (already down)\n`);
    } finally {
      first.child.kill('SIGCONT');
      await first.closed;
    }
  });
});
