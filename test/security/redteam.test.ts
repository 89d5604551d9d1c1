/**
 * Red team of the subPath defence (src/runtime/subpath.ts, stageSubPaths)
 * and the rootfs checks (src/plan/rootfs-paths.ts, src/runtime/rootfs-check.ts),
 * as a hostile image author, manifest author, running container and racing
 * process would try them (docs/security/redteam.md lists every attempt).
 * Root, real runc/conmon; each attempt is judged ON THE HOST (a canary
 * directory's entries, modes, mtimes and contents; a secret that must not be
 * read out; mounts left under the state root), never by barepod's output alone.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, eventually, inspect, mountsUnder, pidOf, readInContainer, skipReason, useTestEnv } from '../helpers/harness.js';
import type { TarEntry } from '../helpers/image-fixtures.js';
import { hostileImage, podManifest, snapshot } from '../helpers/security.js';

/** Every file's content below a directory (what a container managed to copy out). */
function contents(dir: string): string {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => fs.readFileSync(path.join(e.parentPath ?? e.path, e.name), 'utf8'))
    .join('');
}

describe.skipIf(skipReason)('red team: subPath and rootfs defences', () => {
  const t = useTestEnv();
  let dir = '';
  /** a host directory outside every volume and state root: no container may read, write or touch it */
  let canary = '';
  let secret = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-redteam-'));
    canary = path.join(dir, 'canary');
    fs.mkdirSync(canary);
    secret = `secret-${Math.random().toString(36).slice(2)}`;
    fs.writeFileSync(path.join(canary, 'secret'), `${secret}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(canary, 'ptmx'), 'host file\n');
    for (const f of ['secret', 'ptmx']) fs.utimesSync(path.join(canary, f), 1_600_000_000, 1_600_000_000);
    fs.utimesSync(canary, 1_600_000_000, 1_600_000_000);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const image = (name: string, top: TarEntry[], config?: Record<string, unknown>) => hostileImage(t, dir, name, top, config);

  describe('rootfs', () => {
    it.each([
      ['dev is a regular file', [{ path: 'dev', data: 'x' }], '/dev'],
      ["etc is a regular file (the pod's /etc/hosts is mounted below it)", [{ path: 'etc', data: 'x' }], '/etc'],
    ] as [string, TarEntry[], string][])(
      '%s: refused with a clear error naming the path and the image (not a crash); the host is untouched',
      async (_what, top, at) => {
        const before = snapshot(canary);
        const ref = await image('notdir', top);
        const p = t.pod('notdir');
        await t.ok(['pod', 'create', p, '--network', 'none']);
        const r = await t.bp(['run', '--pod', p, '--name', 'c', '--image', ref, '--pull', 'never']);
        expect(snapshot(canary)).toEqual(before);
        expect(r.stderr).not.toContain('unexpected error');
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`container "c" in pod "${p}" refused: image ${ref}: ${at} is not a directory`);
        expect((await inspect(t, p)).containers.map((c) => c.name)).not.toContain('c');
        await t.ok(['pod', 'rm', '-f', p]);
      },
    );

    it.each([
      [
        'dev/pts is a symlink to a host directory',
        (c: string): TarEntry[] => [{ path: 'dev/' }, { path: 'dev/pts', type: 'symlink', linkpath: c }],
        '/dev/pts is a symbolic link',
      ],
      [
        'dev/mqueue climbs out',
        (c: string): TarEntry[] => [{ path: 'dev/' }, { path: 'dev/mqueue', type: 'symlink', linkpath: `../../../../../..${c}` }],
        '/dev/mqueue is a symbolic link',
      ],
      ['etc is a symlink loop', (): TarEntry[] => [{ path: 'etc', type: 'symlink', linkpath: 'etc' }], '/etc leads through too many levels of symbolic links'],
      [
        'etc/resolv.conf climbs out to a host file',
        (c: string): TarEntry[] => [{ path: 'etc/' }, { path: 'etc/resolv.conf', type: 'symlink', linkpath: `../../../../../../..${c}/ptmx` }],
        'that climbs above the root of the container',
      ],
      ['the working directory is a link to /proc/self/fd', (): TarEntry[] => [{ path: 'w', type: 'symlink', linkpath: '/proc/self/fd' }], 'inside /proc'],
    ])('held: %s: refused, the host directory untouched', async (_what, top, message) => {
      const before = snapshot(canary);
      const ref = await image('held', top(canary), { Cmd: ['sh', '-c', 'echo pwned > /etc/resolv.conf; sleep 3600'], WorkingDir: '/w/7' });
      const p = t.pod('held');
      await t.ok(['pod', 'create', p, '--network', 'none']);
      const r = await t.bp(['run', '--pod', p, '--name', 'c', '--image', ref, '--pull', 'never']);
      expect(snapshot(canary)).toEqual(before);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(message);
      await t.ok(['pod', 'rm', '-f', p]);
    });

    it.each([
      ['/dev', 'dev', ['ptmx', 'null', 'fd', 'stdin']],
      ['/sys', 'sys', []],
      ['/dev/shm', 'dev/shm', []],
    ])(
      "an image link redirects a volume's mountPath onto %s: refused; runc creates, deletes and mknods nothing in the hostPath directory",
      async (_onto, target, runcWrites) => {
        // the manifest author mounts a data directory at /data; the image makes /data a link to the runtime's own mount point,
        // so runc (which resolves the destination inside the rootfs) binds the host directory over the container's /dev and
        // then builds /dev (ptmx, fd, stdin…, device nodes) in it: on the host
        const host = path.join(dir, 'data');
        fs.mkdirSync(host);
        fs.writeFileSync(path.join(host, 'ptmx'), 'host file\n');
        fs.writeFileSync(path.join(host, 'keep'), 'host file\n');
        fs.utimesSync(host, 1_600_000_000, 1_600_000_000);
        const before = snapshot(host);
        const ref = await image('redirect', [{ path: 'data', type: 'symlink', linkpath: `/${target}` }]);
        const pod = t.pod('redirect');
        const file = podManifest(
          t,
          pod,
          `  restartPolicy: Never
  volumes: [{name: data, hostPath: {path: ${host}, type: Directory}}]
  containers:
    - name: app
      image: ${ref}
      imagePullPolicy: Never
      command: [sleep, "3600"]
      volumeMounts: [{name: data, mountPath: /data}]
`,
        );
        const r = await t.bp(['up', '-f', file]);
        const after = snapshot(host);
        if (r.code === 0) await t.ok(['pod', 'rm', '-f', pod]);
        for (const name of runcWrites) expect(Object.keys(after).includes(name) ? after[name] : undefined).toBe(before[name]);
        expect(after).toEqual(before);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`container "app" in pod "${pod}" refused: image ${ref}: /data is a symbolic link (to /${target})`);
        expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(false);
      },
    );

    it.each([
      ['an init container', 'initContainers', '[ln, -s, /dev, /a/config]'],
      ['an init container, with a relative link', 'initContainers', '[ln, -s, ../dev, /a/config]'],
    ])(
      '%s plants a link in an emptyDir that carries a hostPath mounted below it onto /dev: refused; runc writes nothing in the host directory',
      async (_who, kind, plant) => {
        const host = path.join(dir, 'config');
        fs.mkdirSync(host);
        fs.writeFileSync(path.join(host, 'ptmx'), 'host file\n');
        fs.writeFileSync(path.join(host, 'keep'), 'host file\n');
        fs.utimesSync(host, 1_600_000_000, 1_600_000_000);
        const before = snapshot(host);
        const pod = t.pod('nested');
        const file = podManifest(
          t,
          pod,
          `  restartPolicy: Never
  volumes: [{name: config, hostPath: {path: ${host}, type: Directory}}, {name: work, emptyDir: {}}]
  ${kind}:
    - name: plant
      image: busybox
      command: ${plant}
      volumeMounts: [{name: work, mountPath: /a}]
  containers:
    - name: app
      image: busybox
      command: [sleep, "3600"]
      volumeMounts: [{name: work, mountPath: /a}, {name: config, mountPath: /a/config}]
`,
        );
        const r = await t.bp(['up', '-f', file]);
        const after = snapshot(host);
        if (r.code === 0) await t.ok(['pod', 'rm', '-f', pod]);
        expect(after).toEqual(before);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`container "app" in pod "${pod}" refused: image busybox: /a/config is a symbolic link`);
        expect(r.stderr).toContain('inside the volume mounted at /a');
        expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(false);
      },
    );

    it('a running sibling that can swap the mount point in the outer volume for a link to /dev (racing runc): the manifest is refused, the host directory untouched', async () => {
      // measured before: 30 starts of the app against this swapper, 3 made runc build /dev in the host directory
      const host = path.join(dir, 'config');
      fs.mkdirSync(host);
      fs.writeFileSync(path.join(host, 'ptmx'), 'host file\n');
      fs.utimesSync(host, 1_600_000_000, 1_600_000_000);
      const before = snapshot(host);
      const pod = t.pod('race');
      const file = podManifest(
        t,
        pod,
        `  restartPolicy: Never
  volumes: [{name: config, hostPath: {path: ${host}, type: Directory}}, {name: work, emptyDir: {}}]
  containers:
    - name: swapper
      image: busybox
      command: [sh, -c, "mkdir -p /a/config; while :; do mv /a/config /a/c2; ln -s /dev /a/config; rm /a/config; mv /a/c2 /a/config; done"]
      volumeMounts: [{name: work, mountPath: /a}]
    - name: app
      image: busybox
      command: [sh, -c, "exit 0"]
      volumeMounts: [{name: work, mountPath: /a}, {name: config, mountPath: /a/config}]
`,
      );
      const r = await t.bp(['up', '-f', file]);
      if (r.code === 0) {
        for (let i = 0; i < 30; i++) {
          await eventually(async () => (await inspect(t, pod)).containers.find((c) => c.name === 'app')?.state !== 'running', 15_000, 'the app to end');
          await t.bp(['start', pod, 'app']);
        }
        await t.ok(['pod', 'rm', '-f', pod]);
      }
      expect(snapshot(host)).toEqual(before);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        `spec.containers[name=app].volumeMounts: "/a/config" lies below "/a" (volume "work"), which container "swapper" can write while this one starts`,
      );
      expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(false);
    });

    it('a container rewrites its own rootfs (mv /p /q; mkdir /p; ln -s /dev /p/x) so that its volume lands on /dev at the next `barepod start` (the upper layer is kept): refused, the host directory untouched', async () => {
      const host = path.join(dir, 'data');
      fs.mkdirSync(host);
      fs.writeFileSync(path.join(host, 'ptmx'), 'host file\n');
      fs.utimesSync(host, 1_600_000_000, 1_600_000_000);
      const before = snapshot(host);
      const pod = t.pod('self');
      const file = podManifest(
        t,
        pod,
        `  restartPolicy: Never
  volumes: [{name: data, hostPath: {path: ${host}, type: Directory}}]
  containers:
    - name: app
      image: busybox
      command: [sh, -c, "test -L /p/x || { mv /p /q && mkdir /p && ln -s /dev /p/x; }"]
      volumeMounts: [{name: data, mountPath: /p/x}]
`,
      );
      await t.ok(['up', '-f', file]);
      await eventually(async () => (await inspect(t, pod)).containers.find((c) => c.name === 'app')?.state !== 'running', 15_000, 'the app to end');
      const r = await t.bp(['start', pod, 'app']);
      expect(snapshot(host)).toEqual(before);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('/p/x is a symbolic link (to /dev) that leads into /dev');
      await t.ok(['pod', 'rm', '-f', pod]);
      expect(snapshot(host)).toEqual(before);
    });

    it("held: etc -> / (absolute) stays inside the rootfs: the pod's hosts file is bound in the rootfs, the host is untouched", async () => {
      const before = snapshot(canary);
      const hostsBefore = fs.readFileSync('/etc/hosts', 'utf8');
      const ref = await image('etcroot', [{ path: 'etc', type: 'symlink', linkpath: '/' }], { Cmd: ['sh', '-c', 'echo pwned >> /hosts; exec sleep 3600'] });
      const p = t.pod('etcroot');
      await t.ok(['pod', 'create', p, '--network', 'none']);
      await t.ok(['run', '--pod', p, '--name', 'c', '--image', ref, '--pull', 'never']);
      const pid = await pidOf(t, p, 'c');
      await eventually(() => readInContainer(pid, '/hosts')?.includes('pwned'));
      expect(fs.readFileSync('/etc/hosts', 'utf8')).toBe(hostsBefore);
      expect(fs.existsSync('/hosts')).toBe(false);
      expect(snapshot(canary)).toEqual(before);
      await t.ok(['pod', 'rm', '-f', p]);
    });
  });

  describe('subPath', () => {
    it.each([
      ['the final component is a symlink to a file outside', 'ln -s CANARY/secret /vol/f', 'f'],
      ['a symlink whose target stays and then leaves (sub/../../..)', 'mkdir /vol/sub && ln -s sub/../../../../../../../../..CANARY /vol/l', 'l'],
      ["an absolute symlink to a sibling directory sharing the volume's path as a prefix", 'ln -s VOLPATH-evil /vol/p', 'p'],
    ])('held: %s: refused, nothing read or written on the host', async (_what, plant, subPath) => {
      const pod = t.pod('sp');
      // a hostPath volume the init container can write, and next to it <volume>-evil (the prefix sibling) holding the secret
      const vol = path.join(dir, 'vol');
      fs.mkdirSync(vol);
      fs.mkdirSync(`${vol}-evil`);
      fs.writeFileSync(path.join(`${vol}-evil`, 'secret'), `${secret}\n`);
      const before = snapshot(canary);
      const evilBefore = snapshot(`${vol}-evil`);
      const out = path.join(t.root, 'out');
      fs.mkdirSync(out);
      const file = podManifest(
        t,
        pod,
        `  restartPolicy: Never
  volumes:
    - {name: vol, hostPath: {path: ${vol}, type: Directory}}
    - {name: out, hostPath: {path: ${out}, type: Directory}}
  initContainers:
    - name: plant
      image: busybox
      command: [sh, -c, "${plant.replace('CANARY', canary).replace('VOLPATH', vol)}"]
      volumeMounts: [{name: vol, mountPath: /vol}]
  containers:
    - name: app
      image: busybox
      command: [sh, -c, "cat /m /m/secret /m${canary}/secret > /out/read 2>/dev/null; echo pwned > /m/pwned; echo pwned > /m; exec sleep 3600"]
      volumeMounts: [{name: vol, mountPath: /m, subPath: ${subPath}}, {name: out, mountPath: /out}]
`,
      );
      const r = await t.bp(['up', '-f', file]);
      if (r.code === 0) await eventually(() => fs.existsSync(path.join(out, 'read')), 15_000).catch(() => undefined);
      expect(snapshot(canary)).toEqual(before);
      expect(snapshot(`${vol}-evil`)).toEqual(evilBefore);
      expect(contents(out)).not.toContain(secret);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`container "app": subPath "${subPath}" of volume "vol"`);
      expect(r.stderr).toContain('outside the volume; the container was not started');
      expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(false);
    });

    it('held: readOnly subPaths (a file and a directory, of a hostPath and an emptyDir) cannot be written; the host files are unchanged', async () => {
      const host = path.join(t.root, 'host');
      fs.mkdirSync(path.join(host, 'd'), { recursive: true });
      fs.writeFileSync(path.join(host, 'd', 'f'), 'orig\n');
      fs.writeFileSync(path.join(host, 'file'), 'orig\n');
      const before = [snapshot(host), snapshot(path.join(host, 'd'))];
      const pod = t.pod('ro');
      const file = podManifest(
        t,
        pod,
        `  restartPolicy: Never
  volumes: [{name: h, hostPath: {path: ${host}, type: Directory}}, {name: e, emptyDir: {}}]
  initContainers:
    - name: mk
      image: busybox
      command: [sh, -c, "mkdir /e/d && echo orig > /e/d/f"]
      volumeMounts: [{name: e, mountPath: /e}]
  containers:
    - name: app
      image: busybox
      command: [sh, -c, "echo pwned > /d/f; echo pwned > /d/new; echo pwned > /file; echo pwned > /ed/f; echo pwned > /ed/new; touch /file /d; chmod 777 /d /file; rm -f /d/f; mount -o remount,rw /d; echo pwned > /d/f; echo done > /tmp/done; exec sleep 3600"]
      volumeMounts:
        - {name: h, mountPath: /d, subPath: d, readOnly: true}
        - {name: h, mountPath: /file, subPath: file, readOnly: true}
        - {name: e, mountPath: /ed, subPath: d, readOnly: true}
`,
      );
      await t.ok(['up', '-f', file]);
      const pid = await pidOf(t, pod, 'app');
      await eventually(() => readInContainer(pid, '/tmp/done'));
      expect([snapshot(host), snapshot(path.join(host, 'd'))]).toEqual(before);
      const e = path.join(t.root, 'pods', pod, 'volumes', 'e', 'd');
      expect(fs.readdirSync(e)).toEqual(['f']);
      expect(fs.readFileSync(path.join(e, 'f'), 'utf8')).toBe('orig\n');
      await t.ok(['pod', 'rm', '-f', pod]);
    });

    it('held: a sibling swaps the subPath directory and a symlink to the host directory in a loop while the app is started again and again', async () => {
      const before = snapshot(canary);
      const host = path.join(t.root, 'host');
      const out = path.join(t.root, 'out');
      fs.mkdirSync(path.join(host, 'data'), { recursive: true });
      fs.mkdirSync(out);
      const pod = t.pod('race');
      const file = podManifest(
        t,
        pod,
        `  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  volumes: [{name: host, hostPath: {path: ${host}, type: Directory}}, {name: out, hostPath: {path: ${out}, type: Directory}}]
  containers:
    - name: swapper
      image: busybox
      command: [sh, -c, "while :; do mv /h/data /h/real; ln -s ${canary} /h/data; rm /h/data; mv /h/real /h/data; done"]
      volumeMounts: [{name: host, mountPath: /h}]
    - name: app
      image: busybox
      command: [sh, -c, "cat /data/secret >> /out/read 2>/dev/null; echo pwned > /data/pwned"]
      volumeMounts: [{name: host, mountPath: /data, subPath: data}, {name: out, mountPath: /out}]
`,
      );
      // the first start may meet the swapper mid-swap: retried like the rest
      const first = await t.bp(['up', '-f', file]);
      if (first.code !== 0) {
        // refused at up: the pod was rolled back; nothing to race
        expect(first.code).toBe(2);
        expect(snapshot(canary)).toEqual(before);
        return;
      }
      const codes: number[] = [];
      for (let i = 0; i < 25; i++) {
        await eventually(async () => (await inspect(t, pod)).containers.find((c) => c.name === 'app')?.state !== 'running', 15_000, 'the app to end');
        const r = await t.bp(['start', pod, 'app']);
        codes.push(r.code);
        if (r.code !== 0) expect(r.stderr).toMatch(/subPath "data" of volume "host"/);
      }
      expect(snapshot(canary)).toEqual(before);
      expect(contents(out)).not.toContain(secret);
      expect(codes.every((c) => c === 0 || c === 2)).toBe(true);
      await t.ok(['pod', 'rm', '-f', pod]);
      expect(snapshot(canary)).toEqual(before);
    });

    it('held: the CLI SIGKILLed right after it staged the subPaths leaves mounts that pod rm takes away (and the leak check sees none)', async () => {
      const host = path.join(t.root, 'host');
      fs.mkdirSync(path.join(host, 'd'), { recursive: true });
      fs.writeFileSync(path.join(host, 'file'), 'x\n');
      const pod = t.pod('kill');
      const file = podManifest(
        t,
        pod,
        `  restartPolicy: Never
  volumes: [{name: h, hostPath: {path: ${host}, type: Directory}}]
  containers:
    - name: app
      image: busybox
      command: [sh, -c, "cat /file"]
      volumeMounts: [{name: h, mountPath: /d, subPath: d, readOnly: true}, {name: h, mountPath: /file, subPath: file}]
`,
      );
      await t.ok(['up', '-f', file]);
      const staging = path.join(t.root, 'pods', pod, 'subpaths', 'app');
      await eventually(async () => (await inspect(t, pod)).containers[0]?.state !== 'running', 15_000, 'the app to end');
      await t.ok(['stop', pod, 'app']);
      expect(mountsUnder(staging)).toEqual([]);
      // `start` again, killed (SIGKILL: no rollback) as soon as the second staging mount is there
      const child = spawn(CLI, ['start', pod, 'app'], { env: t.env, stdio: 'ignore' });
      const closed = new Promise((resolve) => child.once('close', resolve));
      let killed = false;
      while (child.exitCode === null && child.signalCode === null) {
        if (fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(`${staging}/1 `)) {
          child.kill('SIGKILL');
          killed = true;
          break;
        }
      }
      await closed;
      if (killed) expect(mountsUnder(staging).length).toBeGreaterThan(0);
      // whatever point it was killed at, removing the pod takes every staging mount with it
      await t.ok(['pod', 'rm', '-f', pod]);
      expect(mountsUnder(t.root)).toEqual([]);
      expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(false);
      expect(fs.readdirSync(host).sort()).toEqual(['d', 'file']);
      expect(fs.readFileSync(path.join(host, 'file'), 'utf8')).toBe('x\n');
    });
  });
});
