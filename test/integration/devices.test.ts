/**
 * Devices and privileges on real runc: `run --device`, `--cap-add`,
 * `--cap-drop`, `--privileged`, and a manifest's hostPath CharDevice volume.
 * The VPN-sidecar pattern of seed 000 without the VPN: a sidecar with
 * /dev/net/tun and NET_ADMIN makes a tun interface in the pod's network
 * namespace, and the app container sees it. Judged on the host: the
 * interface in the pause's netns, the nodes and capabilities in /proc.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect } from 'vitest';
import { eventually, inspect, pidOf, readInContainer, skipReason, test } from '../helpers/harness.js';
import { podManifest } from '../helpers/security.js';

const status = (pid: number, field: string) => new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.trim();
/** The interfaces of a process's network namespace, as the host sees them. */
const linksOf = async (pid: number) => (await execa('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-o', 'link', 'show'])).stdout;
/** The /sys line of a process's mountinfo: its mount options, then the superblock's. */
const sysMount = (pid: number) =>
  fs
    .readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[4] === '/sys') ?? '';
/** Type and major:minor of a node inside a container ("c 10:200"), or undefined when absent. */
function nodeIn(pid: number, file: string): string | undefined {
  const st = fs.statSync(`/proc/${pid}/root${file}`, { throwIfNoEntry: false });
  if (!st) return undefined;
  return `${st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : '?'} ${Math.floor(st.rdev / 256) & 0xfff}:${st.rdev & 0xff}`;
}
const TUN = '/dev/net/tun';

describe.skipIf(skipReason || !fs.existsSync(TUN))('devices and privileges', () => {
  test('VPN sidecar: --device /dev/net/tun --cap-add NET_ADMIN makes a tun interface in the pod netns, the app container sees it; without the device or the capability it fails', async ({
    t,
  }) => {
    const pod = t.pod('vpn');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    await t.ok([
      'run',
      '--pod',
      pod,
      '--name',
      'tun',
      '--device',
      TUN,
      '--cap-add',
      'NET_ADMIN',
      '--',
      'sh',
      '-c',
      'tunctl -t bpvpn0 && ip link set bpvpn0 up; exec sleep 3600',
    ]);
    await t.ok(['run', '--pod', pod, '--name', 'nodev', '--cap-add', 'net_admin', '--', 'sh', '-c', 'tunctl -t bpvpn1 2> /tmp/err; exec sleep 3600']);
    await t.ok(['run', '--pod', pod, '--name', 'nocap', '--device', TUN, '--', 'sh', '-c', 'tunctl -t bpvpn2 2> /tmp/err; exec sleep 3600']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    const pause = (await inspect(t, pod)).sandbox.pid;
    // the interface is the pod's: in the pause's network namespace, not the host's
    await eventually(async () => (await linksOf(pause)).includes('bpvpn0'), 15_000, 'bpvpn0 in the pod netns');
    expect(fs.existsSync('/sys/class/net/bpvpn0')).toBe(false);
    // the app container (no device, no capability) sees it: one network namespace
    expect((await t.ok(['exec', pod, 'app', '--', 'cat', '/sys/class/net/bpvpn0/operstate'])).trim()).toMatch(/^(up|down|unknown)$/);
    expect(await t.ok(['exec', pod, 'app', '--', 'ip', 'link', 'show', 'bpvpn0'])).toContain('bpvpn0');
    // the node is the host's tun (c 10:200), only where it was asked for
    const tun = await pidOf(t, pod, 'tun');
    expect(nodeIn(tun, TUN)).toBe(nodeIn(process.pid, TUN));
    expect(nodeIn(await pidOf(t, pod, 'app'), TUN)).toBeUndefined();
    expect(BigInt(`0x${status(tun, 'CapEff')}`) & (1n << 12n)).toBe(1n << 12n); // CAP_NET_ADMIN
    // without the device: no node; without the capability: the kernel says no
    const nodev = await pidOf(t, pod, 'nodev');
    const nocap = await pidOf(t, pod, 'nocap');
    expect(await eventually(() => readInContainer(nodev, '/tmp/err'))).toMatch(/No such file or directory/);
    expect(await eventually(() => readInContainer(nocap, '/tmp/err'))).toMatch(/Operation not permitted/);
    const links = await linksOf(pause);
    expect(links).not.toContain('bpvpn1');
    expect(links).not.toContain('bpvpn2');
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  test("--privileged: every host device (loop-control's numbers), every capability barepod holds, no seccomp, a writable /sys; its neighbours keep none of it", async ({
    t,
  }) => {
    const pod = t.pod('priv');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    await t.ok(['run', '--pod', pod, '--name', 'plain', '--', 'sleep', '3600']);
    await t.ok(['run', '--pod', pod, '--name', 'root', '--privileged', '--', 'sleep', '3600']);
    const root = await pidOf(t, pod, 'root');
    const plain = await pidOf(t, pod, 'plain');
    for (const dev of ['/dev/loop-control', '/dev/null', TUN].filter((d) => fs.existsSync(d))) expect(nodeIn(root, dev), dev).toBe(nodeIn(process.pid, dev));
    expect(nodeIn(plain, '/dev/loop-control')).toBeUndefined();
    expect(status(root, 'CapEff')).toBe(status(process.pid, 'CapBnd'));
    expect(status(root, 'Seccomp')).toBe('0');
    expect(status(plain, 'Seccomp')).toBe('2');
    // /sys read-write, mount and superblock; the plain container's mount stays read-only
    expect(sysMount(root)).toMatch(/ \/sys rw,.* - sysfs sysfs rw/);
    expect(sysMount(plain)).toMatch(/ \/sys ro,/);
    // the devices cgroup lets it open the node (opening loop-control does nothing by itself)
    expect(await t.ok(['exec', pod, 'root', '--', 'sh', '-c', 'exec 3< /dev/loop-control && echo opened'])).toBe('opened\n');
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  test('--cap-drop removes a capability (CapEff), --cap-drop ALL --cap-add one leaves that one; a capability barepod lacks or an unknown one is refused', async ({
    t,
  }) => {
    const pod = t.pod('caps');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    await t.ok(['run', '--pod', pod, '--name', 'noraw', '--cap-drop', 'NET_RAW', '--', 'sleep', '3600']);
    await t.ok(['run', '--pod', pod, '--name', 'one', '--cap-drop', 'ALL', '--cap-add', 'CAP_NET_BIND_SERVICE', '--', 'sleep', '3600']);
    // the default set is 00000000a80425fb; NET_RAW is bit 13
    expect(status(await pidOf(t, pod, 'noraw'), 'CapEff')).toBe('00000000a80405fb');
    expect(status(await pidOf(t, pod, 'one'), 'CapEff')).toBe('0000000000000400');
    const bad = await t.bp(['run', '--pod', pod, '--name', 'bad', '--cap-add', 'NET_WIZARD', '--', 'true']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--cap-add "NET_WIZARD": not a Linux capability');
    if (!(BigInt(`0x${status(process.pid, 'CapBnd')}`) & (1n << 24n))) {
      // this host's root lacks CAP_SYS_RESOURCE (DESIGN.md): barepod cannot hand it out, and says so
      const beyond = await t.bp(['run', '--pod', pod, '--name', 'res', '--cap-add', 'SYS_RESOURCE', '--', 'true']);
      expect(beyond.stderr).toContain("capability CAP_SYS_RESOURCE cannot be added: barepod's own bounding set (CapBnd) lacks it");
    }
    const v = JSON.parse(await t.ok(['inspect', pod, '--json'])) as { containers: { name: string }[] };
    expect(v.containers.map((c) => c.name).sort()).toEqual(['noraw', 'one']);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  test('--device refuses a regular file, a symlink, a path outside /dev in the container; nothing is left of the container', async ({ t }) => {
    const pod = t.pod('baddev');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    fs.mkdirSync(t.root, { recursive: true });
    const file = path.join(t.root, 'not-a-device');
    fs.writeFileSync(file, 'plain\n');
    const link = path.join(t.root, 'tun-link');
    fs.symlinkSync(TUN, link);
    const cases: [string[], string][] = [
      [['--device', `${file}:/dev/plain`], `${file} is not a device node (it is a regular file)`],
      [['--device', file], `the container path "${file}" must be below /dev`],
      [['--device', `${link}:/dev/net/tun`], `${link} is a symbolic link (to ${TUN}), not a device node`],
      [['--device', `${TUN}:/tun`], 'the container path "/tun" must be below /dev'],
      [['--device', `${TUN}:rwx`], 'permissions "rwx" must combine r, w and m'],
      [['--device', '/dev/absent-device'], '/dev/absent-device does not exist'],
    ];
    for (const [args, message] of cases) {
      const r = await t.bp(['run', '--pod', pod, '--name', 'dev', ...args, '--', 'sleep', '3600']);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toContain(message);
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('plain\n');
    expect((await inspect(t, pod)).containers).toEqual([]);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  test('manifest: a hostPath CharDevice volume is a device node in the sidecar that mounts it (NET_ADMIN makes the tun), not in the app; the pod works as with the CLI', async ({
    t,
  }) => {
    const pod = t.pod('mvpn');
    fs.mkdirSync(t.root, { recursive: true });
    const file = podManifest(
      t,
      pod,
      `  volumes: [{name: tun, hostPath: {path: ${TUN}, type: CharDevice}}]
  initContainers:
    - name: vpn
      image: busybox
      restartPolicy: Always
      command: [sh, -c, "tunctl -t bpmvpn0 && exec sleep 3600"]
      securityContext: {capabilities: {add: [NET_ADMIN]}}
      volumeMounts: [{name: tun, mountPath: ${TUN}}]
  containers:
    - name: app
      image: busybox
      command: [sleep, "3600"]
`,
    );
    await t.ok(['up', '-f', file]);
    const pause = (await inspect(t, pod)).sandbox.pid;
    await eventually(async () => (await linksOf(pause)).includes('bpmvpn0'), 15_000, 'bpmvpn0 in the pod netns');
    expect(await t.ok(['exec', pod, 'app', '--', 'ls', '/sys/class/net'])).toContain('bpmvpn0');
    expect(nodeIn(await pidOf(t, pod, 'vpn'), TUN)).toBe(nodeIn(process.pid, TUN));
    expect(nodeIn(await pidOf(t, pod, 'app'), TUN)).toBeUndefined();
    await t.ok(['down', pod]);
  });
});
