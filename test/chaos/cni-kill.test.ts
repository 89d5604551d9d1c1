/**
 * A CLI SIGKILLed in the middle of the CNI ADD chain (bridge → portmap →
 * firewall) must leave nothing once `gc` (or `pod rm -f`) has run: no
 * iptables rule or chain naming the pod's address or container id, no IPAM
 * reservation, no veth. Deterministic: BAREPOD_CNI_PATH points at a
 * directory of the real plugins where `firewall` is a wrapper that tells
 * the test (a marker file) when it is at the kill point and then blocks
 * until its caller is gone.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { cniContainerId } from '../../src/plan/network.js';
import { podPaths } from '../../src/plan/paths.js';
import { background, eventually, ipamReservations, skipReason, useTestEnv, type TestEnv } from '../helpers/harness.js';

const PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];
const realPlugin = (type: string) => PLUGIN_DIRS.map((d) => path.join(d, type)).find((p) => fs.existsSync(p));

/**
 * A plugin dir: every real plugin linked, `firewall` wrapped. `after`: the
 * real firewall runs (its rules are made), then the wrapper signals and
 * blocks before printing the result; `before`: it signals and blocks before
 * the real one ever runs (the kill lands between portmap and firewall).
 */
function wrapperDir(t: TestEnv, when: 'before' | 'after'): { dir: string; marker: string } {
  const dir = path.join(t.root, 'cni-bin');
  const marker = path.join(t.root, 'firewall-reached');
  fs.mkdirSync(dir, { recursive: true });
  const real = realPlugin('firewall')!;
  const base = path.dirname(real);
  for (const p of fs.readdirSync(base)) if (p !== 'firewall') fs.symlinkSync(path.join(base, p), path.join(dir, p));
  // $PPID is the CLI that runs the plugin: block until it is gone (bounded, so a failed test never leaves it hanging)
  const block = `i=0; while kill -0 "$PPID" 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done`;
  const script =
    when === 'after'
      ? `#!/bin/sh
[ "$CNI_COMMAND" = ADD ] || exec ${real}
out=$(${real}); rc=$?
: > ${marker}
${block}
printf '%s' "$out"; exit $rc
`
      : `#!/bin/sh
[ "$CNI_COMMAND" = ADD ] || exec ${real}
: > ${marker}
${block}
exit 1
`;
  fs.writeFileSync(path.join(dir, 'firewall'), script, { mode: 0o755 });
  return { dir, marker };
}

const iptablesText = () => ['nat', 'filter'].map((t) => spawnSync('iptables-save', ['-t', t], { encoding: 'utf8' }).stdout).join('\n');
const mentions = (text: string, ip: string, cid: string) =>
  text.split('\n').filter((l) => l.includes(cid) || new RegExp(`(^|[^\\d.])${ip.replace(/\./g, '\\.')}(/|:|\\s|$)`).test(l));

/** The host end of the pod's veth (its name and ifindex), found through eth0's peer index in the pinned netns. */
function hostVeth(netns: string): { name: string; index: string } | undefined {
  // `ip` asks the kernel through netlink in that netns (sysfs would still show the host's): "2: eth0@if123: …"
  const r = spawnSync('nsenter', [`--net=${netns}`, 'ip', '-o', 'link', 'show', 'eth0'], { encoding: 'utf8' });
  const index = /eth0@if(\d+):/.exec(r.stdout)?.[1];
  if (r.status !== 0 || !index) return undefined;
  for (const dev of fs.readdirSync('/sys/class/net')) {
    try {
      if (fs.readFileSync(`/sys/class/net/${dev}/ifindex`, 'utf8').trim() === index) return { name: dev, index };
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}
const linkExists = (v: { name: string; index: string }) => {
  try {
    return fs.readFileSync(`/sys/class/net/${v.name}/ifindex`, 'utf8').trim() === v.index;
  } catch {
    return false;
  }
};

describe.skipIf(skipReason || !realPlugin('firewall'))('SIGKILL during the CNI ADD chain', () => {
  const t = useTestEnv();

  for (const when of ['after', 'before'] as const) {
    for (const repair of ['gc', 'pod rm -f', 'gc of a pod an older barepod left'] as const) {
      it(`killed ${when === 'after' ? 'after firewall made its rules (before it returned)' : 'after bridge and portmap returned, before firewall ran'}: \`${repair}\` leaves no rule, chain, reservation or veth`, async () => {
        const pod = t.pod(`k${when[0]}${repair === 'gc' ? 'g' : repair === 'pod rm -f' ? 'r' : 'o'}`);
        const cid = cniContainerId(t.root, pod);
        const { dir, marker } = wrapperDir(t, when);
        t.env.BAREPOD_CNI_PATH = dir;
        const port = 20000 + Math.floor(Math.random() * 20000);
        let ip = '';
        // whatever the outcome, no rule of this test's address stays on the host (an unfixed barepod leaves them)
        onTestFinished(() => {
          if (!ip) return;
          const rules = mentions(spawnSync('iptables-save', ['-t', 'filter'], { encoding: 'utf8' }).stdout, ip, cid).filter((l) =>
            l.startsWith('-A CNI-FORWARD '),
          );
          for (const rule of rules) spawnSync('iptables-restore', ['-w', '--noflush'], { input: `*filter\n${rule.replace(/^-A /, '-D ')}\nCOMMIT\n` });
        });
        const cli = background(t, ['pod', 'create', pod, '-p', `${port}:80`]);
        await eventually(() => fs.existsSync(marker) || cli.code() !== undefined, 30_000, 'the firewall step');
        expect(cli.code(), `the CLI ended before the kill point: ${cli.err()}`).toBeUndefined();
        ip = ipamReservations().find(([, , c]) => c === cid)?.[1] ?? '';
        expect(ip, 'bridge reserved an address').not.toBe('');
        const veth = hostVeth(podPaths(t.root, pod).netns);
        expect(veth, 'the pod has a veth on the host').toBeDefined();
        if (when === 'after')
          expect(
            mentions(iptablesText(), ip, cid).some((l) => l.startsWith('-A CNI-FORWARD')),
            'firewall made its rules',
          ).toBe(true);
        cli.signal('SIGKILL');
        await cli.closed;

        // what DEL will get: the last result the chain returned (bridge's, passed on by portmap) and ADD's runtime config
        const stored = JSON.parse(fs.readFileSync(podPaths(t.root, pod).network, 'utf8')) as {
          result?: { ips?: { address: string }[] };
          runtimeConfig?: unknown;
        };
        expect(
          stored.result?.ips?.map((x) => x.address.split('/')[0]),
          'network.json has the result so far',
        ).toEqual([ip]);
        expect(stored.runtimeConfig, 'network.json has the runtime config ADD had').toEqual({
          portMappings: [{ hostPort: port, containerPort: 80, protocol: 'tcp' }],
        });
        if (repair === 'gc of a pod an older barepod left') {
          // as an older barepod wrote it: no result and no runtime config; gc's sweep must still find the firewall's rules
          delete stored.result;
          delete stored.runtimeConfig;
          fs.writeFileSync(podPaths(t.root, pod).network, JSON.stringify(stored));
        }

        const clean = () => {
          // once released, the address may already serve a pod of another test running beside this one: its rules are that pod's
          const reusedBy = ipamReservations().find(([, a, c]) => a === ip && c !== cid)?.[2];
          const left = mentions(iptablesText(), ip, cid).filter((l) => !reusedBy || l.includes(cid));
          expect(left, `iptables rules or chains naming ${ip}${reusedBy ? ` (now ${reusedBy}'s: only rules naming ${cid} count)` : ''} or ${cid}`).toEqual([]);
          expect(
            ipamReservations().filter(([, , c]) => c === cid),
            'IPAM reservations',
          ).toEqual([]);
          expect(linkExists(veth!), `veth ${veth!.name}`).toBe(false);
          expect(fs.existsSync(podPaths(t.root, pod).dir), 'the pod dir').toBe(false);
        };
        if (repair === 'pod rm -f') await t.ok(['pod', 'rm', '-f', pod]);
        else await t.ok(['gc']);
        clean();
        await t.ok(['gc']); // idempotent: nothing more to do, nothing broken
        clean();
      });
    }
  }
});

/** Processes (live, not zombies) whose environment names this container id: a plugin the CLI started, and its children. */
function pluginsOf(cid: string): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (fs.readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(`CNI_CONTAINERID=${cid}`)) out.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe.skipIf(skipReason || !realPlugin('firewall'))('a plugin that outlives its killed CLI', () => {
  const t = useTestEnv();

  it("gc (taking over the dead CLI's lock) ends the plugin the CLI left running: it never makes rules after the repair", async () => {
    const pod = t.pod('orphan');
    const cid = cniContainerId(t.root, pod);
    const dir = path.join(t.root, 'cni-bin');
    const marker = path.join(t.root, 'firewall-reached');
    const gate = path.join(t.root, 'firewall-gate');
    fs.mkdirSync(dir, { recursive: true });
    const real = realPlugin('firewall')!;
    for (const p of fs.readdirSync(path.dirname(real))) if (p !== 'firewall') fs.symlinkSync(path.join(path.dirname(real), p), path.join(dir, p));
    // the ADD signals, then waits for the gate to open (bounded) and runs the real firewall on its input, caller or not
    fs.writeFileSync(
      path.join(dir, 'firewall'),
      `#!/bin/sh\n[ "$CNI_COMMAND" = ADD ] || exec ${real}\n: > ${marker}\ni=0; while [ -e ${gate} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\nexec ${real}\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(gate, '');
    t.env.BAREPOD_CNI_PATH = dir;
    t.env.BAREPOD_TIMEOUT_ORPHANS = '2s'; // the gated plugin never finishes on its own: gc waits this long, then kills it
    let ip = '';
    onTestFinished(() => {
      fs.rmSync(gate, { force: true });
      for (const p of pluginsOf(cid)) spawnSync('kill', ['-9', String(p)]);
      if (!ip) return;
      const rules = mentions(spawnSync('iptables-save', ['-t', 'filter'], { encoding: 'utf8' }).stdout, ip, cid).filter((l) => l.startsWith('-A CNI-FORWARD '));
      for (const rule of rules) spawnSync('iptables-restore', ['-w', '--noflush'], { input: `*filter\n${rule.replace(/^-A /, '-D ')}\nCOMMIT\n` });
    });
    const cli = background(t, ['pod', 'create', pod, '-p', `${20000 + Math.floor(Math.random() * 20000)}:80`]);
    await eventually(() => fs.existsSync(marker) || cli.code() !== undefined, 30_000, 'the firewall step');
    expect(cli.code(), `the CLI ended before the kill point: ${cli.err()}`).toBeUndefined();
    ip = ipamReservations().find(([, , c]) => c === cid)?.[1] ?? '';
    expect(ip, 'bridge reserved an address').not.toBe('');
    cli.signal('SIGKILL');
    await cli.closed;
    expect(pluginsOf(cid).length, 'the firewall plugin runs on after its CLI was killed').toBeGreaterThan(0);

    await t.ok(['gc']);
    // whatever gc left running may now go on: the gate opens
    fs.rmSync(gate, { force: true });
    await eventually(() => pluginsOf(cid).length === 0, 30_000, 'no plugin of the pod left running');
    const left = mentions(iptablesText(), ip, cid).filter((l) => !ipamReservations().some(([, a, c]) => a === ip && c !== cid) || l.includes(cid));
    expect(left, `iptables rules naming ${ip} or ${cid} after gc`).toEqual([]);
    expect(
      ipamReservations().filter(([, , c]) => c === cid),
      'IPAM reservations',
    ).toEqual([]);
    expect(fs.existsSync(podPaths(t.root, pod).dir), 'the pod dir').toBe(false);
  });
});
