/**
 * Container options and concurrency on real runc: security defaults,
 * --rootfs, --user/--env/--workdir, pid opt-out, per-pod locking.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { eventually, inspect, nsInode, pidOf, readInContainer, skipReason, type TestEnv, test } from '../helpers/harness.js';

/** A container's pid read straight from its pod record (for use inside a synchronous poll). */
function pidOfSync(t: TestEnv, pod: string, name: string): number {
  const rec = JSON.parse(fs.readFileSync(path.join(t.root, 'pods', pod, 'pod.json'), 'utf8')) as {
    containers: { def: { name: string }; process: { pid: number } }[];
  };
  return rec.containers.find((c) => c.def.name === name)?.process.pid ?? -1;
}

const status = (pid: number, field: string) => new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.trim();

describe.skipIf(skipReason)('containers', () => {
  test('security defaults: seccomp filter, no_new_privs, the default capability set; pause has no capabilities', async ({ t }) => {
    const pod = t.pod('sec');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    await t.ok(['run', '--pod', pod, '--name', 'loose', '--security-opt', 'seccomp=unconfined', '--', 'sleep', '3600']);
    const app = await pidOf(t, pod, 'app');
    expect(status(app, 'Seccomp')).toBe('2');
    expect(status(app, 'NoNewPrivs')).toBe('1');
    // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
    expect(status(app, 'CapEff')).toBe('00000000a80425fb');
    expect(status(await pidOf(t, pod, 'loose'), 'Seccomp')).toBe('0');
    const pause = (await inspect(t, pod)).sandbox.pid;
    expect(status(pause, 'CapEff')).toBe('0000000000000000');
    // /proc/timer_list is masked (it exists on the host, but reads empty inside), /proc/sys is read-only
    expect(fs.readFileSync('/proc/timer_list', 'utf8').length).toBeGreaterThan(0);
    await t.ok([
      'run',
      '--pod',
      pod,
      '--name',
      'probe',
      '--',
      'sh',
      '-c',
      'wc -c < /proc/timer_list > /tmp/masked; (echo 1 > /proc/sys/kernel/ostype) 2> /tmp/sys; exec sleep 3600',
    ]);
    const probe = await pidOf(t, pod, 'probe');
    expect((await eventually(() => readInContainer(probe, '/tmp/masked'))).trim()).toBe('0');
    expect(await eventually(() => readInContainer(probe, '/tmp/sys'))).toMatch(/Read-only file system/);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  test('--user, --env and --workdir reach the process; --pid private opts out of a shared pid namespace', async ({ t }) => {
    const pod = t.pod('opts');
    await t.ok(['pod', 'create', pod, '--share', 'net,ipc,uts,pid']);
    await t.ok([
      'run',
      '--pod',
      pod,
      '--name',
      'app',
      '-u',
      '1000:1001',
      '-e',
      'GREETING=hi there',
      '-w',
      '/tmp',
      '--',
      'sh',
      '-c',
      'echo "$GREETING $HOSTNAME $(pwd)" > /tmp/out; exec sleep 3600',
    ]);
    await t.ok(['run', '--pod', pod, '--name', 'alone', '--pid', 'private', '--', 'sleep', '3600']);
    const app = await pidOf(t, pod, 'app');
    expect(status(app, 'Uid')?.split(/\s+/)[0]).toBe('1000');
    expect(status(app, 'Gid')?.split(/\s+/)[0]).toBe('1001');
    expect(await eventually(() => readInContainer(app, '/tmp/out'))).toBe(`hi there ${pod} /tmp\n`);
    const pause = (await inspect(t, pod)).sandbox.pid;
    expect(nsInode(app, 'pid')).toBe(nsInode(pause, 'pid'));
    const alone = await pidOf(t, pod, 'alone');
    expect(nsInode(alone, 'pid')).not.toBe(nsInode(pause, 'pid'));
    expect(nsInode(alone, 'net')).toBe(nsInode(pause, 'net'));
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  test('--rootfs runs a prepared directory as-is', async ({ t }) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-it-rootfs-'));
    try {
      fs.mkdirSync(path.join(dir, 'bin'));
      fs.copyFileSync('/var/lib/barepod/builtin/busybox/rootfs/bin/busybox', path.join(dir, 'bin', 'busybox'));
      fs.chmodSync(path.join(dir, 'bin', 'busybox'), 0o755);
      for (const d of ['proc', 'sys', 'dev', 'tmp']) fs.mkdirSync(path.join(dir, d));
      const pod = t.pod('rootfs');
      await t.ok(['pod', 'create', pod]);
      await t.ok([
        'run',
        '--pod',
        pod,
        '--name',
        'app',
        '--rootfs',
        dir,
        '--',
        '/bin/busybox',
        'sh',
        '-c',
        'echo mine > /tmp/mark; exec /bin/busybox sleep 3600',
      ]);
      await eventually(() => fs.existsSync(path.join(dir, 'tmp', 'mark')));
      expect(fs.readFileSync(path.join(dir, 'tmp', 'mark'), 'utf8')).toBe('mine\n');
      await t.ok(['pod', 'rm', '-f', pod]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("two containers from the built-in image do not see each other's writes (an overlay each)", async ({ t }) => {
    const pod = t.pod('ovl');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'a', '--', 'sh', '-c', 'echo a > /etc/who; exec sleep 3600']);
    await t.ok(['run', '--pod', pod, '--name', 'b', '--', 'sleep', '3600']);
    const a = await pidOf(t, pod, 'a');
    const b = await pidOf(t, pod, 'b');
    expect(await eventually(() => readInContainer(a, '/etc/who'))).toBe('a\n');
    expect(readInContainer(b, '/etc/who')).toBeUndefined();
    expect(fs.existsSync('/var/lib/barepod/builtin/busybox/rootfs/etc/who')).toBe(false);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  test('the pod shares one /dev/shm when it shares IPC, and not otherwise', async ({ t }) => {
    const shared = t.pod('shm');
    await t.ok(['pod', 'create', shared]);
    await t.ok(['run', '--pod', shared, '--name', 'w', '--', 'sh', '-c', 'echo posix-shm > /dev/shm/seg; exec sleep 3600']);
    await t.ok(['run', '--pod', shared, '--name', 'r', '--', 'sleep', '3600']);
    const r = await pidOf(t, shared, 'r');
    expect(await eventually(() => readInContainer(r, '/dev/shm/seg'))).toBe('posix-shm\n');
    const own = t.pod('noshm');
    await t.ok(['pod', 'create', own, '--share', 'net,uts']);
    await t.ok(['run', '--pod', own, '--name', 'w', '--', 'sh', '-c', 'echo mine > /dev/shm/seg; echo done > /tmp/done; exec sleep 3600']);
    await t.ok(['run', '--pod', own, '--name', 'r', '--', 'sleep', '3600']);
    await eventually(() => readInContainer(pidOfSync(t, own, 'w'), '/tmp/done'));
    expect(readInContainer(await pidOf(t, own, 'r'), '/dev/shm/seg')).toBeUndefined();
    await t.ok(['pod', 'rm', '-f', shared, own]);
  });

  test('concurrent commands on one pod take turns: every run lands in the record; a second pod rm finds it already removed', async ({ t }) => {
    const pod = t.pod('lock');
    await t.ok(['pod', 'create', pod]);
    const names = ['c1', 'c2', 'c3', 'c4'];
    const results = await Promise.all(names.map((n) => t.bp(['run', '--pod', pod, '--name', n, '--', 'sleep', '3600'])));
    expect(
      results.map((r) => r.code),
      results.map((r) => r.stderr).join(''),
    ).toEqual([0, 0, 0, 0]);
    expect((await inspect(t, pod)).containers.map((c) => c.name).sort()).toEqual(names);
    const [r1, r2] = await Promise.all([t.bp(['pod', 'rm', '-f', pod]), t.bp(['pod', 'rm', '-f', pod])]);
    // the pod existed when both began: the one that finds it gone says so and exits 0, as down does (podman's pod rm racing)
    expect([r1.code, r2.code]).toEqual([0, 0]);
    expect(`${r1.stdout}${r2.stdout}`).toMatch(/already removed/);
  });
});
