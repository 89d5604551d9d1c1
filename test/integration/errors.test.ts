/**
 * Bad input gets a clear one-line error with a stable exit code and no stack
 * trace; a failure half-way rolls back and leaves nothing.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cliForAnyUser, inspect, mountsUnder, run, skipReason, type Result, useTestEnv } from '../helpers/harness.js';

function expectCleanError(r: Result, code: number, message: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(3);
}

describe.skipIf(skipReason)('errors and rollback', () => {
  const t = useTestEnv();

  it.each([
    ['../x', /invalid pod name "\.\.\/x": must be a DNS-1123 label/],
    ['Web', /invalid pod name "Web"/],
    ['a'.repeat(64), /64 characters, must be a DNS-1123 label: at most 63 characters/],
    ['', /invalid pod name "": must be a DNS-1123 label/],
    ['a-', /invalid pod name "a-"/],
    ['a_b', /invalid pod name "a_b"/],
  ])('pod name %j is refused with the rule (exit 2)', async (name, message) => {
    expectCleanError(await t.bp(['pod', 'create', name]), 2, message);
    expect(fs.existsSync(path.join(t.root, 'pods'))).toBe(false);
  });

  it('invalid container names, limits and flags exit 2 naming the flag', async () => {
    const pod = t.pod('bad');
    expectCleanError(await t.bp(['run', '--pod', pod, '--name', 'App', '--', 'true']), 2, /invalid container name "App"/);
    expectCleanError(await t.bp(['run', '--pod', pod, '--name', 'a', '--memory', '12Qi', '--', 'true']), 2, /--memory: "12Qi" is not a Kubernetes quantity/);
    expectCleanError(await t.bp(['pod', 'create', pod, '--share', 'net,mnt']), 2, /--share: unknown namespace "mnt"/);
    expectCleanError(await t.bp(['pod', 'create', pod, '--cpus', '0']), 2, /--cpus: "0" must be greater than zero/);
    expectCleanError(await t.bp(['run', '--pod', pod, '--name', 'a', '--pid', 'host', '--', 'true']), 2, /--pid "host"/);
    expectCleanError(await t.bp(['pod', 'rm', pod, '--time', 'soon']), 2, /--time "soon": must be a whole number/);
    const unknown = await t.bp(['pod', 'create', pod, '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--bogus'/);
  });

  it('unknown pods and containers exit 3; duplicates exit 4', async () => {
    const pod = t.pod('dup');
    expectCleanError(await t.bp(['run', '--pod', pod, '--name', 'a', '--', 'true']), 3, new RegExp(`pod "${pod}" not found`));
    expectCleanError(await t.bp(['pod', 'rm', pod]), 3, /not found/);
    expectCleanError(await t.bp(['inspect', pod]), 3, /not found/);
    await t.ok(['pod', 'create', pod]);
    expectCleanError(await t.bp(['pod', 'create', pod]), 4, new RegExp(`pod "${pod}" already exists`));
    await t.ok(['run', '--pod', pod, '--name', 'a', '--', 'sleep', '3600']);
    expectCleanError(await t.bp(['run', '--pod', pod, '--name', 'a', '--', 'sleep', '1']), 4, /container "a" already exists/);
    expectCleanError(await t.bp(['stop', pod, 'nope']), 3, /container "nope" not found in pod/);
    expectCleanError(await t.bp(['spec', pod, 'nope']), 3, /container "nope" not found in pod/);
    // --pull never: a missing image is an error, not a pull (the test machine has no internet)
    expectCleanError(
      await t.bp(['run', '--pod', pod, '--name', 'b', '--image', 'nginx', '--pull', 'never', '--', 'true']),
      3,
      /image nginx is not in the image store/,
    );
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('missing runc, conmon or pause name the fix (exit 5)', async () => {
    const pod = t.pod('tools');
    expectCleanError(
      await t.bp(['pod', 'create', pod], { BAREPOD_RUNC: '/nonexistent/runc' }),
      5,
      /runc not found[^\n]*\n.*hint: run scripts\/setup, or: apt-get install runc/,
    );
    expectCleanError(await t.bp(['pod', 'create', pod], { BAREPOD_CONMON: '/nonexistent/conmon' }), 5, /conmon not found/);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-it-data-'));
    try {
      expectCleanError(await t.bp(['pod', 'create', pod], { BAREPOD_DATA: empty }), 5, /pause is not built[^\n]*\n.*hint: run scripts\/setup/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
    expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(false);
  });

  it('not root: a clear error (exit 5)', async () => {
    // a copy nobody can read: the checkout may sit in a 0700 home (/root)
    const staged = cliForAnyUser();
    try {
      const r = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', staged.cli, 'ps'], {
        ...t.env,
        BAREPOD_ROOT: '/nonexistent-barepod',
      });
      expectCleanError(r, 5, /barepod must run as root/);
    } finally {
      staged.remove();
    }
  });

  it('a container whose command cannot start is rolled back: no runc state, mount, cgroup or bundle left', async () => {
    const pod = t.pod('rb');
    await t.ok(['pod', 'create', pod]);
    const r = await t.bp(['run', '--pod', pod, '--name', 'broken', '--', '/no/such/binary']);
    expectCleanError(r, 1, /runc create [^ ]+\.broken failed: .*no such file or directory/);
    expect(fs.existsSync(path.join(t.root, 'pods', pod, 'containers', 'broken'))).toBe(false);
    expect((await inspect(t, pod)).containers).toEqual([]);
    // the pod itself is untouched and still usable
    await t.ok(['run', '--pod', pod, '--name', 'ok', '--', 'sleep', '3600']);
    expect((await inspect(t, pod)).containers.map((c) => c.name)).toEqual(['ok']);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('a sandbox that cannot start is rolled back: no pod dir, no cgroup, no runc state', async () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-it-data-'));
    try {
      const rootfs = path.join(data, 'builtin', 'pause', 'rootfs');
      fs.mkdirSync(rootfs, { recursive: true });
      for (const d of ['proc', 'dev', 'sys']) fs.mkdirSync(path.join(rootfs, d));
      fs.writeFileSync(path.join(rootfs, 'pause'), 'not a program\n', { mode: 0o755 });
      const pod = t.pod('rbpod');
      const r = await t.bp(['pod', 'create', pod, '--memory', '64Mi'], { BAREPOD_DATA: data });
      expectCleanError(r, 1, /pause exited right after it started/);
      expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(false);
    } finally {
      fs.rmSync(data, { recursive: true, force: true });
    }
  });

  it.each([[30], [90], [150]])('SIGINT %i ms into `run` leaves the pod consistent: every runc container recorded, none half-made', async (delay) => {
    const pod = t.pod(`int${delay}`);
    await t.ok(['pod', 'create', pod]);
    const child = spawn(CLI, ['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600'], { env: t.env, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, delay));
    child.kill('SIGINT');
    // killed outright before it took the pod lock (nothing done yet), or finished/rolled back then exited 130
    expect([0, 130, null]).toContain(await exited);
    const recorded = (await inspect(t, pod)).containers.map((c) => `${pod}.${c.name}`);
    const inRunc = fs.readdirSync(path.join(t.root, 'runc')).filter((id) => id !== `${pod}._pause`);
    expect(inRunc.sort()).toEqual(recorded.sort());
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('--json: an error is one object on stdout with its code and exit status; stderr keeps the human text', async () => {
    const pod = t.pod('nojson');
    const parse = (r: Result) => JSON.parse(r.stdout) as { error: { code: string; message: string; hint?: string; exitCode: number } };
    // not found (exit 3)
    const missing = await t.bp(['inspect', pod, '--json']);
    expect(missing.code, missing.stderr).toBe(3);
    expect(parse(missing)).toEqual({ error: { code: 'not-found', message: `pod "${pod}" not found`, hint: 'list pods with `barepod ps`', exitCode: 3 } });
    expect(missing.stderr).toMatch(new RegExp(`barepod: error: pod "${pod}" not found`));
    // a usage error found by barepod (exit 2) and one found by the command-line parser (exit 2)
    const badName = await t.bp(['inspect', 'Bad_Name', '--json']);
    expect(badName.code).toBe(2);
    expect(parse(badName).error).toMatchObject({ code: 'invalid-name', exitCode: 2, message: expect.stringMatching(/^invalid pod name "Bad_Name"/) });
    const unknown = await t.bp(['inspect', pod, '--json', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(parse(unknown)).toEqual({ error: { code: 'usage', message: "unknown option '--bogus'", hint: 'run with --help for usage', exitCode: 2 } });
    expect(unknown.stderr).toMatch(/unknown option '--bogus'/);
    // without --json, stdout stays empty
    expect((await t.bp(['inspect', pod])).stdout).toBe('');
  });

  it("a rollback that fails too keeps the primary error's exit status and code; --debug shows the failed undo's argv and stderr", async () => {
    const pod = t.pod('rbfail');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-it-umount-'));
    try {
      // an umount that unmounts, then says it failed: the undo step fails, nothing stays mounted
      const bin = path.join(dir, 'bin');
      fs.mkdirSync(bin);
      fs.writeFileSync(path.join(bin, 'umount'), '#!/bin/sh\n/usr/bin/umount "$@" || exit $?\necho "umount: $*: target is busy (simulated)" >&2\nexit 32\n', {
        mode: 0o755,
      });
      const file = path.join(dir, 'pod.yaml');
      // the primary failure comes after the rootfs is mounted: a subPath missing from its volume (invalid-value, exit 2)
      fs.writeFileSync(
        file,
        `apiVersion: v1
kind: Pod
metadata: {name: ${pod}}
spec:
  restartPolicy: Never
  volumes: [{name: vol, emptyDir: {}}]
  containers:
    - name: app
      image: busybox
      command: [sleep, "3600"]
      volumeMounts: [{name: vol, mountPath: /www, subPath: missing}]
`,
      );
      const r = await t.bp(['--debug', 'up', '-f', file, '--json'], { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` });
      expect(r.code, r.stderr).toBe(2);
      const { error } = JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string; exitCode: number } };
      expect(error.code).toBe('invalid-value');
      expect(error.exitCode).toBe(2);
      expect(error.message).toMatch(
        /subPath "missing" of volume "vol".*\(and rollback failed: unmount \S+\/containers\/app\/rootfs: umount failed: .*target is busy \(simulated\)\)/,
      );
      expect(error.hint).toMatch(/create it in the volume first.*; then run `barepod pod rm -f/);
      // --debug: the chain down to the failed program, with its argv and stderr
      expect(r.stderr).toMatch(/debug: RollbackError \[invalid-value\]/);
      expect(r.stderr).toMatch(/debug:\s+undo failed:/);
      expect(r.stderr).toMatch(/debug:\s+command: umount \S+\/containers\/app\/rootfs/);
      expect(r.stderr).toMatch(/debug:\s+umount: \S+: target is busy \(simulated\)/);
      expect(r.stderr).toMatch(/debug: caused by: SubPathError: missing does not exist in the volume/);
      // what the host keeps: the container's rootfs really is unmounted, no runc container was made
      expect(mountsUnder(path.join(t.root, 'pods', pod, 'containers'))).toEqual([]);
      expect(fs.readdirSync(path.join(t.root, 'runc')).filter((id) => id.startsWith(`${pod}.`) && id !== `${pod}._pause`)).toEqual([]);
      await t.ok(['pod', 'rm', '-f', pod]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('doctor reports every check and exits 0 on a ready host', async () => {
    const r = await t.bp(['doctor', '--json']);
    expect(r.code, r.stdout).toBe(0);
    const checks = JSON.parse(r.stdout) as { name: string; ok: boolean; required: boolean }[];
    expect(checks.map((c) => c.name)).toEqual(expect.arrayContaining(['root', 'runc', 'conmon', 'cgroups', 'pause', 'busybox image', 'CNI plugins']));
    expect(checks.filter((c) => c.required && !c.ok)).toEqual([]);
    // what scripts/setup installs is there too
    expect(
      checks.filter((c) => ['busybox image', 'image pulls', 'seccomp profile', 'CNI plugins', 'barepod-attach', 'barepod-prober'].includes(c.name) && !c.ok),
    ).toEqual([]);
    const broken = await t.bp(['doctor'], { BAREPOD_RUNC: '/nonexistent/runc' });
    expect(broken.code).toBe(5);
    expect(broken.stdout).toMatch(/FAIL\s+runc\s+not found\n\s+fix: apt-get install runc/);
  });
});
