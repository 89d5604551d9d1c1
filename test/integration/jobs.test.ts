/**
 * batch/v1 Jobs on real runc: failures counted under OnFailure until the
 * Job completes (`up --wait` exits 0), backoffLimit exceeded under Never
 * (`up --wait` exits 1 with the reason and the container's last lines, and
 * nothing restarts afterwards, not even through gc), activeDeadlineSeconds
 * killing a sleeping Job (its process gone from /proc), and `wait --for
 * complete`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventually, pidOf, skipReason, type TestEnv, useTestEnv } from '../helpers/harness.js';

/** Writes a Job manifest into the test's root. */
function job(t: TestEnv, name: string, spec: string, template: string): string {
  const file = path.join(t.root, `${name}.yaml`);
  fs.mkdirSync(t.root, { recursive: true });
  fs.writeFileSync(
    file,
    `apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: ${name}\nspec:\n${spec}  template:\n    metadata:\n      annotations: {barepod.io/network: none}\n    spec:\n${template}`,
  );
  return file;
}

/** A Job's template: restartPolicy Never, one container `work` that sleeps 600 s (with this grace period, if any). */
const sleeper = (grace?: number) => `      restartPolicy: Never
${grace === undefined ? '' : `      terminationGracePeriodSeconds: ${grace}\n`}      containers:
        - name: work
          image: busybox
          command: [sleep, '600']
`;

interface PsJob {
  state: string;
  failures: number;
  backoffLimit: number;
  reason: string | null;
  startTime: string | null;
  completionTime: string | null;
}
interface PsView {
  pods: {
    name: string;
    state: string;
    job: PsJob | null;
    containers: { container: string; restarts: number; state: string; backoff: unknown; exitCode: number | null }[];
  }[];
}
const ps = async (t: TestEnv, pod: string) => (JSON.parse(await t.ok(['ps', pod, '--json'])) as PsView).pods[0]!;
/** `inspect --json` of a pod: its Job and its sandbox. */
const inspect = async (t: TestEnv, pod: string) =>
  JSON.parse(await t.ok(['inspect', pod, '--json'])) as { job: PsJob & { startTime: string }; sandbox: { pid: number } };

/** Processes of this state root's timers for a pod (a pending restart or a deadline). */
function timersOf(root: string, pod: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const argv = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
        return argv.includes(root) && argv.includes(pod) && argv.some((a) => a === '_restart' || a === '_job-deadline');
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(skipReason)('Jobs', () => {
  const t = useTestEnv();

  it('OnFailure, backoffLimit 3: fails twice, then succeeds; up --wait exits 0 and 2 failures are recorded', async () => {
    const pod = t.pod('job-ok');
    const counter = path.join(t.root, `${pod}-count`);
    fs.mkdirSync(counter, { recursive: true });
    const file = job(
      t,
      pod,
      '  backoffLimit: 3\n',
      `      restartPolicy: OnFailure
      volumes: [{name: count, hostPath: {path: ${counter}, type: Directory}}]
      containers:
        - name: work
          image: busybox
          volumeMounts: [{name: count, mountPath: /count}]
          command: [sh, -c, 'n=$(cat /count/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /count/n; echo "attempt $n"; [ $n -ge 3 ]']
`,
    );
    // the kubelet's crash-loop backoff: 10 s, then 20 s
    const r = await t.bp(['up', '-f', file, '--wait', '--timeout', '2m']);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(counter, 'n'), 'utf8').trim()).toBe('3');
    const p = await ps(t, pod);
    expect(p.job).toMatchObject({ state: 'Complete', failures: 2, backoffLimit: 3, reason: null });
    expect(Date.parse(p.job!.completionTime!)).toBeGreaterThanOrEqual(Date.parse(p.job!.startTime!));
    expect(p.state).toBe('Completed');
    expect(p.containers.find((c) => c.container === 'work')).toMatchObject({ restarts: 2, state: 'exited', exitCode: 0 });
    // the same manifest again: unchanged, and waiting for it again succeeds at once
    expect(await t.ok(['up', '-f', file, '--wait'])).toBe(`pod/${pod} unchanged\n`);
    expect(await t.ok(['wait', pod, '--for', 'complete'])).toBe(`pod/${pod} complete\n`);
    expect((await inspect(t, pod)).job).toMatchObject({ state: 'Complete', failures: 2 });
    expect(await t.ok(['inspect', pod])).toMatch(/^Job: +.*Job Complete \(2 failures\)/m);
    await t.ok(['down', '-f', file]);
  }, 240_000); // 30 s of backoff, and a loaded machine

  it('Never, backoffLimit 1, a container that always fails: up --wait exits 1 with BackoffLimitExceeded and its last log lines; nothing restarts afterwards', async () => {
    const pod = t.pod('job-fail');
    const file = job(
      t,
      pod,
      '  backoffLimit: 1\n',
      `      restartPolicy: Never
      containers:
        - name: work
          image: busybox
          command: [sh, -c, 'echo "no luck this time"; exit 3']
`,
    );
    const r = await t.bp(['up', '-f', file, '--wait', '--timeout', '2m']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Job ".*" failed: BackoffLimitExceeded/);
    expect(r.stderr).toContain('no luck this time');
    const before = await ps(t, pod);
    expect(before.job).toMatchObject({ state: 'Failed', failures: 2, reason: 'BackoffLimitExceeded' });
    expect(before.state).toBe('Failed');
    const work = before.containers.find((c) => c.container === 'work')!;
    expect(work).toMatchObject({ restarts: 1, state: 'exited', exitCode: 3, backoff: null });
    // no timer of this pod waits to restart it, and gc (which redoes lost restarts) brings nothing back
    expect(timersOf(t.root, pod)).toEqual([]);
    await t.ok(['gc']);
    const after = await ps(t, pod);
    expect(after.containers.find((c) => c.container === 'work')).toMatchObject({ restarts: 1, state: 'exited', backoff: null });
    expect(after.job).toMatchObject({ state: 'Failed', failures: 2 });
    // wait --for complete says the same, with the JSON error object
    const w = await t.bp(['wait', pod, '--for', 'complete', '--json']);
    expect(w.code).toBe(1);
    expect((JSON.parse(w.stdout) as { error: { code: string } }).error.code).toBe('job-failed');
    await t.ok(['down', '-f', file]);
  }, 120_000);

  it('activeDeadlineSeconds: the sleeping container is stopped (SIGTERM first: the grace period is honoured), the Job is Failed with DeadlineExceeded', async () => {
    const pod = t.pod('job-deadline');
    const file = job(
      t,
      pod,
      '  activeDeadlineSeconds: 2\n',
      `      restartPolicy: OnFailure
      terminationGracePeriodSeconds: 5
      containers:
        - name: work
          image: busybox
          command: [sh, -c, 'trap "echo got SIGTERM; exit 143" TERM; echo sleeping; sleep 600 & wait']
`,
    );
    expect(await t.ok(['up', '-f', file])).toBe(`pod/${pod} created\n`);
    const pid = await pidOf(t, pod, 'work');
    expect(fs.existsSync(`/proc/${pid}`)).toBe(true);
    expect(timersOf(t.root, pod)).toHaveLength(1); // the deadline's
    const r = await t.bp(['wait', pod, '--for', 'complete', '--timeout', '60s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DeadlineExceeded');
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    expect(await t.ok(['logs', pod, 'work'])).toContain('got SIGTERM');
    const p = await ps(t, pod);
    expect(p.job).toMatchObject({ state: 'Failed', reason: 'DeadlineExceeded', failures: 0 });
    expect(p.containers.find((c) => c.container === 'work')).toMatchObject({ restarts: 0, state: 'exited', backoff: null });
    expect(timersOf(t.root, pod)).toEqual([]);
    await t.ok(['down', '-f', file]);
  }, 120_000);

  it('a deadline whose timer was lost: gc sets it again while time is left, and fails the Job once it has passed', async () => {
    const pod = t.pod('job-lost');
    const file = job(t, pod, '  activeDeadlineSeconds: 8\n', sleeper(0));
    await t.ok(['up', '-f', file]);
    const pid = await pidOf(t, pod, 'work');
    const kill = () => {
      const [timer] = timersOf(t.root, pod);
      expect(timer).toBeDefined();
      process.kill(-timer!, 'SIGKILL'); // the sleeper's process group: the shell and its sleep
      return timer!;
    };
    const first = kill();
    await eventually(() => timersOf(t.root, pod).length === 0, 5000, 'the killed timer to be gone');
    // time is left: gc sets the timer again
    const gc1 = await t.ok(['gc', '--json']);
    expect(gc1).toContain("set the Job's deadline timer again");
    const [second] = timersOf(t.root, pod);
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    // lost again, and now past its time: gc applies it
    kill();
    const until = Date.parse((await inspect(t, pod)).job.startTime) + 8000;
    await eventually(() => Date.now() > until + 100, 20_000, 'the deadline to pass');
    expect((await ps(t, pod)).job).toMatchObject({ state: 'Active' }); // nothing fired it
    expect(await t.ok(['gc', '--json'])).toContain('failed the Job: its activeDeadlineSeconds passed');
    expect((await ps(t, pod)).job).toMatchObject({ state: 'Failed', reason: 'DeadlineExceeded' });
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    await t.ok(['down', '-f', file]);
  }, 60_000);

  it("the pause dies: the Job's pod failed once (counted, a new sandbox, the container runs again, under Never too); once more than backoffLimit: Failed", async () => {
    const pod = t.pod('job-pause');
    const file = job(t, pod, '  backoffLimit: 1\n', sleeper(0));
    await t.ok(['up', '-f', file]);
    const killPause = async () => {
      const pause = (await inspect(t, pod)).sandbox.pid;
      process.kill(pause, 'SIGKILL');
      return pause;
    };
    const first = await pidOf(t, pod, 'work');
    const pause1 = await killPause();
    await eventually(async () => (await ps(t, pod)).job?.failures === 1, 30_000, 'the failure to be counted');
    const again = await eventually(
      async () => {
        const p = await ps(t, pod);
        const w = p.containers.find((c) => c.container === 'work')!;
        return w.state === 'running' && p.state === 'Running' ? w : undefined;
      },
      30_000,
      'the container to run again in a new sandbox',
    );
    expect(again.restarts).toBe(1);
    expect(fs.existsSync(`/proc/${first}`)).toBe(false);
    expect((await inspect(t, pod)).sandbox.pid).not.toBe(pause1);
    const second = await pidOf(t, pod, 'work');
    await killPause();
    await eventually(async () => (await ps(t, pod)).job?.state === 'Failed', 30_000, 'the Job to fail');
    const p = await ps(t, pod);
    expect(p.job).toMatchObject({ state: 'Failed', failures: 2, reason: 'BackoffLimitExceeded' });
    expect(p.state).toBe('Failed');
    expect(fs.existsSync(`/proc/${second}`)).toBe(false);
    const r = await t.bp(['wait', pod, '--for', 'complete']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('its sandbox (pause pid');
    await t.ok(['down', '-f', file]);
  }, 120_000);

  it('down of a running Job ends its deadline timer; wait --for complete refuses a pod that runs no Job', async () => {
    const pod = t.pod('job-down');
    const file = job(t, pod, '  activeDeadlineSeconds: 600\n', sleeper());
    const plan = JSON.parse(await t.ok(['up', '-f', file, '--dry-run', '--json'])) as { job: unknown; restartPolicy: string }[];
    expect(plan[0]).toMatchObject({ job: { name: pod, backoffLimit: 6, activeDeadlineSeconds: 600 }, restartPolicy: 'Never' });
    await t.ok(['up', '-f', file]);
    expect((await ps(t, pod)).job).toMatchObject({ state: 'Active', failures: 0 });
    expect(timersOf(t.root, pod)).toHaveLength(1);
    await t.ok(['down', '-f', file, '-t', '0']);
    expect(timersOf(t.root, pod)).toEqual([]);
    const plain = t.pod('plain');
    await t.ok(['pod', 'create', plain]);
    const w = await t.bp(['wait', plain, '--for', 'complete']);
    expect(w.code).toBe(2);
    expect(w.stderr).toContain('runs no Job');
    await t.ok(['pod', 'rm', plain]);
  }, 60_000);
});
