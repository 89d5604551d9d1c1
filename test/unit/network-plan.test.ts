import { describe, expect, it } from 'vitest';
import type { ContainerDefinition, PodDefinition } from '../../src/model.js';
import { cgroupRootFor } from '../../src/plan/paths.js';
import {
  chainNames,
  cniContainerId,
  conflictingRoutes,
  defaultConflist,
  isUnicastMac,
  networkNamed,
  parseCidr4,
  parseConflist,
  parseProcArp,
  parseProcRoutes,
  pluginConfig,
  staleNeighbours,
  subnetsOf,
  summarizeResult,
} from '../../src/plan/network.js';
import { hostsFile, resolvConf } from '../../src/plan/pod-files.js';
import { planContainerSpec, planSandboxSpec } from '../../src/plan/pod-plan.js';
import { thrown } from '../helpers/thrown.js';

describe('conflists', () => {
  it('the default one: bridge + host-local, portmap, firewall', () => {
    const list = defaultConflist('barepod', '10.88.0.0/16');
    expect(list.plugins.map((p) => p.type)).toEqual(['bridge', 'portmap', 'firewall']);
    expect(subnetsOf(list)).toEqual(['10.88.0.0/16']);
    expect(parseConflist(JSON.stringify(list), 'f')).toEqual(list);
  });

  it.each([
    ['{', 'f: not valid JSON'],
    ['[]', 'f: must be a JSON object'],
    ['{"name":"x","cniVersion":"1.0.0","plugins":[]}', 'f: "plugins" must be a non-empty list'],
    ['{"name":"x","plugins":[{"type":"bridge"}]}', 'f: "cniVersion" is missing'],
    ['{"name":"x","cniVersion":"1.0.0","plugins":[{"type":"../evil"}]}', 'f: plugins[0].type must be a plugin name'],
  ])('refuses a broken conflist %s naming the file', (text, message) => {
    const e = thrown(() => parseConflist(text, 'f'));
    expect(e.code).toBe('invalid-value');
    expect(e.message.startsWith(message)).toBe(true);
  });

  it('a plugin config carries name, version, the runtime values of its declared capabilities only, and prevResult', () => {
    const list = defaultConflist('barepod', '10.88.0.0/16');
    const rc = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], ips: ['10.88.0.9'] };
    const prev = { ips: [{ address: '10.88.0.9/16' }] };
    const portmap = pluginConfig(list, list.plugins[1]!, rc, prev);
    expect(portmap).toEqual({
      type: 'portmap',
      capabilities: { portMappings: true },
      cniVersion: '1.0.0',
      name: 'barepod',
      runtimeConfig: { portMappings: rc.portMappings },
      prevResult: prev,
    });
    expect(pluginConfig(list, list.plugins[0]!, rc).runtimeConfig).toEqual({ ips: ['10.88.0.9'] });
    expect(pluginConfig(list, list.plugins[2]!, rc)).not.toHaveProperty('runtimeConfig');
    expect(pluginConfig(list, list.plugins[1]!, { portMappings: [] })).not.toHaveProperty('runtimeConfig');
  });

  it("the pod's MAC: runtimeConfig.mac for a bridge declaring the capability, args.cni.mac for one that does not, nothing for other plugins", () => {
    const list = defaultConflist('barepod', '10.88.0.0/16');
    const mac = '0a:58:0a:58:00:09';
    expect(list.plugins[0]!.capabilities).toEqual({ ips: true, mac: true });
    const bridge = pluginConfig(list, list.plugins[0]!, { ips: ['10.88.0.9'], mac });
    expect(bridge.runtimeConfig).toEqual({ ips: ['10.88.0.9'], mac });
    expect(bridge).not.toHaveProperty('args');
    const older = { ...list.plugins[0]!, capabilities: { ips: true }, args: { cni: { other: 1 }, mine: true } };
    const cfg = pluginConfig(list, older, { mac });
    expect(cfg.args).toEqual({ cni: { other: 1, mac }, mine: true });
    expect(cfg).not.toHaveProperty('runtimeConfig');
    expect(older.args).toEqual({ cni: { other: 1 }, mine: true }); // the conflist itself is not changed
    expect(pluginConfig(list, older, {})).not.toHaveProperty('args.cni.mac');
    for (const p of list.plugins.slice(1)) {
      const c = pluginConfig(list, p, { mac });
      expect(c).not.toHaveProperty('args');
      expect(c).not.toHaveProperty('runtimeConfig.mac');
    }
  });
});

describe('names the plugins derive', () => {
  it('chain names as plugins/pkg/utils FormatChainName (measured on 1.1.1)', () => {
    expect(chainNames('bptest', 'bptest1')).toEqual({ masq: 'CNI-0d9addddbff8c49987bd6dbe', dnat: 'CNI-DN-0d9addddbff8c49987bd6' });
  });
  it('container ids differ per state root and carry the pod name', () => {
    const a = cniContainerId('/run/barepod', 'web');
    expect(a).toMatch(/^barepod-[0-9a-f]{8}-web$/);
    expect(cniContainerId('/tmp/other', 'web')).not.toBe(a);
  });
  it("cgroup roots: the default state root keeps barepod, any other root gets barepod-<its 8 hex> (the container ids' hash)", () => {
    expect(cgroupRootFor('/run/barepod')).toBe('barepod');
    expect(cgroupRootFor('/tmp/a')).toMatch(/^barepod-[0-9a-f]{8}$/);
    expect(cgroupRootFor('/tmp/a')).not.toBe(cgroupRootFor('/tmp/b'));
    expect(`${cgroupRootFor('/tmp/a')}-web`).toBe(cniContainerId('/tmp/a', 'web'));
  });
  it('reads address, gateway and host veth from a result', () => {
    const r = {
      interfaces: [{ name: 'barepod0' }, { name: 'veth1234' }, { name: 'eth0', sandbox: '/x/netns' }],
      ips: [{ interface: 2, address: '10.88.0.2/16', gateway: '10.88.0.1' }],
    };
    expect(summarizeResult(r, 'eth0')).toEqual({ ip: '10.88.0.2', cidr: '10.88.0.2/16', gateway: '10.88.0.1', hostVeth: 'veth1234' });
  });
  it("reads the MAC of the pod's interface, not the bridge's or the veth's", () => {
    const r = {
      interfaces: [
        { name: 'barepod0', mac: '02:00:00:00:00:01' },
        { name: 'veth1234', mac: '02:00:00:00:00:02' },
        { name: 'eth0', mac: '0A:58:0A:58:00:02', sandbox: '/x/netns' },
      ],
      ips: [{ interface: 2, address: '10.88.0.2/16' }],
    };
    expect(summarizeResult(r, 'eth0').mac).toBe('0a:58:0a:58:00:02');
    expect(summarizeResult({ ...r, interfaces: r.interfaces.slice(0, 2) }, 'eth0')).not.toHaveProperty('mac');
  });
  it.each([
    ['0a:58:0a:58:00:02', true],
    ['01:00:5e:00:00:01', false], // multicast
    ['00:00:00:00:00:00', false],
    ['0a:58:0a:58:00', false],
    ['0a:58:0a:58:00:02; rm', false],
  ])('isUnicastMac(%s) is %s', (mac, ok) => expect(isUnicastMac(mac)).toBe(ok));
  it("stale neighbour entries: the pod's address with another MAC, never an incomplete or a permanent one", () => {
    const table = parseProcArp(
      [
        'IP address       HW type     Flags       HW address            Mask     Device',
        '10.88.0.2        0x1         0x2         02:00:00:00:00:99     *        barepod0',
        '10.88.0.2        0x1         0x2         0a:58:0a:58:00:02     *        other0',
        '10.88.0.2        0x1         0x0         00:00:00:00:00:00     *        third0',
        '10.88.0.2        0x1         0x6         02:00:00:00:00:77     *        perm0',
        '10.88.0.3        0x1         0x2         02:00:00:00:00:98     *        barepod0',
      ].join('\n'),
    );
    expect(table[3]).toEqual({ ip: '10.88.0.2', mac: '02:00:00:00:00:77', dev: 'perm0', permanent: true });
    expect(staleNeighbours(table, '10.88.0.2', '0A:58:0A:58:00:02').map((n) => n.dev)).toEqual(['barepod0']);
    expect(staleNeighbours(table, '10.88.0.2', undefined).map((n) => n.dev)).toEqual(['barepod0', 'other0']);
    expect(staleNeighbours(table, '10.88.0.9', undefined)).toEqual([]);
  });
});

describe('subnets against host routes', () => {
  const routes = parseProcRoutes(
    [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
      'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
      'barepod0\t0000580A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
    ].join('\n'),
  );
  it('parses /proc/net/route', () => {
    expect(routes.map((r) => [r.dev, r.dst.bits])).toEqual([
      ['eth0', 0],
      ['eth0', 24],
      ['barepod0', 16],
    ]);
    expect(routes[1]!.dst).toEqual(parseCidr4('192.0.2.0/24'));
  });
  it('a clash is a non-default route on a device the network does not own', () => {
    expect(conflictingRoutes('10.88.0.0/16', routes, ['barepod0'])).toEqual([]);
    expect(conflictingRoutes('192.0.2.128/25', routes, ['barepod0']).map((r) => r.dev)).toEqual(['eth0']);
    expect(conflictingRoutes('192.0.0.0/8', routes, ['barepod0']).map((r) => r.dev)).toEqual(['eth0']);
    expect(conflictingRoutes('10.88.1.0/24', routes, ['other0']).map((r) => r.dev)).toEqual(['barepod0']);
  });
});

describe('per-pod /etc files', () => {
  it('hosts: localhost, the hostname on the pod IP, the aliases', () => {
    const text = hostsFile('web', 'www', '10.88.0.2', [{ ip: '10.0.0.9', hostnames: ['db', 'db.local'] }]);
    expect(text).toContain('127.0.0.1\tlocalhost\n');
    expect(text).toContain('10.88.0.2\twww\n');
    expect(text.endsWith('10.0.0.9\tdb\tdb.local\n')).toBe(true);
    expect(hostsFile('db', 'db', undefined, [])).not.toContain('\tdb\n');
  });
  it('resolv.conf: loopback resolvers replaced by the upstreams, or dropped', () => {
    const host = 'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n';
    const upstream = 'nameserver 192.0.2.53\nnameserver 127.0.0.1\n';
    expect(resolvConf(host, upstream, false)).toEqual({ text: 'nameserver 192.0.2.53\noptions edns0 trust-ad\nsearch lan\n', dropped: [] });
    expect(resolvConf(host, undefined, false)).toEqual({ text: 'options edns0 trust-ad\nsearch lan\n', dropped: ['127.0.0.53'] });
    expect(resolvConf(host, upstream, true).text).toBe(host);
    expect(resolvConf('nameserver 10.1.1.1\n', upstream, false).text).toBe('nameserver 10.1.1.1\n');
  });
});

describe('planning with a network', () => {
  const pod = (network = 'barepod'): PodDefinition =>
    (network === 'host'
      ? { name: 'web', hostname: 'web', share: ['ipc', 'uts'], host: ['net'], limits: {}, network: networkNamed(network) }
      : { name: 'web', hostname: 'web', share: ['net', 'ipc', 'uts'], limits: {}, network: networkNamed(network) }) as PodDefinition;
  const ctr = {
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
    seccomp: 'unconfined',
  } as ContainerDefinition;
  const ctx = { cgroupVersion: 1 as const, cgroupRoot: 'barepod' };
  it('a host-network sandbox creates no network namespace', () => {
    const types = (n: string) => planSandboxSpec(pod(n), ctx, '/p').linux.namespaces.map((x) => x.type);
    expect(types('host')).not.toContain('network');
    expect(types('barepod')).toContain('network');
    expect(types('none')).toContain('network');
  });
  it('binds the pod /etc files over the rootfs ones (hostname only with the pod UTS)', () => {
    const mounts = (p: PodDefinition) =>
      planContainerSpec(p, ctr, 7, ctx, '/r', undefined, {}, '/s/etc').mounts.filter((m) => m.destination.startsWith('/etc/'));
    expect(mounts(pod())).toEqual(
      ['hosts', 'resolv.conf', 'hostname'].map((f) => ({
        destination: `/etc/${f}`,
        type: 'bind',
        source: `/s/etc/${f}`,
        options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec'],
      })),
    );
    expect(mounts({ ...pod(), share: ['net', 'ipc'] }).map((m) => m.destination)).toEqual(['/etc/hosts', '/etc/resolv.conf']);
    expect(planContainerSpec(pod(), ctr, 7, ctx, '/r').mounts.some((m) => m.destination === '/etc/hosts')).toBe(false);
  });
});
