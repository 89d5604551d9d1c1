import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerDefinition } from '../../src/cli/definitions.js';
import { BarepodError } from '../../src/errors.js';
import { NO_NETWORK, type ContainerDefinition, type PodDefinition } from '../../src/model.js';
import { exportPod } from '../../src/manifest/export.js';
import { DEFAULT_CAPABILITIES } from '../../src/oci/default-spec.js';
import { defaultSpec } from '../../src/oci/default-spec.js';
import { withDevices, withPrivileged } from '../../src/oci/options.js';
import { deviceDestinationProblem, deviceRequests, parseDeviceFlag } from '../../src/plan/devices.js';
import { planContainerSpec, type PlanContext } from '../../src/plan/pod-plan.js';
import { capabilityName, cliSecurity } from '../../src/plan/security.js';
import { containerDevices, devMajor, devMinor, hostDevice, hostDevices } from '../../src/runtime/devices.js';
import { thrown } from '../helpers/thrown.js';
import { recordOf } from '../helpers/records.js';

const TUN = { path: '/dev/net/tun', type: 'c' as const, major: 10, minor: 200, fileMode: 0o600, uid: 0, gid: 0 };

function pod(extra: Partial<PodDefinition> = {}): PodDefinition {
  return { name: 'web', hostname: 'web', share: ['net', 'ipc', 'uts'], limits: {}, network: NO_NETWORK, ...extra } as PodDefinition;
}
function app(extra: Partial<ContainerDefinition> = {}): ContainerDefinition {
  return {
    name: 'app',
    kind: 'app',
    image: 'busybox',
    rootfs: null,
    args: ['sh'],
    env: [],
    workdir: '/',
    user: { uid: 0, gid: 0 },
    limits: {},
    pidMode: 'pod',
    seccomp: 'default',
    ...extra,
  };
}

describe('--device HOST[:CONTAINER][:PERMISSIONS]', () => {
  it.each([
    ['/dev/net/tun', { hostPath: '/dev/net/tun', containerPath: '/dev/net/tun', access: 'rwm' }],
    ['/dev/net/tun:r', { hostPath: '/dev/net/tun', containerPath: '/dev/net/tun', access: 'r' }],
    ['/dev/loop0:/dev/xvda', { hostPath: '/dev/loop0', containerPath: '/dev/xvda', access: 'rwm' }],
    ['/dev/loop0:/dev/xvda:rw', { hostPath: '/dev/loop0', containerPath: '/dev/xvda', access: 'rw' }],
    ['/srv/mydev:/dev/mydev:mr', { hostPath: '/srv/mydev', containerPath: '/dev/mydev', access: 'mr' }],
  ])('%s', (text, want) => {
    expect(parseDeviceFlag(text)).toEqual(want);
  });

  it.each([
    ['dev/net/tun', 'must be an absolute, normalised path'],
    ['/dev/../etc/passwd:/dev/x', 'must be an absolute, normalised path'],
    ['/dev/net/tun:/tun', 'the container path "/tun" must be below /dev'],
    ['/srv/mydev', 'the container path "/srv/mydev" must be below /dev'],
    ['/dev/net/tun:/dev/../etc/x', 'must be a normalised path'],
    ['/dev/null:/dev/pts/0', 'is in /dev/pts, which the runtime mounts itself'],
    ['/dev/null:/dev/shm', 'is in /dev/shm'],
    ['/dev/net/tun:rwx', 'permissions "rwx" must combine r, w and m'],
    ['/dev/net/tun:rr', 'permissions "rr"'],
    ['/dev/net/tun::rw', 'must be HOST[:CONTAINER][:PERMISSIONS]'],
    ['/a:/dev/b:rw:x', 'must be HOST[:CONTAINER][:PERMISSIONS]'],
  ])('refuses %s', (text, message) => {
    const e = thrown(() => parseDeviceFlag(text));
    expect(e).toBeInstanceOf(BarepodError);
    expect(e.message).toContain(message);
  });

  it('a destination is a place below /dev outside the runtime mounts', () => {
    expect(deviceDestinationProblem('/dev/fuse')).toBeUndefined();
    expect(deviceDestinationProblem('/dev')).toMatch(/below \/dev/);
    expect(deviceDestinationProblem('/dev/mqueue/x')).toMatch(/mqueue/);
  });
});

describe('deviceRequests: --device and hostPath device volumes in one list', () => {
  const volumes: PodDefinition['volumes'] = [
    { kind: 'hostPath', name: 'tun', path: '/dev/net/tun', type: 'CharDevice' },
    { kind: 'hostPath', name: 'disk', path: '/dev/loop0', type: 'BlockDevice' },
    { kind: 'hostPath', name: 'plain', path: '/dev/net/tun', type: '' },
    { kind: 'emptyDir', name: 'work', medium: '' },
  ];
  it('a device volume mount is a device (readOnly: r, else rw); a hostPath without a device type stays a mount', () => {
    const c = app({
      devices: [{ hostPath: '/dev/fuse', containerPath: '/dev/fuse', access: 'rwm' }],
      mounts: [
        { name: 'tun', mountPath: '/dev/net/tun', readOnly: false },
        { name: 'disk', mountPath: '/dev/xvda', readOnly: true },
        { name: 'plain', mountPath: '/tun', readOnly: false },
      ],
    });
    expect(deviceRequests(pod({ volumes }), c)).toEqual([
      { hostPath: '/dev/fuse', containerPath: '/dev/fuse', access: 'rwm', from: '--device /dev/fuse' },
      { hostPath: '/dev/net/tun', containerPath: '/dev/net/tun', access: 'rw', from: 'volume "tun"', kind: 'c' },
      { hostPath: '/dev/loop0', containerPath: '/dev/xvda', access: 'r', from: 'volume "disk"', kind: 'b' },
    ]);
  });
  it('a device volume mounted outside /dev, or with a subPath, is refused (run -v /dev/net/tun:/tun makes such a volume)', () => {
    const out = app({ mounts: [{ name: 'tun', mountPath: '/tun', readOnly: false }] });
    expect(thrown(() => deviceRequests(pod({ volumes }), out)).message).toContain(
      'pod "web", container "app": device /dev/net/tun (volume "tun") at /tun: the container path must be below /dev',
    );
    const sub = app({ mounts: [{ name: 'tun', mountPath: '/dev/tun', readOnly: false, subPath: 'x' }] });
    expect(thrown(() => deviceRequests(pod({ volumes }), sub)).message).toContain('is a subPath of a device volume');
  });
  it('a container without either asks for nothing', () => {
    expect(deviceRequests(pod({ volumes }), app())).toEqual([]);
  });
  it('refuses a path asked twice, and a device inside another volume mount (runc would make the node in the volume)', () => {
    const twice = app({
      devices: [{ hostPath: '/dev/net/tun', containerPath: '/dev/net/tun', access: 'rwm' }],
      mounts: [{ name: 'tun', mountPath: '/dev/net/tun', readOnly: false }],
    });
    expect(thrown(() => deviceRequests(pod({ volumes }), twice)).message).toContain('/dev/net/tun is asked for twice');
    const inside = app({
      devices: [{ hostPath: '/dev/fuse', containerPath: '/dev/x/fuse', access: 'rwm' }],
      mounts: [{ name: 'work', mountPath: '/dev/x', readOnly: false }],
    });
    expect(thrown(() => deviceRequests(pod({ volumes }), inside)).message).toContain('/dev/x/fuse is inside volume "work" mounted at /dev/x');
  });
});

describe('spec options', () => {
  it('withDevices: the node in linux.devices, an allow rule for its numbers after the default deny', () => {
    const s = withDevices([{ device: TUN, access: 'rw' }])(defaultSpec());
    expect(s.linux.devices).toEqual([TUN]);
    expect(s.linux.resources?.devices).toEqual([
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 10, minor: 200, access: 'rw' },
    ]);
    expect(withDevices([])(defaultSpec())).toEqual(defaultSpec());
  });
  it('withPrivileged: every device allowed, nothing masked or read-only, /sys and /sys/fs/cgroup writable (containerd WithPrivileged + WithAllDevicesAllowed)', () => {
    const s = withPrivileged(defaultSpec());
    expect(s.linux.resources?.devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(s.linux.maskedPaths).toEqual([]);
    expect(s.linux.readonlyPaths).toEqual([]);
    for (const d of ['/sys', '/sys/fs/cgroup']) expect(s.mounts.find((m) => m.destination === d)?.options).not.toContain('ro');
  });
});

describe('planContainerSpec with devices and capabilities', () => {
  const SECCOMP = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [] };
  const seen: string[][] = [];
  const ctx: PlanContext = {
    cgroupVersion: 1,
    cgroupRoot: 'barepod',
    seccomp: SECCOMP,
    seccompFor: (caps) => (seen.push([...caps]), { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['setns'], action: 'SCMP_ACT_ALLOW' }] }),
  };
  const volumes: PodDefinition['volumes'] = [{ kind: 'hostPath', name: 'tun', path: '/dev/net/tun', type: 'CharDevice' }];
  it('a hostPath device volume is no bind mount; the device it gets is in the spec', () => {
    const c = app({ mounts: [{ name: 'tun', mountPath: '/dev/net/tun', readOnly: false }] });
    const s = planContainerSpec(pod({ volumes }), c, 42, ctx, '/r', undefined, { tun: '/dev/net/tun' }, undefined, [], [{ device: TUN, access: 'rw' }]);
    expect(s.mounts.some((m) => m.destination === '/dev/net/tun')).toBe(false);
    expect(s.linux.devices).toEqual([TUN]);
  });
  it('a container with no device gets none: no node, only the default deny rule', () => {
    const s = planContainerSpec(pod({ volumes }), app(), 42, ctx, '/r');
    expect(s.linux.devices).toBeUndefined();
    expect(s.linux.resources?.devices).toEqual([{ allow: false, access: 'rwm' }]);
  });
  it('the seccomp profile is converted for an added capability (setns with SYS_ADMIN, as Docker does), the default one serves the default set', () => {
    seen.length = 0;
    expect(planContainerSpec(pod(), app(), 42, ctx, '/r').linux.seccomp).toBe(SECCOMP);
    const sec = { capAdd: ['CAP_SYS_ADMIN'], capDrop: [], privileged: false, readOnlyRootfs: false, noNewPrivileges: true };
    const s = planContainerSpec(pod(), app({ security: sec }), 42, ctx, '/r');
    expect(seen).toEqual([[...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']]);
    expect(s.linux.seccomp?.syscalls).toHaveLength(1);
  });
  it('a capability outside the host bounding set is refused with the reason', () => {
    const sec = { capAdd: ['CAP_SYS_RESOURCE'], capDrop: [], privileged: false, readOnlyRootfs: false, noNewPrivileges: true };
    const e = thrown(() => planContainerSpec(pod(), app({ security: sec }), 42, { ...ctx, hostCapabilities: DEFAULT_CAPABILITIES }, '/r'));
    expect(e.message).toContain("capability CAP_SYS_RESOURCE cannot be added: barepod's own bounding set (CapBnd) lacks it");
  });
});

describe('capabilities: one reading for the CLI and manifests', () => {
  it.each([
    ['NET_ADMIN', 'CAP_NET_ADMIN'],
    ['cap_net_admin', 'CAP_NET_ADMIN'],
    ['CAP_SYS_ADMIN', 'CAP_SYS_ADMIN'],
    ['all', 'ALL'],
    ['NET_WIZARD', undefined],
  ])('%s', (text, want) => expect(capabilityName(text)).toBe(want));

  it('no flag: no security definition (the defaults, as before)', () => {
    expect(cliSecurity({})).toBeUndefined();
  });
  it('--cap-add/--cap-drop take comma lists; --privileged lifts no_new_privs and seccomp, as a manifest privileged: true', () => {
    expect(cliSecurity({ capAdd: ['NET_ADMIN,net_raw'], capDrop: ['MKNOD'] })).toEqual({
      capAdd: ['CAP_NET_ADMIN', 'CAP_NET_RAW'],
      capDrop: ['CAP_MKNOD'],
      privileged: false,
      readOnlyRootfs: false,
      noNewPrivileges: true,
    });
    // --read-only and the capability flags make one definition (neither replaces the other)
    expect(containerDefinition({ name: 'x', command: ['sh'], readOnly: true, capAdd: ['NET_ADMIN'] }).security).toEqual({
      capAdd: ['CAP_NET_ADMIN'],
      capDrop: [],
      privileged: false,
      readOnlyRootfs: true,
      noNewPrivileges: true,
    });
    const def = containerDefinition({ name: 'x', command: ['sh'], privileged: true, device: ['/dev/net/tun'] });
    expect(def.security).toMatchObject({ privileged: true, noNewPrivileges: false });
    expect(def.seccomp).toBe('unconfined');
    expect(def.devices).toEqual([{ hostPath: '/dev/net/tun', containerPath: '/dev/net/tun', access: 'rwm' }]);
    expect(thrown(() => containerDefinition({ name: 'x', command: ['sh'], capDrop: ['FLY'] })).message).toContain('--cap-drop "FLY": not a Linux capability');
  });
});

describe('host device nodes', () => {
  it('decodes major and minor as glibc does', () => {
    expect([devMajor(0x0a00 | 200), devMinor(0x0a00 | 200)]).toEqual([10, 200]);
    expect([devMajor(0x10305), devMinor(0x10305)]).toEqual([259, 5]);
    expect([devMajor(0x10012c), devMinor(0x10012c)]).toEqual([1, 300]); // a minor above 255
  });
  it('refuses a regular file, a symlink (even to a device), a path through a symlinked directory, a missing path', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-dev-'));
    try {
      fs.writeFileSync(path.join(dir, 'file'), 'x');
      fs.symlinkSync('/dev/null', path.join(dir, 'link'));
      fs.symlinkSync('/dev', path.join(dir, 'devdir'));
      expect(thrown(() => hostDevice(path.join(dir, 'file'), '/dev/x', 'w')).message).toContain('is not a device node (it is a regular file)');
      expect(thrown(() => hostDevice(path.join(dir, 'link'), '/dev/x', 'w')).message).toContain('is a symbolic link (to /dev/null), not a device node');
      expect(thrown(() => hostDevice(path.join(dir, 'devdir', 'null'), '/dev/x', 'w')).message).toContain('goes through a symbolic link (it is /dev/null)');
      expect(thrown(() => hostDevice(path.join(dir, 'absent'), '/dev/x', 'w')).message).toContain('does not exist');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  it('reads /dev/null (c 1:3) for the container path asked', () => {
    expect(hostDevice('/dev/null', '/dev/mynull', 'w')).toMatchObject({ path: '/dev/mynull', type: 'c', major: 1, minor: 3 });
  });
  it('a hostPath device volume is checked against its type again at each start', () => {
    const volumes: PodDefinition['volumes'] = [{ kind: 'hostPath', name: 'null', path: '/dev/null', type: 'BlockDevice' }];
    const c = app({ mounts: [{ name: 'null', mountPath: '/dev/null2', readOnly: false }] });
    expect(thrown(() => containerDevices(pod({ volumes }), c)).message).toContain(
      'pod "web", container "app": volume "null": hostPath /dev/null is now a character device, not a BlockDevice',
    );
    expect(containerDevices(pod({ volumes: [{ ...volumes[0]!, type: 'CharDevice' } as never] }), c)).toEqual([
      { device: expect.objectContaining({ path: '/dev/null2', type: 'c', major: 1, minor: 3 }), access: 'rw' },
    ]);
  });
  it('lists the host devices as containerd does: /dev/null in, links and /dev/pts out', () => {
    const all = hostDevices();
    expect(all.find((d) => d.path === '/dev/null')).toMatchObject({ type: 'c', major: 1, minor: 3 });
    expect(all.some((d) => d.path.startsWith('/dev/pts/') || d.path === '/dev/console' || d.path === '/dev/stdin')).toBe(false);
  });
});

describe('export of a CLI container with capabilities and devices', () => {
  it('writes the capabilities and privileged back as a securityContext, and names a --device it cannot write', () => {
    const def = containerDefinition({ name: 'vpn', command: ['sleep', '60'], capAdd: ['NET_ADMIN'], capDrop: ['MKNOD'], device: ['/dev/net/tun'] });
    const root = containerDefinition({ name: 'root', command: ['sleep', '60'], privileged: true });
    const rec = recordOf(pod(), [def, root]);
    const out = exportPod(rec) as { metadata: { annotations: Record<string, string> }; spec: { containers: { securityContext?: unknown }[] } };
    // the CLI keeps no_new_privs on: a manifest says so with allowPrivilegeEscalation: false
    expect(out.spec.containers[0]!.securityContext).toEqual({ capabilities: { add: ['NET_ADMIN'], drop: ['MKNOD'] }, allowPrivilegeEscalation: false });
    expect(out.spec.containers[1]!.securityContext).toEqual({ privileged: true });
    expect(out.metadata.annotations['barepod.io/not-exported']).toContain(
      'vpn has --device /dev/net/tun (in a manifest: a hostPath volume of type CharDevice or BlockDevice)',
    );
  });
});
