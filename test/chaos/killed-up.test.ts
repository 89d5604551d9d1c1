/**
 * Chaos: `up -f` SIGKILLed after the pod's record is written and before its
 * app containers are recorded (the moment --explain announces the first
 * container). The pod must not look healthy: it stays Creating, `wait`
 * never says ready, the next `up -f` makes the missing containers (never
 * `unchanged`) and they really run, and `gc` removes what the dead `up` left.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventually, inspect, processesOf, readInContainer, skipReason, type TestEnv, useTestEnv } from '../helpers/harness.js';
import { alive, background, podCgroups, runcIdle, record, reservationsOf, runcIds, runcPid, runUntilStep, servingPod } from '../helpers/chaos.js';

/** Runs `up -f file` and SIGKILLs it as it starts the first app container; checks where it was cut. */
async function killedUp(t: TestEnv, pod: string, file: string): Promise<void> {
  const up = runUntilStep(t, ['up', '-f', file], /^Container app:/, 'SIGKILL');
  await up.reached;
  expect(await up.closed).toBe(137);
  await runcIdle(t);
  // cut where this test means: the record is written, no container of the manifest is recorded in it
  expect(record(t, pod).containers).toEqual([]);
}

/** Every container of the manifest runs, each has written its /served, and runc has nothing else of the pod. */
async function serving(t: TestEnv, pod: string): Promise<void> {
  const v = await inspect(t, pod);
  expect(v.state).toBe('Running');
  expect(v.containers.map((c) => [c.name, c.state])).toEqual([
    ['app', 'running'],
    ['side', 'running'],
  ]);
  for (const c of v.containers) {
    expect(alive(c.pid!)).toBe(true);
    expect(readInContainer(c.pid!, '/served')).toBe(`${c.name} serving\n`);
  }
  expect(runcIds(t)).toEqual([`${pod}._pause`, `${pod}.app`, `${pod}.side`]);
}

describe.skipIf(skipReason)('chaos: up killed between its record and its containers', () => {
  const t = useTestEnv();

  it('the pod is Creating, wait never says ready, and the next up -f makes the missing containers, which really run', async () => {
    const pod = t.pod('killedup');
    const file = servingPod(t, pod);
    await killedUp(t, pod, file);
    expect(record(t, pod).phase).toBe('Creating');

    const wait = await t.bp(['wait', pod, '--for', 'ready', '--timeout', '10s']);
    expect(wait.code).not.toBe(0);
    expect(wait.stdout).not.toContain('ready');

    const again = await t.bp(['up', '-f', file]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(`pod/${pod} repaired\n`);
    await serving(t, pod);
    expect(record(t, pod).phase).toBe('Running');
    expect(await t.ok(['wait', pod, '--for', 'ready', '--timeout', '30s'])).toBe(`pod/${pod} ready\n`);
    // from now on the pod is whole: another up has nothing to do
    expect(await t.ok(['up', '-f', file])).toBe(`pod/${pod} unchanged\n`);
    await t.ok(['down', pod]);
  });

  it('a record of an older barepod (no phase) that lacks containers of its manifest: up -f makes them, never unchanged', async () => {
    const pod = t.pod('oldrec');
    const file = servingPod(t, pod);
    await killedUp(t, pod, file);
    // what a barepod without the Creating phase wrote at this point: a record that says Running (by default) and no containers
    const rec = record(t, pod) as Record<string, unknown>;
    delete rec.phase;
    delete rec.creator;
    fs.writeFileSync(path.join(t.root, 'pods', pod, 'pod.json'), JSON.stringify(rec));

    const again = await t.bp(['up', '-f', file]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(`pod/${pod} repaired\n`);
    await serving(t, pod);
    await t.ok(['down', pod]);
  });

  it('up -f of a pod that lost a container (barepod rm) makes it again (repaired), without running its init container again', async () => {
    const pod = t.pod('lost');
    const file = servingPod(t, pod);
    const init = `  initContainers:\n    - name: init\n      image: busybox\n      imagePullPolicy: Never\n      command: [sh, -c, "exit 0"]\n`;
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('  containers:\n', `${init}  containers:\n`));
    expect(await t.ok(['up', '-f', file])).toBe(`pod/${pod} created\n`);
    await t.ok(['rm', '-f', pod, 'side']);
    const again = await t.bp(['up', '-f', file]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(`pod/${pod} repaired\n`);
    const v = await inspect(t, pod);
    expect(v.containers.map((c) => [c.name, c.state])).toEqual([
      ['init', 'exited'],
      ['app', 'running'],
      ['side', 'running'],
    ]);
    const side = v.containers.find((c) => c.name === 'side')!;
    expect(readInContainer(side.pid!, '/served')).toBe('side serving\n');
    const events = (await t.ok(['events', pod, '--json']))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; container?: string });
    expect(events.filter((e) => e.type === 'started' && e.container === 'init')).toHaveLength(1);
    expect(await t.ok(['up', '-f', file])).toBe(`pod/${pod} unchanged\n`);
    await t.ok(['down', pod]);
  });

  it(
    'up SIGKILLed at each step it announces, then gc: the pod is entirely absent, the next up makes it whole, and down leaves nothing',
    { timeout: 300_000 },
    async () => {
      const pod = t.pod('everykill');
      const file = servingPod(t, pod);
      const plan = JSON.parse(await t.ok(['up', '-f', file, '--dry-run', '--json'])) as { steps: string[] }[];
      const steps = plan[0]!.steps;
      expect(steps.length).toBeGreaterThanOrEqual(6); // check, pod, sandbox, network, app, side
      for (const step of steps) {
        const up = runUntilStep(t, ['up', '-f', file], step, 'SIGKILL');
        await up.reached;
        expect(await up.closed, step).toBe(137);
        await runcIdle(t);
        // gc waits a moment for a short holder: no exit handler of a container the dead up made holds the pod longer
        // (test 'the exit handler of a container the killed up made...' below makes that case happen every time)
        const gc = await t.bp(['gc', '--json']);
        expect(gc.code, `${step}: ${gc.stderr}`).toBe(0);
        expect(gc.stdout, `${step}: gc still finds the pod busy`).not.toMatch(/skipped: busy/);
        // nothing half-made stays: no pod, no runc container, cgroup, address or process of it
        expect(fs.existsSync(path.join(t.root, 'pods', pod)), step).toBe(false);
        expect(runcIds(t), step).toEqual([]);
        expect(podCgroups(t, pod), step).toEqual([]);
        expect(reservationsOf(t), step).toEqual([]);
        await eventually(() => processesOf(t.root, t.prefix).length === 0, 15_000, `no processes left (killed at ${step})`);
        expect(await t.ok(['up', '-f', file]), step).toBe(`pod/${pod} created\n`);
        await serving(t, pod);
        await t.ok(['down', pod]);
        await eventually(() => t.leaks().length === 0, 15_000, `no leaks after down (killed at ${step}): ${t.leaks().join('; ')}`);
      }
    },
  );

  it('the exit handler of a container the killed up made but never recorded holds the pod only for its round: gc right after is not told busy', async () => {
    const pod = t.pod('orphanexit');
    // one container: a second one's creation cut by the kill may end in its own exit handler first, which removes app
    const file = servingPod(t, pod, ['app']);
    // hold up at `runc start` of app (created by its conmon, never started, never recorded), then SIGKILL it there
    const mark = path.join(t.root, 'start-reached');
    const wrapper = path.join(t.root, 'runc-hold-start');
    fs.writeFileSync(wrapper, `#!/bin/sh\ncase "$*" in *" start ${pod}.app") echo $$ > ${mark}; exec sleep 3600;; esac\nexec /usr/sbin/runc "$@"\n`, {
      mode: 0o755,
    });
    const traceFile = path.join(t.root, 'trace');
    const up = background(t, ['up', '-f', file], { BAREPOD_RUNC: wrapper, BAREPOD_TRACE: traceFile });
    const held = await eventually(() => fs.existsSync(mark) && Number(fs.readFileSync(mark, 'utf8')), 30_000, 'up to reach runc start of app');
    up.child.kill('SIGKILL');
    await up.result;
    process.kill(held, 'SIGKILL'); // the held `runc start` (a sleep by now): only the container is left to end
    await runcIdle(t);
    expect(record(t, pod).containers).toEqual([]);
    expect(runcIds(t)).toContain(`${pod}.app`);

    // the container's process dies: its conmon writes the exit code and runs barepod's exit handler, which takes over the dead up's lock
    const conmonPid = conmonOf(t, pod, 'app');
    process.kill(runcPid(t, `${pod}.app`), 'SIGKILL');
    await gcRightAfterItsHandler(t, pod, file, conmonPid, traceFile);
  });

  it('up SIGKILLed while conmon runs runc create: conmon, with nobody to answer, ends and runs the exit handler; gc right after is not told busy', async () => {
    const pod = t.pod('noreply');
    const file = servingPod(t, pod, ['app']);
    // hold the `runc create` of app that conmon runs (it carries no mark of up's: nobody ends it for up) until up is dead
    const mark = path.join(t.root, 'create-reached');
    const gate = path.join(t.root, 'create-gate');
    const wrapper = path.join(t.root, 'runc-hold-create');
    fs.writeFileSync(gate, '');
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh\ncase "$*" in *" create "*" ${pod}.app") echo $$ > ${mark}; while [ -e ${gate} ]; do sleep 0.05; done;; esac\nexec /usr/sbin/runc "$@"\n`,
      { mode: 0o755 },
    );
    const traceFile = path.join(t.root, 'trace');
    const up = background(t, ['up', '-f', file], { BAREPOD_RUNC: wrapper, BAREPOD_TRACE: traceFile });
    await eventually(() => fs.existsSync(mark), 30_000, 'conmon to run runc create of app');
    up.child.kill('SIGKILL');
    await up.result;
    const conmonPid = await eventually(() => conmonOf(t, pod, 'app'), 15_000, 'the conmon of app');
    fs.rmSync(gate); // the create goes on: its conmon finds nobody to give the pid to, and ends, running its exit command
    await gcRightAfterItsHandler(t, pod, file, conmonPid, traceFile);
  });

  it('gc removes the Creating pod whose up is gone, everything of it, and a following up makes it whole', async () => {
    const pod = t.pod('killedgc');
    const file = servingPod(t, pod);
    await killedUp(t, pod, file);
    expect(reservationsOf(t)).toHaveLength(1); // its network was attached before the kill

    const actions = JSON.parse(await t.ok(['gc', '--json'])) as { pod: string; action: string }[];
    expect(actions.filter((a) => a.pod === pod).map((a) => a.action)).toEqual([expect.stringMatching(/^removed a pod its up left incomplete/)]);
    // nothing of it is left on the host
    expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(false);
    expect(runcIds(t)).toEqual([]);
    expect(podCgroups(t, pod)).toEqual([]);
    expect(reservationsOf(t)).toEqual([]);
    expect(processesOf(t.root, t.prefix)).toEqual([]);
    expect(await t.ok(['gc'])).toBe('nothing to do\n');

    expect(await t.ok(['up', '-f', file])).toBe(`pod/${pod} created\n`);
    await serving(t, pod);
    await t.ok(['down', pod]);
  });
});

/** A process's command line, or why not. */
function cmdlineOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '(gone)';
  }
}

/** The pid of a member's conmon (its pid file), or 0 while it has none. */
function conmonOf(t: TestEnv, pod: string, member: string): number {
  try {
    return Number(fs.readFileSync(path.join(t.root, 'pods', pod, 'containers', member, 'conmon.pid'), 'utf8'));
  } catch {
    return 0;
  }
}

/**
 * The pod's conmon (pid `conmonPid`) is running barepod's exit handler for app, a container the killed up never recorded:
 * once that handler holds the pod (or is done), `gc` must not find the pod busy, and removes all of it; the handler really
 * ran (its trace); then `up` makes the pod whole.
 */
async function gcRightAfterItsHandler(t: TestEnv, pod: string, file: string, conmonPid: number, traceFile: string): Promise<void> {
  const lock = path.join(t.root, 'locks', pod);
  const handlerHolds = () => {
    try {
      const owner = JSON.parse(fs.readlinkSync(lock)) as { pid: number };
      return cmdlineOf(owner.pid).includes(' _exited ');
    } catch {
      return false;
    }
  };
  // from the moment the handler holds the pod (or has already let it go: its conmon ends after it)
  await eventually(() => handlerHolds() || !alive(conmonPid), 30_000, 'the exit handler of app to take the pod');
  const actions = JSON.parse(await t.ok(['gc', '--json'])) as { pod: string; action: string }[];
  expect(actions.filter((a) => a.pod === pod).map((a) => a.action)).toEqual([expect.stringMatching(/^removed a pod its up left incomplete/)]);
  // the trace reaches the exit handler too (conmon passes up's environment on)
  expect(fs.readFileSync(traceFile, 'utf8')).toContain(`exit handler ${pod}/app: done`);
  expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(false);
  expect(runcIds(t)).toEqual([]);
  expect(podCgroups(t, pod)).toEqual([]);
  expect(reservationsOf(t)).toEqual([]);
  await eventually(() => processesOf(t.root, t.prefix).length === 0, 15_000, 'no processes of the pod left');

  expect(await t.ok(['up', '-f', file])).toBe(`pod/${pod} created\n`);
  const v = await inspect(t, pod);
  expect(v.containers.map((c) => [c.name, c.state])).toEqual([['app', 'running']]);
  expect(readInContainer(v.containers[0]!.pid!, '/served')).toBe('app serving\n');
  await t.ok(['down', pod]);
}
