/**
 * Attack class: subPath through a symlink (Kubernetes CVE-2017-1002101,
 * CVE-2021-25741). A container that can write into a volume turns the
 * subPath another container mounts into a symlink out of the volume; runc
 * resolves a mount source on the host, so a plain `<volume>/<subPath>`
 * mounts whatever the link names (the host's `/`). Judged on the host: a
 * canary directory outside every volume must not be read, written or grown.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bindOpened, openSubPath } from '../../src/runtime/subpath.js';
import { eventually, inspect, pidOf, readInContainer, run, skipReason, type TestEnv, useTestEnv } from '../helpers/harness.js';
import { podManifest } from '../helpers/security.js';

/** A directory on the host, outside every volume and state root, holding a secret; `state()` is everything in it. */
interface Canary {
  dir: string;
  secret: string;
  state(): string[];
}
const canaries: string[] = [];
function canary(): Canary {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-canary-'));
  canaries.push(dir);
  const secret = `canary-${Math.random().toString(36).slice(2)}`;
  fs.writeFileSync(path.join(dir, 'secret'), `${secret}\n`, { mode: 0o600 });
  const state = () =>
    fs
      .readdirSync(dir)
      .sort()
      .map((n) => {
        const st = fs.lstatSync(path.join(dir, n));
        return `${n} ${st.mode.toString(8)} ${st.isFile() ? fs.readFileSync(path.join(dir, n), 'utf8').trim() : ''}`;
      });
  return { dir, secret, state };
}

interface Ev {
  type: string;
  container?: string;
  message?: string;
}
async function events(t: TestEnv, pod: string): Promise<Ev[]> {
  return (await t.ok(['events', pod, '--json']))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Ev);
}

describe.skipIf(skipReason)('security: subPath through a symlink', () => {
  const t = useTestEnv();
  afterEach(() => {
    for (const d of canaries.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it.each([
    ["an absolute symlink to the host's /", '/'],
    ['a relative symlink climbing out of the volume', '../../../../../../../../../../../../../../..'],
  ])('emptyDir: an init container makes the subPath %s; the app is refused and reads and writes nothing on the host', async (_what, target) => {
    const c = canary();
    const before = c.state();
    const out = path.join(t.root, 'out'); // what the app manages to read, kept where the test can see it
    fs.mkdirSync(out);
    const pod = t.pod('escape');
    const file = podManifest(
      t,
      pod,
      `  restartPolicy: Never
  volumes:
    - {name: vol, emptyDir: {}}
    - {name: out, hostPath: {path: ${out}, type: Directory}}
  initContainers:
    - name: plant
      image: busybox
      command: [ln, -s, "${target}", /vol/escape]
      volumeMounts: [{name: vol, mountPath: /vol}]
  containers:
    - name: app
      image: busybox
      command: [sh, -c, "cat /mnt${c.dir}/secret > /out/read; echo pwned > /mnt${c.dir}/pwned; exec sleep 3600"]
      volumeMounts: [{name: vol, mountPath: /mnt, subPath: escape}, {name: out, mountPath: /out}]
`,
    );
    const r = await t.bp(['up', '-f', file]);
    // an app that did start (the hole): let it do its work before judging
    if (r.code === 0)
      await eventually(() => fs.readdirSync(out).length > 0 && c.state().length > before.length, 15_000, 'the app to finish').catch(() => undefined);
    // on the host: the canary is as it was, nothing was created next to it, nothing of it was read out
    expect(c.state()).toEqual(before);
    expect(fs.readdirSync(out)).toEqual([]);
    // and barepod said why, naming the volume, the subPath and the container; the pod is not left half-made
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`container "app": subPath "escape" of volume "vol"`);
    expect(r.stderr).toContain(`escape is a symlink to ${target}, outside the volume; the container was not started`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(false);
  });

  it.each([
    ['the app is killed and restarted by the restart policy', 'app'],
    ['the sandbox is killed and recreated', 'sandbox'],
  ])(
    'hostPath: a sibling swaps the subPath directory for a symlink to a host directory, then %s: the new start is refused, the host directory gets nothing',
    async (_what, kill) => {
      const c = canary();
      const before = c.state();
      const host = path.join(t.root, 'host');
      fs.mkdirSync(path.join(host, 'data'), { recursive: true });
      const pod = t.pod('swap');
      const file = podManifest(
        t,
        pod,
        `  restartPolicy: Always
  terminationGracePeriodSeconds: 1
  volumes: [{name: host, hostPath: {path: ${host}, type: Directory}}]
  containers:
    - name: swapper
      image: busybox
      command: [sleep, "3600"]
      volumeMounts: [{name: host, mountPath: /h}]
    - name: app
      image: busybox
      command: [sh, -c, "cat /data/secret; echo pwned > /data/pwned; exec sleep 3600"]
      volumeMounts: [{name: host, mountPath: /data, subPath: data}]
`,
      );
      await t.ok(['up', '-f', file]);
      // the first start is fine: the subPath is a real directory of the volume
      await eventually(() => fs.existsSync(path.join(host, 'data', 'pwned')), 15_000, 'the app to write into its subPath');
      const app = await pidOf(t, pod, 'app');
      await t.ok(['exec', pod, 'swapper', '--', 'sh', '-c', `rm -rf /h/data && ln -s ${c.dir} /h/data`]);
      expect(fs.readlinkSync(path.join(host, 'data'))).toBe(c.dir);
      process.kill(kill === 'app' ? app : (await inspect(t, pod)).sandbox.pid, 'SIGKILL');
      // the restart comes after the policy's delay (10 s for a manifest), or at once with a new sandbox
      const failed = await eventually(
        async () => {
          if (fs.existsSync(path.join(c.dir, 'pwned'))) return { message: 'the restarted app wrote into the host directory' };
          return (await events(t, pod)).find((e) => e.type === 'restart-failed' && e.container === 'app');
        },
        60_000,
        'the restart of app',
      );
      expect(c.state()).toEqual(before);
      expect(await t.ok(['logs', pod, 'app'])).not.toContain(c.secret);
      expect(failed.message).toContain(`container "app": subPath "data" of volume "host" (${host}): data is a symlink to ${c.dir}, outside the volume`);
      await t.ok(['pod', 'rm', '-f', pod]);
      expect(c.state()).toEqual(before);
    },
  );

  it('a symlink that stays inside the volume still works: relative, through "..", and absolute to the volume\'s own host path', async () => {
    const pod = t.pod('inside');
    const vol = path.join(t.root, 'pods', pod, 'volumes', 'vol');
    const file = podManifest(
      t,
      pod,
      `  restartPolicy: Never
  volumes: [{name: vol, emptyDir: {}}]
  initContainers:
    - name: plant
      image: busybox
      command: [sh, -c, "mkdir -p /vol/real/sub && echo served > /vol/real/sub/index.html && ln -s real/sub /vol/link && ln -s ../real/sub/index.html /vol/real/up && ln -s ${vol}/real /vol/abs"]
      volumeMounts: [{name: vol, mountPath: /vol}]
  containers:
    - name: app
      image: busybox
      command: [sh, -c, "cat /www/index.html /page /a/sub/index.html; echo from-app > /www/written; exec sleep 3600"]
      volumeMounts:
        - {name: vol, mountPath: /www, subPath: link}
        - {name: vol, mountPath: /page, subPath: real/up, readOnly: true}
        - {name: vol, mountPath: /a, subPath: abs}
`,
    );
    await t.ok(['up', '-f', file]);
    expect(await eventually(async () => (await t.ok(['logs', pod, 'app'])) || undefined)).toBe('served\nserved\nserved\n');
    const app = await pidOf(t, pod, 'app');
    // the container's files are the volume's own (same inode), and its write lands in the volume
    const index = path.join(vol, 'real', 'sub', 'index.html');
    expect(fs.statSync(`/proc/${app}/root/www/index.html`).ino).toBe(fs.statSync(index).ino);
    expect(fs.statSync(`/proc/${app}/root/page`).ino).toBe(fs.statSync(index).ino);
    expect(readInContainer(app, '/a/sub/index.html')).toBe('served\n');
    expect(
      await eventually(() => fs.existsSync(path.join(vol, 'real', 'sub', 'written')) && fs.readFileSync(path.join(vol, 'real', 'sub', 'written'), 'utf8')),
    ).toBe('from-app\n');
    // a restart stages the subPaths again; stop and rm take the staging mounts away
    await t.ok(['stop', '-t', '1', pod, 'app']);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(path.join(t.root, 'pods', pod, 'subpaths'));
    await t.ok(['start', pod, 'app']);
    const again = await pidOf(t, pod, 'app');
    expect(fs.statSync(`/proc/${again}/root/www/index.html`).ino).toBe(fs.statSync(index).ino);
    await t.ok(['down', pod]);
  });

  it('the bind mount is the object resolved, even when the path is swapped for a symlink between resolution and mount', async () => {
    const c = canary();
    const before = c.state();
    const vol = path.join(t.root, 'vol');
    fs.mkdirSync(path.join(vol, 'data'), { recursive: true });
    fs.writeFileSync(path.join(vol, 'data', 'mine'), 'inside\n');
    const stage = path.join(t.root, 'stage', '0');
    const opened = openSubPath(vol, 'data');
    try {
      // the race the kubelet's fix closes: the checked path now leads out of the volume
      fs.renameSync(path.join(vol, 'data'), path.join(vol, 'moved'));
      fs.symlinkSync(c.dir, path.join(vol, 'data'));
      await bindOpened(opened.fd, opened.isDirectory, stage);
    } finally {
      fs.closeSync(opened.fd);
    }
    try {
      expect(fs.readdirSync(stage)).toEqual(['mine']);
      expect(fs.statSync(stage).ino).toBe(fs.statSync(path.join(vol, 'moved')).ino);
      fs.writeFileSync(path.join(stage, 'new'), 'x');
      expect(fs.existsSync(path.join(vol, 'moved', 'new'))).toBe(true);
    } finally {
      await run('umount', [stage]);
    }
    expect(c.state()).toEqual(before);
  });
});
