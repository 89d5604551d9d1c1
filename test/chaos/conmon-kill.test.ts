/**
 * Chaos: a container's monitor (conmon) SIGKILLed. What a user of podman or
 * CRI-O expects: the container keeps running (unsupervised); `ps` still
 * works, shows its state from reality and says it is unsupervised (never
 * "Running" as if all were well); `gc` reports it; a later exit of the
 * container is still noticed (state unknown, with the reason) and its restart
 * policy applied by `gc`; stop, rm, pod rm and gc all work and leave nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventually, skipReason, type TestEnv, useTestEnv } from '../helpers/harness.js';
import { alive, runcIds } from '../helpers/chaos.js';

interface Member {
  container: string;
  state: string;
  status: string;
  pid: number | null;
  restarts: number;
  message: string | null;
  supervised?: boolean | null;
}
const members = async (t: TestEnv, pod: string): Promise<Record<string, Member>> => {
  const v = JSON.parse(await t.ok(['ps', pod, '--json'])) as { pods: { containers: Member[] }[] };
  return Object.fromEntries(v.pods[0]!.containers.map((c) => [c.container, c]));
};
const conmonPid = (t: TestEnv, pod: string, member: string): number =>
  Number(fs.readFileSync(path.join(t.root, 'pods', pod, 'containers', member, 'conmon.pid'), 'utf8'));

/** SIGKILLs a member's conmon and waits until it is gone; the member itself is untouched. */
async function killConmon(t: TestEnv, pod: string, member: string): Promise<void> {
  const pid = conmonPid(t, pod, member);
  expect(alive(pid)).toBe(true);
  process.kill(pid, 'SIGKILL');
  await eventually(() => !alive(pid), 10_000, `conmon ${pid} to die`);
}

describe.skipIf(skipReason)('chaos: conmon killed', () => {
  const t = useTestEnv();

  it('the container runs on and ps and gc say it is unsupervised; its later exit is noticed and gc applies the restart policy', async () => {
    const pod = t.pod('cm');
    await t.ok(['pod', 'create', pod, '--restart', 'always', '--backoff', '0s']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    const before = await members(t, pod);
    expect(before.app!.supervised).toBe(true);
    const pid = before.app!.pid!;

    await killConmon(t, pod, 'app');
    expect(alive(pid), 'the container keeps running without its monitor').toBe(true);
    const now = await members(t, pod);
    expect(now.app!.state, 'its state comes from reality').toBe('running');
    expect(now.app!.pid).toBe(pid);
    expect(now.app!.supervised, 'ps --json does not claim it is supervised').toBe(false);
    expect(now.app!.message).toMatch(/unsupervised: its monitor \(conmon pid \d+\) is gone/);
    expect(await t.ok(['ps', pod]), 'ps says so').toMatch(/app +Running \(unsupervised: conmon gone\) +\d+/);
    const gc = await t.ok(['gc']);
    expect(gc, 'gc reports it (no silent "nothing to do")').toContain(`${pod}: app runs unsupervised`);
    expect(alive(pid), 'gc leaves a running container running').toBe(true);

    // its exit: no conmon writes a code or runs the handler, yet it is noticed, and gc applies the policy
    process.kill(pid, 'SIGKILL');
    await eventually(() => !alive(pid), 10_000, 'the container to die');
    const exited = await members(t, pod);
    expect(exited.app!.state).toBe('unknown');
    expect(exited.app!.message).toMatch(/conmon\) ended without writing/);
    expect(await t.ok(['gc'])).toContain(`restarted app (its exit handler was lost)`);
    const again = await members(t, pod);
    expect(again.app!.state).toBe('running');
    expect(again.app!.pid).not.toBe(pid);
    expect(again.app!.restarts).toBe(1);
    expect(again.app!.supervised, 'the new instance has its own conmon').toBe(true);
    expect(alive(conmonPid(t, pod, 'app'))).toBe(true);
    const events = (await t.ok(['events', pod, '--json']))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; container?: string });
    expect(events.filter((e) => e.container === 'app').map((e) => e.type)).toEqual(['started', 'died', 'restarted']);

    await t.ok(['pod', 'rm', '-f', pod]);
    expect(t.leaks()).toEqual([]);
  });

  it("stop, start, rm, pod rm and gc work on members whose conmon was killed (the sandbox's too) and leave nothing", async () => {
    const pod = t.pod('cs');
    await t.ok(['pod', 'create', pod]);
    for (const name of ['a', 'b']) await t.ok(['run', '--pod', pod, '--name', name, '--', 'sleep', '3600']);
    const pids = await members(t, pod);
    for (const m of ['a', 'b', '_pause']) await killConmon(t, pod, m);
    expect((await members(t, pod))._pause!.supervised).toBe(false);
    expect(await t.ok(['gc'])).toContain(`${pod}: the sandbox runs unsupervised`);

    await t.ok(['stop', pod, 'a', '--time', '1']);
    expect(alive(pids.a!.pid!), 'stop ends the unsupervised process').toBe(false);
    expect((await members(t, pod)).a!.state).toBe('exited');
    await t.ok(['start', pod, 'a']);
    const started = await members(t, pod);
    expect(started.a!.state).toBe('running');
    expect(started.a!.supervised, 'started again, it has a monitor again').toBe(true);

    await t.ok(['rm', '-f', pod, 'b']);
    expect(alive(pids.b!.pid!)).toBe(false);
    expect(runcIds(t)).toEqual([`${pod}._pause`, `${pod}.a`]);

    await t.ok(['pod', 'rm', '-f', pod]);
    expect(alive(pids._pause!.pid!)).toBe(false);
    expect(await t.ok(['gc'])).toBe('nothing to do\n');
    expect(t.leaks()).toEqual([]);
  });
});
