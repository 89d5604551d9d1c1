/**
 * Standing attacks on the container's root filesystem, as root with real
 * runc/conmon, each judged by what changes ON THE HOST (a canary directory's
 * listing and mtimes, a canary file's existence, the sha256 of the runc and
 * conmon binaries), never by barepod's output alone:
 * - an image (or a --rootfs directory) whose /dev, /proc, /sys or /dev/shm is
 *   a symlink to a host directory (runc 1.1.5 deletes and creates ptmx, fd,
 *   stdin, stdout, stderr in the host directory a `dev` link names);
 * - /etc/hosts and a volume's mountPath through symlinks (absolute: followed
 *   inside the rootfs; climbing out with "..": refused);
 * - a working directory in /proc/self/fd/N (CVE-2024-21626) by flag,
 *   manifest, image WorkingDir and an image symlink;
 * - an entrypoint /proc/self/exe and a container writing to the runc it sees
 *   at exec time (CVE-2019-5736).
 * The layer attacks (path traversal, absolute paths, symlink-then-file,
 * hardlinks out, whiteouts through symlinks) are in
 * test/integration/layers.test.ts ("refuses %s", "barepod import").
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually, inspect, pidOf, readInContainer, skipReason, useTestEnv } from '../helpers/harness.js';
import type { TarEntry } from '../helpers/image-fixtures.js';
import { BUSYBOX, hostileImage, snapshot } from '../helpers/security.js';

const BINARIES = ['/usr/sbin/runc', '/usr/bin/conmon', '/var/lib/barepod/builtin/pause/rootfs/pause'];

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe.skipIf(skipReason)('rootfs attacks', () => {
  const t = useTestEnv();
  let dir = '';
  /** a host directory no container may touch, with a file named like one runc deletes */
  let canary = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-sec-rootfs-'));
    canary = path.join(dir, 'canary');
    fs.mkdirSync(canary);
    fs.writeFileSync(path.join(canary, 'ptmx'), 'host file\n');
    fs.writeFileSync(path.join(canary, 'keep'), 'host file\n');
    fs.utimesSync(path.join(canary, 'ptmx'), 1_600_000_000, 1_600_000_000);
    fs.utimesSync(canary, 1_600_000_000, 1_600_000_000);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const image = (name: string, top: TarEntry[], config?: Record<string, unknown>) => hostileImage(t, dir, name, top, config);

  async function pod(name: string, ...flags: string[]): Promise<string> {
    const p = t.pod(name);
    await t.ok(['pod', 'create', p, '--network', 'none', ...flags]);
    return p;
  }

  describe('a runtime mount point that is a symlink to a host directory', () => {
    const cases: [string, string, (canary: string) => string][] = [
      ['dev', '/dev', (c) => c],
      ['dev, relative and climbing', '/dev', (c) => `../../../../../../../../..${c}`],
      ['proc', '/proc', (c) => c],
      ['sys', '/sys', (c) => c],
      ['dev/shm', '/dev/shm', (c) => c],
    ];
    it.each(cases)('%s: refused before runc create, naming the path and the image; the host directory is untouched', async (_what, dest, target) => {
      const before = snapshot(canary);
      const ref = await image('evil', [...(dest === '/dev/shm' ? [{ path: 'dev/' }] : []), { path: dest.slice(1), type: 'symlink', linkpath: target(canary) }]);
      const p = await pod('link');
      const r = await t.bp(['run', '--pod', p, '--name', 'c', '--image', ref, '--pull', 'never']);
      expect(snapshot(canary)).toEqual(before);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`container "c" in pod "${p}" refused: image ${ref}: ${dest} is a symbolic link (to ${target(canary)})`);
      expect((await inspect(t, p)).containers.map((c) => c.name)).not.toContain('c');
      await t.ok(['pod', 'rm', '-f', p]);
    });

    it('a --rootfs directory whose dev links to a host directory: refused, naming the directory; the host directory is untouched', async () => {
      const rootfs = path.join(dir, 'rootfs');
      fs.cpSync(BUSYBOX, rootfs, { recursive: true, verbatimSymlinks: true });
      fs.rmSync(path.join(rootfs, 'dev'), { recursive: true, force: true });
      fs.symlinkSync(canary, path.join(rootfs, 'dev'));
      const before = snapshot(canary);
      const p = await pod('rootfs');
      const r = await t.bp(['run', '--pod', p, '--name', 'c', '--rootfs', rootfs, '--', 'sleep', '3600']);
      expect(snapshot(canary)).toEqual(before);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`refused: rootfs directory ${rootfs}: /dev is a symbolic link (to ${canary})`);
      await t.ok(['pod', 'rm', '-f', p]);
    });
  });

  it("/etc/hosts as an absolute symlink to a host file: the pod's hosts file is bound inside the rootfs, the host file is untouched", async () => {
    const hostFile = path.join(canary, 'keep');
    const before = snapshot(canary);
    const ref = await image('hosts', [{ path: 'etc/' }, { path: 'etc/hosts', type: 'symlink', linkpath: hostFile }]);
    const p = await pod('hosts');
    await t.ok([
      'run',
      '--pod',
      p,
      '--name',
      'c',
      '--image',
      ref,
      '--pull',
      'never',
      '--',
      'sh',
      '-c',
      'echo pwned >> /etc/hosts; cat /etc/hosts > /tmp/seen; exec sleep 3600',
    ]);
    const pid = await pidOf(t, p, 'c');
    // what the container sees is the pod's hosts file (bound where the link leads inside the rootfs), not the host's
    const seen = await eventually(() => readInContainer(pid, '/tmp/seen'));
    expect(seen).toContain('localhost');
    expect(seen).not.toContain('host file');
    expect(snapshot(canary)).toEqual(before);
    await t.ok(['pod', 'rm', '-f', p]);
  });

  it('/etc/hosts and a volume mountPath through symlinks that climb out with "..": refused, naming the path and the image; nothing created on the host', async () => {
    const climb = `../../../../../../../../..${canary}`;
    const before = snapshot(canary);
    const hosts = await image('hosts', [{ path: 'etc/' }, { path: 'etc/hosts', type: 'symlink', linkpath: `${climb}/hosts` }]);
    const p = await pod('climb');
    const r = await t.bp(['run', '--pod', p, '--name', 'c', '--image', hosts, '--pull', 'never']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`refused: image ${hosts}: /etc/hosts is a symbolic link (to ${climb}/hosts) that climbs above the root of the container`);
    await t.ok(['pod', 'rm', '-f', p]);

    const data = await image('data', [{ path: 'data', type: 'symlink', linkpath: climb }]);
    const vp = t.pod('vol');
    const file = path.join(dir, 'vol.yaml');
    fs.writeFileSync(
      file,
      `apiVersion: v1\nkind: Pod\nmetadata: {name: ${vp}}\nspec:\n  containers:\n  - name: c\n    image: ${data}\n    imagePullPolicy: Never\n    volumeMounts: [{name: v, mountPath: /data/x}]\n  volumes: [{name: v, emptyDir: {}}]\n`,
    );
    const v = await t.bp(['up', '-f', file]);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain(`/data is a symbolic link (to ${climb}) that climbs above the root of the container with ".." (needed by mount /data/x (bind))`);
    expect(snapshot(canary)).toEqual(before);
  });

  describe('a working directory in /proc/self/fd (CVE-2024-21626)', () => {
    /** what a container started there would try: write a file on the host through the leaked fd */
    const attack = (mark: string) => ['sh', '-c', `echo pwned > ../../../../../../tmp/${mark}; echo pwned > ../../../../../../${mark}; exec sleep 3600`];
    const marks: string[] = [];
    const mark = (n: string | number) => {
      const m = `barepod-cve-2024-21626-${t.prefix}-${n}`;
      marks.push(m);
      return m;
    };
    const untouched = () => {
      for (const m of marks) for (const d of ['/tmp', '/']) expect(fs.existsSync(path.join(d, m)), path.join(d, m)).toBe(false);
    };
    afterEach(() => {
      for (const m of marks.splice(0)) for (const d of ['/tmp', '/']) fs.rmSync(path.join(d, m), { force: true });
    });

    it('by flag: run -w /proc/self/fd/N (N = 3…10) and /dev/fd/7 are refused by barepod; exec -w too; nothing on the host', async () => {
      const p = await pod('wflag');
      for (const wd of [3, 4, 5, 6, 7, 8, 9, 10].map((n) => `/proc/self/fd/${n}`).concat(['/proc/1/fd/7', '/dev/fd/7', '/proc/thread-self/fd/7'])) {
        const r = await t.bp(['run', '--pod', p, '--name', 'w', '-w', wd, '--', ...attack(mark(wd.replace(/\//g, '_')))]);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain(`--workdir "${wd}": refused:`);
        expect(r.stderr).toContain('CVE-2024-21626');
      }
      await t.ok(['run', '--pod', p, '--name', 'ok', '--', 'sleep', '3600']);
      const e = await t.bp(['exec', '-w', '/proc/self/fd/7', p, 'ok', '--', 'sh', '-c', `echo pwned > ../../../../../../tmp/${mark('exec')}`]);
      expect(e.code).toBe(2);
      expect(e.stderr).toContain('--workdir "/proc/self/fd/7": refused:');
      untouched();
      await t.ok(['pod', 'rm', '-f', p]);
    });

    it('by manifest: workingDir /proc/self/fd/7 is refused naming the field; nothing on the host', async () => {
      const p = t.pod('wman');
      const file = path.join(dir, 'w.yaml');
      const [sh, c, cmd] = attack(mark('manifest'));
      fs.writeFileSync(
        file,
        `apiVersion: v1\nkind: Pod\nmetadata: {name: ${p}}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    workingDir: /proc/self/fd/7\n    command: [${sh}, ${c}, ${JSON.stringify(cmd)}]\n`,
      );
      const r = await t.bp(['up', '-f', file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('spec.containers[0].workingDir: "/proc/self/fd/7" is refused:');
      expect(fs.existsSync(path.join(t.root, 'pods', p))).toBe(false);
      untouched();
    });

    it('by image: WorkingDir /proc/self/fd/7 is an error naming the image config; a WorkingDir through an image symlink into /proc/self/fd is refused at launch', async () => {
      const direct = await image('wdir', [], { WorkingDir: '/proc/self/fd/7', Cmd: attack(mark('image')) });
      const p = await pod('wimg');
      const r = await t.bp(['run', '--pod', p, '--name', 'c', '--image', direct, '--pull', 'never']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`image ${direct}: its config's WorkingDir "/proc/self/fd/7" is refused:`);
      const linked = await image('wlink', [{ path: 'app', type: 'symlink', linkpath: '/proc/self/fd/7' }], { WorkingDir: '/app', Cmd: attack(mark('link')) });
      const l = await t.bp(['run', '--pod', p, '--name', 'c', '--image', linked, '--pull', 'never']);
      expect(l.code).toBe(1);
      expect(l.stderr).toContain(`refused: image ${linked}: /proc/self/fd/7 is inside /proc`);
      expect(l.stderr).toContain('(needed by the working directory /app)');
      untouched();
      await t.ok(['pod', 'rm', '-f', p]);
    });
  });

  it('CVE-2019-5736: an entrypoint /proc/self/exe and a container writing to every runc it sees at exec time leave runc, conmon and pause unchanged', async () => {
    const before = BINARIES.map(sha256);
    const p = await pod('exe', '--share', 'net,ipc,uts,pid');
    // every process whose exe it can reach that is not its own busybox: written directly, and through a kept read fd
    const script = [
      'echo started > /tmp/started',
      'while :; do',
      '  for p in /proc/[0-9]*; do',
      '    exe=$(readlink $p/exe 2>/dev/null)',
      '    case "$exe" in */busybox) continue;; esac',
      '    [ "$p" = /proc/$$ ] && continue',
      '    echo "$p $exe" >> /tmp/tried',
      '    echo "#!/bin/sh" >> $p/exe 2>/dev/null && echo "wrote $p" >> /tmp/wrote',
      // (a redirection on a group, not on exec: a failed one must not end the shell)
      '    { i=0; while [ $i -lt 100 ]; do echo "#!/bin/sh" > /proc/self/fd/3 && echo "wrote $p via fd" >> /tmp/wrote; i=$((i+1)); done; } 3< $p/exe',
      '  done 2>/dev/null',
      'done',
    ].join('\n');
    await t.ok(['run', '--pod', p, '--name', 'attacker', '--', 'sh', '-c', script]);
    const pid = await pidOf(t, p, 'attacker');
    await eventually(() => readInContainer(pid, '/tmp/started'));
    for (let i = 0; i < 5; i++) await t.bp(['exec', p, 'attacker', '--', 'true']);
    // the original exploit's entrypoint: runc executes /proc/self/exe as the container's process
    await t.bp(['run', '--pod', p, '--name', 'self', '--entrypoint', '/proc/self/exe', '--', '--version']);
    for (let i = 0; i < 3; i++) await t.bp(['exec', p, 'attacker', '--', 'true']);
    // the attack ran the whole time (it saw at least the pod's pause, pid 1) and still runs
    expect((await inspect(t, p)).containers.find((c) => c.name === 'attacker')?.state).toBe('running');
    expect(readInContainer(pid, '/tmp/tried')).toMatch(/^\/proc\/1 \/pause$/m);
    expect(BINARIES.map(sha256)).toEqual(before);
    await t.ok(['pod', 'rm', '-f', p]);
    expect(BINARIES.map(sha256)).toEqual(before);
  });
});
