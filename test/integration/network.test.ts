/**
 * Pod networking on the real CNI plugins (bridge, host-local, portmap,
 * firewall): traffic only to addresses of pods the test made and to
 * 127.0.0.1. The leak check after each test proves no reservation, veth,
 * iptables rule or chain, or netns pin of its pods is left.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  cgroupDirs,
  cgroupTops,
  eventually,
  ipamReservations,
  mountsUnder,
  nsInode,
  pidOf,
  removeCgroupTree,
  skipReason,
  type TestEnv,
  useTestEnv,
} from '../helpers/harness.js';

interface NetView {
  name: string;
  mode: string;
  ip: string | null;
  cidr: string | null;
  gateway: string | null;
  interfaces: { name: string; where: string }[];
  ports: { hostPort: number; containerPort: number; protocol: string }[];
  netnsInode: number | null;
}
interface View {
  state: string;
  sandbox: { pid: number; alive: boolean };
  network: NetView;
}

const view = async (t: TestEnv, pod: string) => JSON.parse(await t.ok(['inspect', pod, '--json'])) as View;
/** A host port nobody is likely to use, different per test. */
const freePort = () => 20000 + Math.floor(Math.random() * 20000);
const SERVE = (port: number, text: string) => ['sh', '-c', `mkdir -p /srv && echo ${text} > /srv/index.html && exec httpd -f -p ${port} -h /srv`];

async function httpGet(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  return res.text();
}

/** The IPv4 address of eth0 as `ip` inside a container shows it. */
async function ipInside(t: TestEnv, pod: string, ctr: string): Promise<string | undefined> {
  const out = await t.ok(['exec', pod, ctr, '--', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
  return /inet (\d+\.\d+\.\d+\.\d+)\//.exec(out)?.[1];
}

/** A conflist directory of the test's own, with one bridge network on a subnet and bridge of its own. */
function customNetworks(t: TestEnv, nets: Record<string, (bridge: string, subnet: string) => object>): { dir: string; bridges: string[]; names: string[] } {
  // inside the test's state root: removed with it, whatever recreates the default conflist there meanwhile
  const dir = fs.mkdtempSync(path.join(t.root, 'net-'));
  const bridges: string[] = [];
  const names: string[] = [];
  let i = 0;
  for (const [suffix, make] of Object.entries(nets)) {
    const name = `${t.prefix}-${suffix}`;
    const bridge = `bp${t.prefix.slice(2, 8)}${i}`;
    const subnet = `10.89.${(Math.floor(Math.random() * 60) * 4 + i) % 250}.0/24`;
    fs.writeFileSync(path.join(dir, `${name}.conflist`), JSON.stringify({ cniVersion: '1.0.0', name, ...make(bridge, subnet) }));
    bridges.push(bridge);
    names.push(name);
    i++;
  }
  t.env.BAREPOD_NET_DIR = dir;
  return { dir, bridges, names };
}

function dropNetworks(n: { dir: string; bridges: string[]; names: string[] }): void {
  for (const b of n.bridges) spawnSync('ip', ['link', 'del', b]);
  for (const name of n.names) fs.rmSync(path.join('/var/lib/cni/networks', name), { recursive: true, force: true });
  fs.rmSync(n.dir, { recursive: true, force: true });
}

const bridgeNet =
  (subnetOverride?: string, extra: object[] = []) =>
  (bridge: string, subnet: string) => ({
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: subnetOverride ?? subnet }]], routes: [{ dst: '0.0.0.0/0' }] },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
      ...extra,
    ],
  });

describe.skipIf(skipReason)('pod networking (CNI)', () => {
  const t = useTestEnv();

  it('httpd in a bridged pod answers on the pod IP and on 127.0.0.1:hostPort; inspect, ip addr and /etc/hosts agree on the IP', async () => {
    const pod = t.pod('web');
    const port = freePort();
    await t.ok(['pod', 'create', pod, '-p', `${port}:80`, '-p', `127.0.0.1:${port + 1}:80`, '--add-host', 'db.local:10.89.254.7']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', ...SERVE(80, 'hello-from-pod')]);
    const n = (await view(t, pod)).network;
    expect(n).toMatchObject({
      name: 'barepod',
      mode: 'cni',
      ports: [
        { hostPort: port, containerPort: 80, protocol: 'tcp' },
        { hostIP: '127.0.0.1', hostPort: port + 1 },
      ],
    });
    expect(n.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(n.gateway).toMatch(/^\d+\.\d+\.\d+\.1$/);
    expect(n.interfaces.map((i) => i.where)).toEqual(['host (bridge)', 'host (veth)', 'pod']);
    expect(await ipInside(t, pod, 'app')).toBe(n.ip);
    expect(await eventually(() => httpGet(`http://${n.ip}/index.html`).catch(() => undefined), 15_000, 'the pod IP to answer')).toBe('hello-from-pod\n');
    expect(await eventually(() => httpGet(`http://127.0.0.1:${port}/index.html`).catch(() => undefined), 15_000, 'the host port to answer')).toBe(
      'hello-from-pod\n',
    );
    expect(await httpGet(`http://127.0.0.1:${port + 1}/index.html`)).toBe('hello-from-pod\n');
    const hosts = await t.ok(['exec', pod, 'app', '--', 'cat', '/etc/hosts']);
    expect(hosts).toContain(`${n.ip}\t${pod}\n`);
    expect(hosts).toContain('10.89.254.7\tdb.local\n');
    expect(await t.ok(['exec', pod, 'app', '--', 'cat', '/etc/hostname'])).toBe(`${pod}\n`);
    const resolv = await t.ok(['exec', pod, 'app', '--', 'cat', '/etc/resolv.conf']);
    expect(resolv).not.toMatch(/nameserver 127\./);
    // the network command shows the conflist in use and this pod's reservation
    const nets = JSON.parse(await t.ok(['network', 'ls', '--json'])) as { name: string; plugins: string[]; subnets: string[] }[];
    expect(nets.find((x) => x.name === 'barepod')).toMatchObject({ plugins: ['bridge', 'portmap', 'firewall'] });
    const inspected = JSON.parse(await t.ok(['network', 'inspect', 'barepod'])) as { reservations: { ip: string; containerId: string }[] };
    expect(inspected.reservations).toContainEqual({ ip: n.ip, containerId: expect.stringMatching(new RegExp(`-${pod}$`)) });
    expect(await t.ok(['inspect', pod])).toMatch(new RegExp(`IP: +${n.cidr!.replace(/\./g, '\\.')} gateway ${n.gateway!.replace(/\./g, '\\.')}`));
    // a second pod cannot take the same host port: refused before anything is made
    const other = t.pod('web2');
    const r = await t.bp(['pod', 'create', other, '-p', `${port}:80`]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`host port ${port}/tcp is already in use`);
    expect(fs.existsSync(path.join(t.root, 'pods', other))).toBe(false);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('a manifest: containers[].ports[].hostPort forwarded to the pod IP, hostAliases in /etc/hosts', async () => {
    const pod = t.pod('mf');
    const port = freePort();
    const file = path.join(t.root, `${pod}.yaml`);
    fs.writeFileSync(
      file,
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${pod}\nspec:\n  hostAliases: [{ip: 10.89.254.9, hostnames: [cache.local]}]\n  containers:\n` +
        `    - name: web\n      image: busybox\n      command: [sh, -c, 'mkdir -p /srv && echo from-manifest > /srv/index.html && exec httpd -f -p 8080 -h /srv']\n` +
        `      ports: [{containerPort: 8080, hostPort: ${port}}]\n`,
    );
    await t.ok(['up', '-f', file]);
    expect((await view(t, pod)).network).toMatchObject({ name: 'barepod', mode: 'cni', ports: [{ hostPort: port, containerPort: 8080, protocol: 'tcp' }] });
    expect(await eventually(() => httpGet(`http://127.0.0.1:${port}/index.html`).catch(() => undefined), 15_000, 'the hostPort to answer')).toBe(
      'from-manifest\n',
    );
    expect(await t.ok(['exec', pod, 'web', '--', 'cat', '/etc/hosts'])).toContain('10.89.254.9\tcache.local\n');
    await t.ok(['down', pod]);
  });

  it('two pods reach each other by IP; containers of one pod reach each other on 127.0.0.1 (ambassador)', async () => {
    const a = t.pod('a');
    const b = t.pod('b');
    await t.ok(['pod', 'create', a]);
    await t.ok(['pod', 'create', b]);
    await t.ok(['run', '--pod', a, '--name', 'web', '--', ...SERVE(8080, 'from-a')]);
    await t.ok(['run', '--pod', b, '--name', 'web', '--', ...SERVE(8080, 'from-b')]);
    await t.ok(['run', '--pod', b, '--name', 'ambassador', '--', 'sleep', '3600']);
    const ipA = (await view(t, a)).network.ip!;
    const ipB = (await view(t, b)).network.ip!;
    expect(ipA).not.toBe(ipB);
    const get = (pod: string, ctr: string, url: string) =>
      eventually(() => t.ok(['exec', pod, ctr, '--', 'wget', '-qO-', url]).catch(() => undefined), 15_000, url);
    expect(await get(b, 'ambassador', `http://${ipA}:8080/index.html`)).toBe('from-a\n');
    expect(await get(a, 'web', `http://${ipB}:8080/index.html`)).toBe('from-b\n');
    expect(await get(b, 'ambassador', 'http://127.0.0.1:8080/index.html')).toBe('from-b\n');
    await t.ok(['pod', 'rm', '-f', a, b]);
  });

  it('S1: the pod IP and netns inode survive 5 SIGKILLs of the app and a stop/start of it', async () => {
    const pod = t.pod('s1');
    await t.ok(['pod', 'create', pod, '--restart', 'always', '--backoff', '0s']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    const before = (await view(t, pod)).network;
    let app = await pidOf(t, pod, 'app');
    expect(nsInode(app, 'net')).toBe(before.netnsInode);
    for (let i = 1; i <= 5; i++) {
      process.kill(app, 'SIGKILL');
      app = await eventually(
        async () => {
          const pid = await pidOf(t, pod, 'app').catch(() => 0);
          return pid !== app && pid;
        },
        30_000,
        `restart ${i}`,
      );
      expect(nsInode(app, 'net')).toBe(before.netnsInode);
      expect(await ipInside(t, pod, 'app')).toBe(before.ip);
    }
    await t.ok(['stop', pod, 'app', '--time', '0']);
    await t.ok(['start', pod, 'app']);
    app = await pidOf(t, pod, 'app');
    expect(nsInode(app, 'net')).toBe(before.netnsInode);
    expect(await ipInside(t, pod, 'app')).toBe(before.ip);
    expect((await view(t, pod)).network).toEqual(before);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('a pod whose pause was SIGKILLed tears down cleanly; with policy always the new sandbox gets the old IP back', async () => {
    const dead = t.pod('dead');
    await t.ok(['pod', 'create', dead]);
    process.kill((await view(t, dead)).sandbox.pid, 'SIGKILL');
    await t.ok(['pod', 'rm', dead]);

    const back = t.pod('back');
    await t.ok(['pod', 'create', back, '--restart', 'always']);
    await t.ok(['run', '--pod', back, '--name', 'app', '--', 'sleep', '3600']);
    const old = await view(t, back);
    process.kill(old.sandbox.pid, 'SIGKILL');
    const now = await eventually(
      async () => {
        const v = await view(t, back);
        return v.sandbox.pid !== old.sandbox.pid && v.sandbox.alive && v.network.ip && v;
      },
      30_000,
      'the sandbox to be recreated',
    );
    expect(now.network.ip).toBe(old.network.ip);
    const app = await eventually(() => pidOf(t, back, 'app').catch(() => undefined), 30_000, 'the app to restart');
    expect(nsInode(app, 'net')).toBe(nsInode(now.sandbox.pid, 'net'));
    expect(await ipInside(t, back, 'app')).toBe(old.network.ip);
    // one reservation for the pod, not two
    expect(ipamReservations().filter(([, , cid]) => cid.endsWith(`-${back}`)).length).toBe(1);
    await t.ok(['pod', 'rm', '-f', back]);
  });

  it("--network host sees the host's interfaces; --network none only lo", async () => {
    const host = t.pod('host');
    const none = t.pod('none');
    await t.ok(['pod', 'create', host, '--network', 'host']);
    await t.ok(['pod', 'create', none, '--network', 'none']);
    await t.ok(['run', '--pod', host, '--name', 'c', '--', 'sleep', '3600']);
    await t.ok(['run', '--pod', none, '--name', 'c', '--', 'sleep', '3600']);
    expect(nsInode(await pidOf(t, host, 'c'), 'net')).toBe(nsInode(process.pid, 'net'));
    const links = (out: string) =>
      out
        .split('\n')
        .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
        .filter(Boolean);
    const hostLinks = fs.readdirSync('/sys/class/net');
    expect(links(await t.ok(['exec', host, 'c', '--', 'ip', '-o', 'link']))).toEqual(
      expect.arrayContaining(hostLinks.filter((l) => l === 'lo' || l === 'eth0')),
    );
    expect(links(await t.ok(['exec', none, 'c', '--', 'ip', '-o', 'link']))).toEqual(['lo']);
    expect((await view(t, none)).network).toMatchObject({ mode: 'none', ip: null });
    expect((await view(t, host)).network).toMatchObject({ mode: 'host', ip: null });
    // the hostname of a host-network pod is its own (its UTS namespace is), not the host's
    expect((await t.ok(['exec', host, 'c', '--', 'hostname'])).trim()).toBe(host);
    expect(os.hostname()).not.toBe(host);
    await t.ok(['pod', 'rm', '-f', host, none]);
  });

  it('a rootfs whose /etc/hosts is a symlink to a host file: the pod file is bound in, the host file is untouched', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-rootfs-'));
    try {
      const hostFile = path.join(dir, 'host-hosts');
      fs.writeFileSync(hostFile, 'HOST FILE, DO NOT TOUCH\n');
      const rootfs = path.join(dir, 'rootfs');
      spawnSync('cp', ['-a', '/var/lib/barepod/builtin/busybox/rootfs', rootfs]);
      fs.rmSync(path.join(rootfs, 'etc', 'hosts'), { force: true });
      fs.symlinkSync(hostFile, path.join(rootfs, 'etc', 'hosts'));
      const pod = t.pod('sym');
      await t.ok(['pod', 'create', pod]);
      await t.ok(['run', '--pod', pod, '--name', 'c', '--rootfs', rootfs, '--', 'sh', '-c', 'echo evil >> /etc/hosts; exec sleep 3600']);
      const hosts = await eventually(async () => {
        const h = await t.ok(['exec', pod, 'c', '--', 'cat', '/etc/hosts']);
        return h.includes('evil') && h;
      });
      expect(hosts).toContain(`\t${pod}\n`);
      expect(fs.readFileSync(hostFile, 'utf8')).toBe('HOST FILE, DO NOT TOUCH\n');
      await t.ok(['pod', 'rm', '-f', pod]);
      expect(fs.readFileSync(hostFile, 'utf8')).toBe('HOST FILE, DO NOT TOUCH\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('failures: a missing plugin, a broken conflist, a subnet on a host route, a failing plugin mid-ADD, an exhausted range: clear errors, nothing left', async () => {
    // the host route to clash with is one the test makes: any host has it, whatever its own routes
    const route = hostLinkRoute(t);
    onTestFinished(route.remove);
    const nets = customNetworks(t, {
      small: bridgeNet('10.89.253.0/30'),
      midfail: bridgeNet(undefined, [{ type: 'tuning', sysctl: { 'net.ipv4.barepod_no_such_key': '1' } }]),
      noplugin: (bridge) => ({ plugins: [{ type: 'bridge', bridge }, { type: 'no-such-plugin' }] }),
      clash: bridgeNet(route.subnet),
    });
    fs.writeFileSync(path.join(nets.dir, 'broken.conflist'), '{"name": "broken", ');
    try {
      const [small, midfail, noplugin, clash] = nets.names;
      const bad = async (args: string[], code: number, message: string | RegExp, hint: string | RegExp) => {
        const r = await t.bp(args);
        expect(r.code, r.stderr).toBe(code);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).toMatch(hint);
      };
      await bad(
        ['pod', 'create', t.pod('p1'), '--network', noplugin!],
        5,
        'CNI plugin "no-such-plugin" not found',
        'apt-get install containernetworking-plugins',
      );
      await bad(['pod', 'create', t.pod('p2'), '--network', 'broken'], 2, 'broken.conflist: not valid JSON', 'fix or remove');
      const r = await t.bp(['pod', 'create', t.pod('p6'), '--network', small!], { BAREPOD_IPTABLES: '/nonexistent/iptables' });
      expect([r.code, r.stderr]).toEqual([5, expect.stringContaining('iptables not found')]);
      expect(r.stderr).toContain('apt-get install iptables');
      await bad(['pod', 'create', t.pod('p3'), '--network', clash!], 2, `overlaps the host route ${route.subnet} on ${route.dev}`, 'choose a free subnet');
      await bad(['pod', 'create', t.pod('p4'), '--network', midfail!], 1, /CNI ADD of plugin tuning failed/, 'network inspect');
      // the bridge plugin's part of the failed ADD was undone: its veth and reservation are gone
      expect(ipamReservations().filter(([n]) => n === midfail)).toEqual([]);
      await t.ok(['pod', 'create', t.pod('fits'), '--network', small!]);
      await bad(['pod', 'create', t.pod('full'), '--network', small!], 1, /no IP addresses available/, 'is full');
      for (const p of ['p1', 'p2', 'p3', 'p4', 'p6', 'full']) expect(fs.existsSync(path.join(t.root, 'pods', t.pod(p)))).toBe(false);
      await t.ok(['pod', 'rm', t.pod('fits')]);
      expect(mountsUnder(t.root)).toEqual([]);
      // a refused port before anything is made: one the test binds itself
      const server = net.createServer();
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const busy = (server.address() as net.AddressInfo).port;
      try {
        await bad(
          ['pod', 'create', t.pod('p5'), '-p', `127.0.0.1:${busy}:80`],
          4,
          `host port 127.0.0.1:${busy}/tcp is already in use (bound by a process on the host)`,
          'choose another host port',
        );
      } finally {
        server.close();
      }
    } finally {
      dropNetworks(nets);
    }
  });

  it('gc retries a CNI DEL that failed at pod rm, and after a "reboot" (state root wiped) releases the reservation and the rules', async () => {
    const pod = t.pod('retry');
    await t.ok(['pod', 'create', pod, '-p', `${freePort()}:80`]);
    // the plugins are gone when rm runs: the DEL fails, the pod stays (Removing) with its netns pinned
    const r = await t.bp(['pod', 'rm', pod], { BAREPOD_CNI_PATH: '/nonexistent' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CNI plugin');
    expect(fs.existsSync(path.join(t.root, 'pods', pod, 'netns'))).toBe(true);
    expect(ipamReservations().some(([, , cid]) => cid.endsWith(`-${pod}`))).toBe(true);
    const actions = JSON.parse(await t.ok(['gc', '--json'])) as { pod: string; action: string }[];
    expect(actions).toContainEqual({ pod, action: 'finished an interrupted removal' });
    expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(false);
    expect(ipamReservations().some(([, , cid]) => cid.endsWith(`-${pod}`))).toBe(false);

    // a "reboot": every process, mount and file of the state root gone, but /var/lib/cni and the iptables rules left
    const lost = t.pod('lost');
    await t.ok(['pod', 'create', lost, '-p', `${freePort()}:80`]);
    const v = await view(t, lost);
    // the monitor first, so no exit handler runs: a reboot runs none either
    const conmon = (JSON.parse(fs.readFileSync(path.join(t.root, 'pods', lost, 'pod.json'), 'utf8')) as { sandbox: { conmon: { pid: number } } }).sandbox.conmon
      .pid;
    const gone = (pid: number) => !fs.existsSync(`/proc/${pid}/stat`) || fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');
    process.kill(conmon, 'SIGKILL');
    process.kill(v.sandbox.pid, 'SIGKILL');
    await eventually(() => gone(conmon) && gone(v.sandbox.pid));
    await eventually(() => spawnSync('runc', ['--root', path.join(t.root, 'runc'), 'delete', '-f', `${lost}._pause`]).status === 0 || true);
    for (const m of mountsUnder(t.root)) spawnSync('umount', ['-l', m]);
    for (const d of cgroupDirs(t.prefix)) removeCgroupTree(d);
    for (const d of cgroupTops(t.cgroupRoot)) removeCgroupTree(d); // the root's own top dir: a reboot takes it too
    fs.rmSync(path.join(t.root, 'pods'), { recursive: true, force: true });
    fs.rmSync(path.join(t.root, 'runc'), { recursive: true, force: true });
    fs.rmSync(path.join(t.root, 'locks'), { recursive: true, force: true });
    expect(ipamReservations().filter(([, , cid]) => cid.endsWith(`-${lost}`)).length).toBe(1);
    // reservations that are not this root's (another root's, another tool's) must survive the sweep
    const foreign = ['barepod-00000000-other', 'not-barepod'].map((id, i) => [path.join('/var/lib/cni/networks/barepod', `10.88.255.${250 + i}`), id] as const);
    for (const [file, id] of foreign) fs.writeFileSync(file, `${id}\r\neth0`);
    onTestFinished(() => foreign.forEach(([file]) => fs.rmSync(file, { force: true })));
    const swept = JSON.parse(await t.ok(['gc', '--json'])) as { pod: string; action: string }[];
    expect(swept).toContainEqual({
      pod: lost,
      action: expect.stringMatching(new RegExp(`^released ${v.network.ip!.replace(/\./g, '\\.')} of barepod-[0-9a-f]{8}-${lost} on network barepod$`)),
    });
    expect(JSON.parse(await t.ok(['gc', '--json']))).toEqual([]);
    for (const [file, id] of foreign) expect(fs.readFileSync(file, 'utf8')).toBe(`${id}\r\neth0`);
  });
});

/**
 * A host route that is not barepod's, made by the test so the clash does not
 * depend on the host's own routes (a host may have no link route at all): a
 * veth pair of the test's own (a kernel without the dummy module has veth:
 * CNI's bridge needs it), one end with an address in a /24 of 198.18.0.0/15
 * (RFC 2544's benchmarking range, routed nowhere), both up, so the kernel
 * adds its link route. Returns the subnet, the device and the function that
 * deletes the pair (and with it the address and the route).
 */
function hostLinkRoute(t: TestEnv): { subnet: string; dev: string; remove: () => void } {
  const dev = `tdm${t.prefix.slice(2, 8)}`;
  const subnet = `198.18.${Math.floor(Math.random() * 256)}.0/24`;
  const remove = () => void spawnSync('ip', ['link', 'del', dev]);
  const ip = (...args: string[]) => {
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    if (r.status !== 0) {
      remove();
      throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
    }
  };
  const peer = `tdn${t.prefix.slice(2, 8)}`;
  ip('link', 'add', dev, 'type', 'veth', 'peer', 'name', peer);
  ip('addr', 'add', subnet.replace(/0\/24$/, '1/24'), 'dev', dev);
  ip('link', 'set', peer, 'up');
  ip('link', 'set', dev, 'up');
  return { subnet, dev, remove };
}
