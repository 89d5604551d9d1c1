/**
 * A state root on a small tmpfs, filled by a container's log (conmon writes
 * it): removal and gc still work and free the space, a command that needs to
 * write says `disk full: <path>` (exit 1, the `disk-full` row of the exit
 * code table), no lock is left behind; an exit code conmon could not write is
 * recorded as unknown with the reason, and gc restarts the container once
 * there is space again. Nothing leaks.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, pidOf, skipReason, type TestEnv, useTestEnv } from '../helpers/harness.js';
import { isAlive } from '../../src/runtime/procfs.js';
import type { ProcessIdentity } from '../../src/model.js';

interface Member {
  container: string;
  state: string;
  status: string;
  restarts: number;
  exitCode: number | null;
  message?: string | null;
  lastExit?: { exitCode: number | null; reason: string } | null;
}

const member = async (t: TestEnv, pod: string, name: string): Promise<Member> =>
  (JSON.parse(await t.ok(['ps', pod, '--json'])) as { pods: { containers: Member[] }[] }).pods[0]!.containers.find((c) => c.container === name)!;

const freeBlocks = (dir: string) => fs.statfsSync(dir).bfree;

/** Fills a file system with one file until it says ENOSPC. */
function fill(file: string): void {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    fs.closeSync(fd);
  }
}

/** What the harness's leak check finds while the tmpfs is still mounted (it lives on it), less the tmpfs itself. */
const leaksBesidesTheMount = (t: TestEnv) => t.leaks().filter((l) => l !== `mount ${t.root}`);

describe.skipIf(skipReason)('a full state root', () => {
  const t = useTestEnv();
  let mounted: string | undefined;

  /** Mounts a small tmpfs as this test's state root: root-owned, mode 0700. */
  function smallRoot(size: string): void {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', t.root], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    mounted = t.root;
    const st = fs.statSync(t.root);
    expect([st.uid, st.mode & 0o777]).toEqual([0, 0o700]);
  }

  // runs before the harness's leak check (hooks run in reverse): a failed test still leaves nothing, then the tmpfs goes
  afterEach(async () => {
    if (!mounted) return;
    const pods = path.join(mounted, 'pods');
    fs.rmSync(path.join(mounted, 'filler'), { force: true });
    // room for a failed test's cleanup even if removal on a full disk is what failed: empty every container log
    for (const p of fs.existsSync(pods) ? fs.readdirSync(pods) : []) {
      const ctrs = path.join(pods, p, 'containers');
      for (const c of fs.existsSync(ctrs) ? fs.readdirSync(ctrs) : []) {
        try {
          fs.truncateSync(path.join(ctrs, c, 'ctr.log')); // not unlink: conmon keeps it open
        } catch {
          // none
        }
      }
    }
    for (const p of fs.existsSync(pods) ? fs.readdirSync(pods) : []) await t.bp(['pod', 'rm', '-f', p, '--time', '0']);
    await t.bp(['gc']);
    spawnSync('umount', [mounted]);
    mounted = undefined;
  });

  it('a container whose log fills the state root: gc works, a write says disk full, pod rm -f frees it, nothing leaks', async () => {
    smallRoot('8m');
    const pod = t.pod('full');
    const other = t.pod('other');
    // conmon's CRI log of this container is what fills the file system; conmon counts the bytes it failed to write
    // towards the log's cap and starts a fresh (empty) file there: a cap far above the tmpfs keeps it full
    await t.ok(['pod', 'create', pod, '--grace-period', '1', '--log-size-max', '64Gi']);
    await t.ok([
      'run',
      '--pod',
      pod,
      '--name',
      'chatty',
      '--',
      'sh',
      '-c',
      'i=0; while :; do echo "line $i: 0123456789012345678901234567890123456789"; i=$((i+1)); done',
    ]);
    await eventually(() => freeBlocks(t.root) === 0, 60_000, 'the log to fill the tmpfs');
    expect(fs.statSync(path.join(t.root, 'pods', pod, 'containers', 'chatty', 'ctr.log')).size).toBeGreaterThan(4 * 1024 * 1024);

    // reads and gc work on a full disk
    expect((await member(t, pod, 'chatty')).state).toBe('running');
    const gc = await t.bp(['gc']);
    expect(gc.stderr).toBe('');
    expect(gc.code).toBe(0);

    // a command that has to write: a clear error naming the file, exit 1 (disk-full), nothing half-made, no lock left
    const create = await t.bp(['pod', 'create', other, '--network', 'none']);
    expect(create.code).toBe(1);
    expect(create.stderr).toMatch(new RegExp(`^barepod: error: disk full: ${t.root}/\\S+`, 'm'));
    expect(create.stderr).toMatch(/^barepod: hint: free space on its file system/m);
    expect(create.stderr).not.toContain('unexpected error');
    expect(fs.existsSync(path.join(t.root, 'pods', other))).toBe(false);
    expect(fs.readdirSync(path.join(t.root, 'locks'))).toEqual([]);
    const run = await t.bp(['run', '--pod', pod, '--name', 'late', '--', 'sleep', '3600']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^barepod: error: disk full: ${t.root}/\\S+`, 'm'));
    expect(fs.existsSync(path.join(t.root, 'pods', pod, 'containers', 'late'))).toBe(false);
    expect(fs.readdirSync(path.join(t.root, 'locks'))).toEqual([]);

    // removal works on the full disk and frees it
    const rm = await t.bp(['pod', 'rm', '-f', pod]);
    expect(rm.stderr).toBe('');
    expect([rm.code, rm.stdout]).toEqual([0, `pod/${pod} removed\n`]);
    expect(fs.readdirSync(path.join(t.root, 'pods'))).toEqual([]);
    expect(fs.readdirSync(path.join(t.root, 'locks'))).toEqual([]);
    expect(freeBlocks(t.root)).toBeGreaterThan(fs.statfsSync(t.root).blocks * 0.9);
    expect(await t.ok(['gc'])).toBe('nothing to do\n');
    expect(leaksBesidesTheMount(t)).toEqual([]);
  }, 120_000);

  it('down and rm -f on a full state root', async () => {
    smallRoot('8m');
    const pod = t.pod('down');
    await t.ok(['pod', 'create', pod, '--network', 'none', '--grace-period', '1', '--log-size-max', '64Gi']);
    await t.ok(['run', '--pod', pod, '--name', 'idle', '--', 'sleep', '3600']);
    await t.ok(['run', '--pod', pod, '--name', 'chatty', '--', 'sh', '-c', 'while :; do echo "0123456789012345678901234567890123456789"; done']);
    await eventually(() => freeBlocks(t.root) === 0, 60_000, 'the log to fill the tmpfs');
    const rm = await t.bp(['rm', '-f', pod, 'chatty']);
    expect(rm.stderr).toBe('');
    expect(rm.code).toBe(0);
    expect(fs.existsSync(path.join(t.root, 'pods', pod, 'containers', 'chatty'))).toBe(false);
    fill(path.join(t.root, 'filler')); // full again, by something that is not barepod's
    const down = await t.bp(['down', pod]);
    expect(down.stderr).toBe('');
    expect([down.code, down.stdout]).toEqual([0, `pod/${pod} removed\n`]);
    expect(fs.readdirSync(path.join(t.root, 'locks'))).toEqual([]);
    fs.rmSync(path.join(t.root, 'filler'));
    expect(leaksBesidesTheMount(t)).toEqual([]);
  }, 120_000);

  it('an exit code conmon could not write is recorded as unknown with the reason; gc restarts the container once there is space', async () => {
    smallRoot('8m');
    const pod = t.pod('lost');
    await t.ok(['pod', 'create', pod, '--network', 'none', '--restart', 'always', '--backoff', '0s', '--grace-period', '1']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    const app = await pidOf(t, pod, 'app');
    // the app's conmon, which runs its exit handler once the app is gone
    const conmon = (JSON.parse(fs.readFileSync(path.join(t.root, 'pods', pod, 'pod.json'), 'utf8')) as { containers: { conmon: ProcessIdentity }[] })
      .containers[0]!.conmon;
    fill(path.join(t.root, 'filler'));
    process.kill(app, 'SIGKILL');
    const lost = await eventually(
      async () => {
        const c = await member(t, pod, 'app');
        return c.state === 'unknown' && c;
      },
      30_000,
      'the container to be recorded as unknown',
    );
    expect(lost.exitCode).toBeNull();
    expect(lost.status).toBe('Unknown');
    expect(lost.message).toMatch(/its exit code was not recorded: conmon could not write \S+\/exits\/\S+ \(disk full\)/);
    const exits = path.join(t.root, 'pods', pod, 'exits');
    // no exit file anywhere (each launch has its own dir)
    expect((fs.readdirSync(exits, { recursive: true }) as string[]).filter((f) => path.basename(f) === `${pod}.app`)).toEqual([]);

    // (a view says unknown as soon as the app is dead; until its exit handler has run, gc leaves the container to it)
    await eventually(() => !isAlive(conmon), 30_000, 'the exit handler to have run');
    // still full: gc cannot restart it, says so naming the pod and the full disk, and goes on
    const stuck = await t.bp(['gc']);
    expect(stuck.code).toBe(1);
    expect(stuck.stdout).toContain(`${pod}: could not finish: disk full: ${t.root}/`);
    expect(stuck.stderr).toMatch(new RegExp(`^barepod: error: gc could not finish pod "${pod}" \\(disk full: `, 'm'));
    expect((await member(t, pod, 'app')).state).toBe('unknown');

    // space comes back: gc retries the restart the policy asks for
    fs.rmSync(path.join(t.root, 'filler'));
    const gc = await t.bp(['gc']);
    expect(gc.code).toBe(0);
    expect(gc.stdout).toContain(`${pod}: restarted app`);
    const back = await member(t, pod, 'app');
    expect([back.state, back.restarts]).toEqual(['running', 1]);
    expect(back.lastExit).toMatchObject({ exitCode: null });
    await t.ok(['pod', 'rm', '-f', pod]);
    expect(leaksBesidesTheMount(t)).toEqual([]);
  }, 120_000);
});
