/**
 * Devices as a hostile manifest author would try them (docs/security.md,
 * "Devices"): a hostPath "CharDevice" that is a regular file or a symlink,
 * a device reaching a container that did not mount it, a hostPath without a
 * device type at a device. Judged on the host: a canary file's content and
 * mode, the devices cgroup of each container (v1), the nodes in /proc/<pid>/root.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cgroupVersion, pidOf, skipReason, useTestEnv } from '../helpers/harness.js';
import { podManifest } from '../helpers/security.js';

const LOOP = '/dev/loop-control';
const devicesList = (cgroupRoot: string, pod: string, ctr: string) =>
  fs.readFileSync(path.join('/sys/fs/cgroup/devices', cgroupRoot, pod, ctr, 'devices.list'), 'utf8');

describe.skipIf(skipReason || !fs.existsSync(LOOP))('devices: a hostile manifest author', () => {
  const t = useTestEnv();
  let dir = '';
  let canary = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-devices-'));
    canary = path.join(dir, 'canary');
    fs.writeFileSync(canary, 'host file\n', { mode: 0o600 });
    fs.mkdirSync(t.root, { recursive: true });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const podWith = (name: string, hostPath: string, type: string, mountPath = '/dev/thing') =>
    podManifest(
      t,
      name,
      `  volumes: [{name: thing, hostPath: {path: ${hostPath}, type: ${type}}}]
  containers:
    - name: app
      image: busybox
      command: [sh, -c, "(exec 3< ${mountPath}) 2> /tmp/err && echo opened > /tmp/out; exec sleep 3600"]
      volumeMounts: [{name: thing, mountPath: ${mountPath}}]
`,
    );

  it.each([
    ['a regular file', () => canary, 'is not a device node (it is a regular file)'],
    [
      'a symlink to a device',
      () => (fs.symlinkSync(LOOP, path.join(dir, 'link')), path.join(dir, 'link')),
      `is a symbolic link (to ${LOOP}), not a device node`,
    ],
    [
      'a symlink to a regular file',
      () => (fs.symlinkSync(canary, path.join(dir, 'flink')), path.join(dir, 'flink')),
      `is a symbolic link (to ${os.tmpdir()}/barepod-devices-`,
    ],
  ])('a hostPath "CharDevice" that is %s: refused before anything is made; the host file is untouched', async (_what, target, message) => {
    const p = t.pod('notdev');
    const hostPath = target();
    const r = await t.bp(['up', '-f', podWith(p, hostPath, 'CharDevice')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`volume "thing": hostPath ${hostPath} ${message}`);
    expect(fs.readFileSync(canary, 'utf8')).toBe('host file\n');
    expect(fs.statSync(canary).mode & 0o7777).toBe(0o600);
    expect((await t.bp(['inspect', p])).code).not.toBe(0); // no pod left (the leak check looks at the rest)
  });

  it('a device reaches only the container that mounts it: node and devices cgroup rule there, neither in its neighbour', async () => {
    const p = t.pod('onlyone');
    const file = podManifest(
      t,
      p,
      `  volumes: [{name: lc, hostPath: {path: ${LOOP}, type: CharDevice}}]
  containers:
    - name: dev
      image: busybox
      command: [sh, -c, "(exec 3< ${LOOP}) && echo opened > /tmp/out; exec sleep 3600"]
      volumeMounts: [{name: lc, mountPath: ${LOOP}, readOnly: true}]
    - name: other
      image: busybox
      command: [sh, -c, "mknod /tmp/lc c 10 237 && (exec 3< /tmp/lc) 2> /tmp/err && echo opened > /tmp/out; exec sleep 3600"]
`,
    );
    await t.ok(['up', '-f', file]);
    const dev = await pidOf(t, p, 'dev');
    const other = await pidOf(t, p, 'other');
    const rdev = fs.statSync(LOOP).rdev;
    expect(fs.statSync(`/proc/${dev}/root${LOOP}`).rdev).toBe(rdev);
    expect(fs.existsSync(`/proc/${other}/root${LOOP}`)).toBe(false);
    // the neighbour made the node itself (CAP_MKNOD is in the default set) but may not open it
    expect((await t.bp(['exec', p, 'other', '--', 'cat', '/tmp/out'])).code).not.toBe(0);
    expect((await t.ok(['exec', p, 'dev', '--', 'cat', '/tmp/out'])).trim()).toBe('opened');
    if (cgroupVersion === 1) {
      // readOnly: read access only
      expect(devicesList(t.cgroupRoot, p, 'dev')).toContain('c 10:237 r\n');
      expect(devicesList(t.cgroupRoot, p, 'other')).not.toContain('10:237');
    }
    await t.ok(['down', p]);
  });

  it('a hostPath without a device type at a device stays a nodev bind mount, as before: the container cannot open it', async () => {
    const p = t.pod('untyped');
    await t.ok(['up', '-f', podWith(p, LOOP, '""', '/mnt/lc')]);
    const app = await pidOf(t, p, 'app');
    expect(fs.statSync(`/proc/${app}/root/mnt/lc`).rdev).toBe(fs.statSync(LOOP).rdev);
    expect((await t.bp(['exec', p, 'app', '--', 'cat', '/tmp/out'])).code).not.toBe(0);
    if (cgroupVersion === 1) expect(devicesList(t.cgroupRoot, p, 'app')).not.toContain('10:237');
    await t.ok(['down', p]);
  });
});
