/**
 * What `ps` shows is what just happened: a SIGSTOPped pause is shown
 * stopped (its /proc/<pid>/stat state is T), LAST EXIT is the termination
 * that just happened (the exit a CrashLoopBackOff waits after, not the one
 * before it), and a container a user stopped is Exited (137) or Completed,
 * never Error.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eventually, inspect, pidOf, skipReason, type TestEnv, useTestEnv } from '../helpers/harness.js';

interface Termination {
  exitCode: number | null;
  reason: string;
  finishedAt: string;
}
interface Member {
  container: string;
  state: string;
  status: string;
  ready: boolean;
  restarts: number;
  exitCode: number | null;
  backoff: unknown;
  lastExit?: Termination | null;
}
interface Ps {
  pods: { name: string; state: string; containers: Member[] }[];
}

const ps = async (t: TestEnv, pod: string): Promise<Member[]> => (JSON.parse(await t.ok(['ps', pod, '--json'])) as Ps).pods[0]!.containers;
const member = async (t: TestEnv, pod: string, name: string): Promise<Member> => (await ps(t, pod)).find((c) => c.container === name)!;

/** The cells of `ps`'s row of one container: columns are separated by two spaces or more. */
async function row(t: TestEnv, pod: string, name: string): Promise<Record<string, string>> {
  const lines = (await t.ok(['ps', pod])).trimEnd().split('\n');
  const header = lines[0]!.split(/\s{2,}/);
  const cells = lines.map((l) => l.split(/\s{2,}/)).find((c) => c[0] === pod && c[1] === name);
  if (!cells) throw new Error(`no row for ${name} in:\n${lines.join('\n')}`);
  return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
}

const procState = (pid: number) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
};

describe.skipIf(skipReason)('ps shows what just happened', () => {
  const t = useTestEnv();

  it('a SIGSTOPped pause is shown stopped (not ready), and Running again after SIGCONT', async () => {
    const pod = t.pod('sigstop');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    const pause = (await inspect(t, pod)).sandbox.pid;
    process.kill(pause, 'SIGSTOP');
    try {
      await eventually(() => procState(pause) === 'T', 5_000, 'the pause to stop');
      const sandbox = await member(t, pod, '_pause');
      expect([sandbox.status, sandbox.ready]).toEqual(['Stopped', false]);
      expect((await row(t, pod, '(sandbox)')).STATUS).toBe('Stopped (SIGSTOP)');
    } finally {
      process.kill(pause, 'SIGCONT');
    }
    await eventually(() => procState(pause) !== 'T', 5_000, 'the pause to go on');
    const again = await member(t, pod, '_pause');
    expect([again.status, again.ready]).toEqual(['Running', true]);
    expect((await row(t, pod, '(sandbox)')).STATUS).toBe('Running');
    await t.ok(['pod', 'rm', '-f', pod, '--time', '0']);
  });

  it('LAST EXIT is the exit that just happened: in CrashLoopBackOff after a second exit (4), not the first one (3)', async () => {
    const pod = t.pod('lastexit');
    await t.ok(['pod', 'create', pod, '--network', 'none', '--restart', 'always', '--backoff', '1s', '--backoff-max', '1h']);
    // the first instance exits 3, every later one 4 (/dev/shm is the pod's: it outlives restarts)
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sh', '-c', '[ -e /dev/shm/once ] && exit 4; touch /dev/shm/once; exit 3']);
    const c = await eventually(
      async () => {
        const m = await member(t, pod, 'app');
        return m.restarts === 1 && m.state === 'exited' && m;
      },
      30_000,
      'the second exit',
    );
    expect(c.exitCode).toBe(4);
    expect((await row(t, pod, 'app'))['LAST EXIT']).toMatch(/^Error \(4\) \d+s ago$/);
    expect(c.lastExit).toMatchObject({ exitCode: 4, reason: 'Error' });
    await t.ok(['pod', 'rm', '-f', pod, '--time', '0']);
  }, 60_000);

  it('barepod stop: a container killed by the stop is Exited (137), one that exits 0 on SIGTERM Completed; never Error', async () => {
    const pod = t.pod('stop');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    await t.ok(['run', '--pod', pod, '--name', 'hard', '--', 'sleep', '3600']); // PID 1 without a handler: SIGKILL
    await t.ok(['run', '--pod', pod, '--name', 'soft', '--', 'sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.1; done']);
    await pidOf(t, pod, 'soft');
    await t.ok(['stop', pod, 'hard', '--time', '1']);
    await t.ok(['stop', pod, 'soft', '--time', '10']);
    const hard = await member(t, pod, 'hard');
    const soft = await member(t, pod, 'soft');
    expect([hard.state, hard.status, hard.exitCode]).toEqual(['exited', 'Exited', 137]);
    expect([soft.state, soft.status, soft.exitCode]).toEqual(['exited', 'Completed', 0]);
    expect((await row(t, pod, 'hard')).STATUS).toBe('Exited (137)');
    expect((await row(t, pod, 'soft')).STATUS).toBe('Completed (0)');
    // started again, the stop is its last exit
    await t.ok(['start', pod, 'hard']);
    const restarted = await member(t, pod, 'hard');
    expect(restarted.lastExit).toMatchObject({ exitCode: 137, reason: 'Exited' });
    expect((await row(t, pod, 'hard'))['LAST EXIT']).toMatch(/^Exited \(137\) \d+s ago$/);
    await t.ok(['pod', 'rm', '-f', pod, '--time', '0']);
  });
});
