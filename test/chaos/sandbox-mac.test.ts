/**
 * Chaos: the pause of a bridged pod with a host port is killed again and
 * again with traffic flowing just before. Each recreated sandbox must be
 * reachable at once, on its IP and through its host port: the pod keeps the
 * MAC of its first CNI ADD (so the host's neighbour entry for the kept IP
 * stays right), and the host has no neighbour entry with another MAC.
 * Readiness is a listening socket in the new netns, never a timed wait.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import path from 'node:path';
import { DEFAULT_SUBNET, defaultConflist } from '../../src/plan/network.js';
import { eventually, inspect, skipReason, type TestEnv, useTestEnv } from '../helpers/harness.js';

/** How many times the pause is killed in one test (issue 13: 20 recreations with traffic just before). */
const RECREATIONS = 20;

interface View {
  sandbox: { pid: number; alive: boolean };
  containers: { name: string; pid: number | null; state: string }[];
  network: { ip: string | null };
}

const freePort = () => 20000 + Math.floor(Math.random() * 20000);

/** One GET with a few-second socket timeout: the content, or the error's text. */
async function fetchOnce(url: string): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
    return await res.text();
  } catch (e) {
    return `failed: ${(e as Error).message}`;
  }
}

/** The MAC of eth0 inside the netns of a process, as `ip` there shows it. */
function podMac(pid: number): string {
  const r = spawnSync('nsenter', ['-t', String(pid), '-n', 'ip', '-o', 'link', 'show', 'eth0'], { encoding: 'utf8' });
  const mac = /link\/ether ([0-9a-f:]{17})/.exec(r.stdout)?.[1];
  if (!mac) throw new Error(`no MAC of eth0 in the netns of pid ${pid}: ${r.stdout}${r.stderr}`);
  return mac;
}

/** The host's neighbour entries for an address: "dev lladdr state" of each. */
function hostNeighbours(ip: string): { dev: string; mac?: string; line: string }[] {
  const r = spawnSync('ip', ['-4', 'neigh', 'show', 'to', ip], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith(`${ip} `))
    .map((line) => ({ dev: /dev (\S+)/.exec(line)?.[1] ?? '', mac: /lladdr ([0-9a-f:]{17})/.exec(line)?.[1], line }));
}

/** Whether something listens on a TCP port in a process's netns (/proc/<pid>/net/tcp and tcp6: busybox httpd binds [::]). */
function listens(pid: number, port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return ['tcp', 'tcp6'].some((table) => {
    try {
      return fs
        .readFileSync(`/proc/${pid}/net/${table}`, 'utf8')
        .split('\n')
        .slice(1)
        .some((l) => {
          const f = l.trim().split(/\s+/);
          return f[1]?.endsWith(hex) && f[3] === '0A';
        });
    } catch {
      return false;
    }
  });
}

/** A pod with a host port serving a file, restart policy Always; its IP and the MAC of its first ADD. */
async function servingPod(t: TestEnv, name: string): Promise<{ pod: string; port: number; ip: string; mac: string; view: View }> {
  const pod = t.pod(name);
  const port = freePort();
  await t.ok(['pod', 'create', pod, '--restart', 'always', '--backoff', '0s', '-p', `${port}:80`]);
  await t.ok(['run', '--pod', pod, '--name', 'web', '--', 'sh', '-c', 'mkdir -p /srv && echo still-here > /srv/index.html && exec httpd -f -p 80 -h /srv']);
  const view = (await inspect(t, pod)) as unknown as View;
  const ip = view.network.ip!;
  expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  await eventually(() => listens(view.containers.find((c) => c.name === 'web')!.pid!, 80), 15_000, 'httpd to listen');
  return { pod, port, ip, mac: podMac(view.sandbox.pid), view };
}

/**
 * Traffic to the pod IP and the host port (the host's neighbour entry is
 * fresh), `beforeKill` (e.g. a planted stale entry), SIGKILL of the pause,
 * then, once barepod reports the sandbox recreated and httpd listens in the
 * new netns: the same IP and MAC, no neighbour entry with another MAC, and
 * both answer at the first try.
 */
async function killAndCheck(
  t: TestEnv,
  p: { pod: string; port: number; ip: string; mac: string },
  view: View,
  what: string,
  beforeKill = () => {},
): Promise<View> {
  const { pod, port, ip, mac } = p;
  expect(await fetchOnce(`http://${ip}/index.html`), `${what}: before, on the pod IP`).toBe('still-here\n');
  expect(await fetchOnce(`http://127.0.0.1:${port}/index.html`), `${what}: before, on the host port`).toBe('still-here\n');
  expect(
    hostNeighbours(ip).map((n) => n.mac),
    `${what}: the host knows the pod's MAC`,
  ).toContain(mac);
  beforeKill();
  const old = view.sandbox.pid;
  process.kill(old, 'SIGKILL');
  const now = await eventually(
    async () => {
      const n = (await inspect(t, pod)) as unknown as View;
      const w = n.containers.find((c) => c.name === 'web');
      return n.sandbox.pid !== old && n.sandbox.alive && w?.state === 'running' && w.pid !== null && listens(w.pid, 80) && n;
    },
    60_000,
    `${what}: the sandbox recreated and httpd listening again`,
  );
  expect(now.network.ip, `${what}: the IP is kept`).toBe(ip);
  expect(podMac(now.sandbox.pid), `${what}: eth0 keeps the MAC of the first ADD`).toBe(mac);
  for (const n of hostNeighbours(ip)) {
    if (n.mac) expect(n.mac, `${what}: the host's neighbour entry ${n.line}`).toBe(mac);
  }
  expect(await fetchOnce(`http://${ip}/index.html`), `${what}: at once, on the pod IP`).toBe('still-here\n');
  expect(await fetchOnce(`http://127.0.0.1:${port}/index.html`), `${what}: at once, on the host port`).toBe('still-here\n');
  return now;
}

const recreatedEvents = async (t: TestEnv, pod: string) => (await t.ok(['events', pod, '--json'])).split('\n').filter((l) => l.includes('"sandbox-recreated"'));

describe.skipIf(skipReason)('chaos: sandbox recreation keeps the pod reachable', () => {
  const t = useTestEnv();

  it(`the pause killed ${RECREATIONS} times with traffic just before: same MAC, no stale neighbour entry, IP and host port answer at once`, async () => {
    // the conflist barepod wrote before it declared the `mac` capability: the MAC goes to bridge as args.cni.mac
    const dir = fs.mkdtempSync(path.join(t.root, 'net-'));
    const list = defaultConflist('barepod', process.env.BAREPOD_SUBNET ?? DEFAULT_SUBNET);
    list.plugins[0]!.capabilities = { ips: true };
    fs.writeFileSync(path.join(dir, 'barepod.conflist'), JSON.stringify(list));
    t.env.BAREPOD_NET_DIR = dir;
    const p = await servingPod(t, 'mac');
    let view = p.view;
    for (let round = 1; round <= RECREATIONS; round++) view = await killAndCheck(t, p, view, `recreation ${round}`);
    expect(await recreatedEvents(t, p.pod)).toHaveLength(RECREATIONS);
    await t.ok(['pod', 'rm', '-f', p.pod]);
  });

  it('with the default conflist (capability mac): the MAC is kept, and a neighbour entry naming another MAC for the pod IP is removed on recreation', async () => {
    // a conflist dir of the test's own, so barepod writes today's default conflist into it
    t.env.BAREPOD_NET_DIR = fs.mkdtempSync(path.join(t.root, 'net-'));
    const p = await servingPod(t, 'plant');
    const list = JSON.parse(fs.readFileSync(path.join(t.env.BAREPOD_NET_DIR, 'barepod.conflist'), 'utf8')) as { plugins: { capabilities?: object }[] };
    expect(list.plugins[0]!.capabilities).toEqual({ ips: true, mac: true });
    let view = await killAndCheck(t, p, p.view, 'recreation 1');
    const dev = hostNeighbours(p.ip).find((n) => n.mac === p.mac)!.dev;
    // the host's entry goes stale as after an earlier sandbox with another MAC (or another pod with this address)
    onTestFinished(() => {
      // the planted entry, should the test fail before barepod removes it
      if (hostNeighbours(p.ip).some((n) => n.mac === '02:de:ad:00:be:ef')) spawnSync('ip', ['-4', 'neigh', 'del', p.ip, 'dev', dev]);
    });
    view = await killAndCheck(t, p, view, 'recreation 2 after a stale entry', () => {
      const r = spawnSync('ip', ['-4', 'neigh', 'replace', p.ip, 'lladdr', '02:de:ad:00:be:ef', 'dev', dev, 'nud', 'stale'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(hostNeighbours(p.ip).map((n) => n.mac)).toEqual(['02:de:ad:00:be:ef']);
    });
    expect(await recreatedEvents(t, p.pod)).toHaveLength(2);
    await t.ok(['pod', 'rm', '-f', p.pod]);
  });
});
