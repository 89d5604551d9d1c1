/**
 * CNI, the real component: conflists on disk, plugin binaries called per the
 * CNI spec (env + one config on stdin, result or error JSON on stdout), the
 * pinned netns, host routes, host ports, and the iptables leftovers of
 * containers that no longer exist. No CNI library: the spec is small.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { BarepodError, ToolError } from '../errors.js';
import type { PortMapping } from '../model.js';
import {
  bridgesOf,
  conflictingRoutes,
  DEFAULT_SUBNET,
  defaultConflist,
  formatCidr4,
  overlaps,
  parseCidr4,
  parseConflist,
  parseProcRoutes,
  pluginConfig,
  ruleComment,
  subnetsOf,
  type Cidr4,
  type CniResult,
  type Conflist,
  type RuntimeConfig,
} from '../plan/network.js';
import { DEFAULT_NETWORK } from '../model.js';
import { launch, runTool, trace } from './exec.js';
import { explaining, explainResult, explainRun } from './explain.js';
import { shellWords } from '../plan/narration.js';
import { findBinary } from './host.js';
import { isMounted } from './mounts.js';
import { writeFileAtomic } from './state.js';

/** Where conflists live (user-editable); BAREPOD_NET_DIR moves it (tests). */
export const netConfDir = (): string => process.env.BAREPOD_NET_DIR ?? '/etc/barepod/net.d';
/** Where plugin binaries are looked up: Debian's containernetworking-plugins, then the upstream default. */
export const cniPath = (): string[] => (process.env.BAREPOD_CNI_PATH ?? '/usr/lib/cni:/opt/cni/bin').split(':').filter(Boolean);
/** host-local's reservations: one file per IP holding "<container id>\r\n<ifname>". */
export const ipamDir = (network: string): string => path.join(process.env.BAREPOD_IPAM_DIR ?? '/var/lib/cni/networks', network);

/** A network as barepod found it: its conflist and the file it came from. */
export interface NetworkConfig {
  file: string;
  list: Conflist;
}

/** Every conflist of the directory (the default one created first), sorted by file name. */
export function listNetworks(): NetworkConfig[] {
  ensureDefaultNetwork();
  const dir = netConfDir();
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.conflist'))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      return { file, list: parseConflist(fs.readFileSync(file, 'utf8'), file) };
    });
}

/** The conflist of one network by its name; the default one is created on first use. */
export function loadNetwork(name: string): NetworkConfig {
  if (name === DEFAULT_NETWORK) ensureDefaultNetwork();
  const dir = netConfDir();
  const direct = path.join(dir, `${name}.conflist`);
  if (fs.existsSync(direct)) {
    const cfg = { file: direct, list: parseConflist(fs.readFileSync(direct, 'utf8'), direct) };
    if (cfg.list.name === name) return cfg;
  }
  const found = (fs.existsSync(dir) ? listNetworks() : []).find((n) => n.list.name === name);
  if (!found) {
    throw new BarepodError('not-found', `network "${name}" not found in ${dir}`, {
      hint: `list networks with \`barepod network ls\`; add ${dir}/${name}.conflist, or use --network barepod|none|host`,
    });
  }
  return found;
}

/**
 * Writes the default conflist when it is missing: bridge barepod0 on
 * BAREPOD_SUBNET (default 10.88.0.0/16), refused when that subnet overlaps a
 * host route, so barepod never shadows a network it did not make.
 */
export function ensureDefaultNetwork(): void {
  const file = path.join(netConfDir(), `${DEFAULT_NETWORK}.conflist`);
  if (fs.existsSync(file)) return;
  const subnet = process.env.BAREPOD_SUBNET ?? DEFAULT_SUBNET;
  const list = defaultConflist(DEFAULT_NETWORK, subnet);
  if (subnetsOf(list).length === 0) {
    throw new BarepodError('invalid-value', `BAREPOD_SUBNET "${subnet}": not an IPv4 subnet (a.b.c.d/n)`, { hint: 'e.g. BAREPOD_SUBNET=10.89.0.0/16' });
  }
  checkRoutes(list, file);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, JSON.stringify(list, null, 2) + '\n');
  fs.chmodSync(file, 0o644);
}

/** Refuses a network whose subnet overlaps a host route on a device it does not own. */
export function checkRoutes(list: Conflist, file: string): void {
  let routes;
  try {
    routes = parseProcRoutes(fs.readFileSync('/proc/net/route', 'utf8'));
  } catch {
    return;
  }
  for (const subnet of subnetsOf(list)) {
    const clash = conflictingRoutes(subnet, routes, bridgesOf(list));
    if (clash.length) {
      const r = clash[0]!;
      throw new BarepodError('invalid-value', `network "${list.name}": its subnet ${subnet} overlaps the host route ${formatCidr4(r.dst)} on ${r.dev}`, {
        hint: fs.existsSync(file)
          ? `choose a free subnet in ${file}`
          : `choose a free subnet: BAREPOD_SUBNET=<a.b.c.d/n> barepod pod create … (it is written to ${file}, which you may edit later)`,
      });
    }
  }
}

/** The path of a plugin binary, or undefined. */
export function findPlugin(type: string): string | undefined {
  for (const dir of cniPath()) {
    const p = path.join(dir, type);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Checks, before anything is created, that every plugin of a network exists and that iptables does when a plugin needs it. */
export function checkPrerequisites(cfg: NetworkConfig): void {
  for (const p of cfg.list.plugins) {
    if (!findPlugin(p.type)) {
      throw new BarepodError('missing-tool', `network "${cfg.list.name}": CNI plugin "${p.type}" not found in ${cniPath().join(':')}`, {
        hint: `apt-get install containernetworking-plugins (or fix "type" in ${cfg.file}; BAREPOD_CNI_PATH lists the plugin directories)`,
      });
    }
  }
  const needsIptables = cfg.list.plugins.some((p) => p.type === 'portmap' || p.type === 'firewall' || (p.type === 'bridge' && p.ipMasq));
  if (needsIptables && !findBinary('iptables', 'BAREPOD_IPTABLES')) {
    throw new BarepodError('missing-tool', `network "${cfg.list.name}": iptables not found (the bridge masquerade, portmap and firewall plugins need it)`, {
      hint: 'apt-get install iptables (or use --network none or host)',
    });
  }
}

/** The arguments of one CNI call besides the config. */
export interface CniArgs {
  containerId: string;
  netns: string;
  ifname: string;
}

const SBIN = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Runs one plugin; its result JSON, or a BarepodError built from its error JSON. */
async function invoke(cfg: NetworkConfig, command: 'ADD' | 'DEL', conf: Record<string, unknown>, a: CniArgs): Promise<CniResult | undefined> {
  const type = String(conf.type);
  const bin = findPlugin(type);
  if (!bin) {
    throw new BarepodError('missing-tool', `network "${cfg.list.name}": CNI plugin "${type}" not found in ${cniPath().join(':')}`, {
      hint: 'apt-get install containernetworking-plugins',
    });
  }
  const env: NodeJS.ProcessEnv = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: a.containerId,
    CNI_NETNS: a.netns,
    CNI_IFNAME: a.ifname,
    CNI_PATH: cniPath().join(':'),
    PATH: `${process.env.PATH ?? ''}:${SBIN}`,
  };
  const started = performance.now();
  if (explaining) {
    const vars = (['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'] as const).map((k) => `${k}=${shellWords([env[k] ?? ''])}`);
    explainRun(`${vars.join(' ')} ${bin} < (plugin type ${type}: its config from ${cfg.file}${conf.prevResult ? `, with prevResult: ${command === 'ADD' ? 'the previous plugin\'s result' : 'the stored ADD result'}` : ''})`);
  }
  // its own process group: the deadline (BAREPOD_TIMEOUT_CNI) kills the iptables it runs too
  const run = launch([bin], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true, program: 'cni', label: `CNI plugin ${path.basename(bin)} (CNI_COMMAND=${command} CNI_CONTAINERID=${a.containerId} CNI_IFNAME=${a.ifname})` });
  const out: Buffer[] = [];
  const errOut: Buffer[] = [];
  run.child.stdout!.on('data', (d: Buffer) => out.push(d));
  run.child.stderr!.on('data', (d: Buffer) => errOut.push(d));
  run.child.stdin!.on('error', () => {});
  run.child.stdin!.end(JSON.stringify(conf));
  const { code } = await run.exited;
  const stdout = Buffer.concat(out).toString('utf8');
  const stderr = Buffer.concat(errOut).toString('utf8');
  trace(`CNI ${command} ${type} ${a.containerId}`, started);
  if (code === 0) {
    if (command === 'DEL' || !stdout.trim()) return undefined;
    try {
      const result = JSON.parse(stdout) as CniResult;
      if (explaining) explainResult(`${type}: ${JSON.stringify(result) === JSON.stringify(conf.prevResult) ? 'passes the previous result on' : resultWords(result)}`);
      return result;
    } catch {
      throw new ToolError([bin], stdout, `CNI plugin ${type} (${command}) printed an unreadable result`);
    }
  }
  let msg = (stderr || stdout).trim() || `exited with ${code}`;
  let details = '';
  try {
    const e = JSON.parse(stdout) as { code?: number; msg?: string; details?: string };
    if (e.msg) msg = e.msg;
    if (e.details) details = `: ${e.details}`;
  } catch {
    // not JSON: keep the raw text
  }
  const err = new ToolError([bin, `(CNI_COMMAND=${command} CNI_CONTAINERID=${a.containerId})`], stderr || stdout, `network "${cfg.list.name}": CNI ${command} of plugin ${type} failed: ${msg}${details}`, hintFor(cfg, msg));
  throw err;
}

/** A CNI result in a few words: the interfaces (where) and addresses it reports. */
function resultWords(r: CniResult): string {
  const ifaces = (r.interfaces ?? []).map((i) => `${i.name}${i.sandbox ? ' (in the pod)' : ''}`);
  const ips = (r.ips ?? []).map((i) => `${i.address}${i.gateway ? ` via ${i.gateway}` : ''}`);
  return [ifaces.length ? `interfaces ${ifaces.join(', ')}` : '', ips.length ? `addresses ${ips.join(', ')}` : ''].filter(Boolean).join('; ') || 'an empty result';
}

/** A fix for the plugin errors people meet. */
function hintFor(cfg: NetworkConfig, msg: string): string {
  if (/no IP addresses available|range set.*exhausted|no free IP/i.test(msg)) {
    return `the subnet of network "${cfg.list.name}" is full: remove pods, run \`barepod gc\` to release stale reservations, or widen the subnet in ${cfg.file}`;
  }
  if (/iptables/.test(msg) && /not found|executable file/.test(msg)) return 'apt-get install iptables';
  if (/duplicate allocation|has been allocated to/.test(msg)) return 'a reservation of this pod is left from a failed teardown: run `barepod gc`';
  return `check ${cfg.file} (\`barepod network inspect ${cfg.list.name}\`); run with --debug for the plugin's output`;
}

/**
 * CNI ADD: every plugin in order, each getting the previous one's result.
 * A failure leaves half an attachment: the caller runs DEL (idempotent).
 */
export async function cniAdd(cfg: NetworkConfig, a: CniArgs, rc: RuntimeConfig, onResult?: (result: CniResult) => void): Promise<CniResult> {
  let prev: CniResult | undefined;
  for (const plugin of cfg.list.plugins) {
    const result = await invoke(cfg, 'ADD', pluginConfig(cfg.list, plugin, rc, prev), a);
    if (result) {
      prev = result;
      // kept before the next plugin runs (as libcni caches it): a CLI killed mid-chain leaves DEL the last result, so the
      // plugins that already ran (firewall's rules are found only through prevResult's addresses) can undo themselves
      onResult?.(result);
    }
  }
  return prev ?? {};
}

/** CNI DEL: every plugin in reverse with the stored result; goes on past failures and reports them all. */
export async function cniDel(cfg: NetworkConfig, a: CniArgs, rc: RuntimeConfig, result: CniResult | undefined): Promise<void> {
  const errors: string[] = [];
  for (const plugin of [...cfg.list.plugins].reverse()) {
    try {
      await invoke(cfg, 'DEL', pluginConfig(cfg.list, plugin, rc, result), a);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length) {
    throw new BarepodError('tool-failed', errors.join('; '), { hint: 'fix the cause, then `barepod gc` (or `barepod pod rm` again) retries the DEL' });
  }
}

/** Pins a process's netns with a bind mount, so it outlives the process (and CNI DEL can enter it). */
export async function pinNetns(pid: number, target: string): Promise<number> {
  fs.writeFileSync(target, '');
  await runTool(['mount', '--bind', `/proc/${pid}/ns/net`, target]);
  return fs.statSync(target).ino;
}

/** Releases a pinned netns (the namespace goes once nothing else holds it). */
export async function unpinNetns(target: string): Promise<void> {
  if (isMounted(target)) await runTool(['umount', target]);
  fs.rmSync(target, { force: true });
}

/** Marks the host end of a pod's veth with its container id (ifalias), so leftovers can be found by owner. */
export function labelLink(dev: string, containerId: string): void {
  try {
    fs.writeFileSync(`/sys/class/net/${dev}/ifalias`, `barepod:${containerId}`);
  } catch {
    // the label is for finding leftovers only
  }
}

/** Host links labelled by barepod: device → container id. */
export function labelledLinks(): Map<string, string> {
  const out = new Map<string, string>();
  for (const dev of fs.existsSync('/sys/class/net') ? fs.readdirSync('/sys/class/net') : []) {
    try {
      const alias = fs.readFileSync(`/sys/class/net/${dev}/ifalias`, 'utf8').trim();
      if (alias.startsWith('barepod:')) out.set(dev, alias.slice('barepod:'.length));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Removes a host link (a veth left behind: its peer goes with it). */
export async function deleteLink(dev: string): Promise<void> {
  await runTool(['ip', 'link', 'del', dev]);
}

/**
 * Refuses host ports that are taken, before anything is created: bound by a
 * process (a bind probe on the mapping's address), or forwarded already by
 * a portmap DNAT rule (which binds nothing, so a probe cannot see it).
 */
export async function checkHostPorts(ports: PortMapping[], pod: string): Promise<void> {
  if (ports.length === 0) return;
  const forwarded = await forwardedPorts();
  for (const p of ports) {
    const taken = forwarded.has(`${p.protocol}/${p.hostPort}`) ? 'forwarded to another pod (a CNI portmap rule)' : await probe(p);
    if (taken) {
      throw new BarepodError('already-exists', `pod "${pod}": host port ${p.hostIP ? `${p.hostIP}:` : ''}${p.hostPort}/${p.protocol} is already in use (${taken}); nothing was created`, {
        hint: `choose another host port (-p OTHER:${p.containerPort}), or stop what holds it (ss -ltnup 'sport = :${p.hostPort}')`,
      });
    }
  }
}

function probe(p: PortMapping): Promise<string | undefined> {
  const host = p.hostIP || '0.0.0.0';
  return new Promise((resolve) => {
    const fail = (e: NodeJS.ErrnoException) => resolve(e.code === 'EADDRINUSE' ? 'bound by a process on the host' : e.code === 'EADDRNOTAVAIL' ? `${host} is not an address of this host` : undefined);
    if (p.protocol === 'udp') {
      const s = dgram.createSocket('udp4');
      s.once('error', (e) => {
        s.close();
        fail(e);
      });
      s.bind({ port: p.hostPort, address: host, exclusive: true }, () => s.close(() => resolve(undefined)));
    } else {
      const s = net.createServer();
      s.once('error', fail);
      s.listen({ port: p.hostPort, host, exclusive: true }, () => s.close(() => resolve(undefined)));
    }
  });
}

/** The lines of `iptables-save -t TABLE` (rules and chain declarations), or none when iptables is missing or fails: the one reader of iptables state. */
async function savedLines(table: 'nat' | 'filter'): Promise<string[]> {
  const save = findBinary('iptables-save');
  if (!save) return [];
  try {
    return (await runTool([save, '-t', table])).split('\n');
  } catch {
    return [];
  }
}

/**
 * Deletes one rule as iptables-save printed it: it goes back through
 * iptables-restore as a -D line, so its quoting is iptables-save's own, with
 * no shell in between. Whether it was there to delete.
 */
async function deleteSavedRule(table: string, rule: string): Promise<boolean> {
  const restore = findBinary('iptables-restore');
  if (!restore) return false;
  return runTool([restore, '-w', '--noflush'], { input: `*${table}\n${rule.replace(/^-A /, '-D ')}\nCOMMIT\n` }).then(
    () => true,
    () => false, // gone meanwhile
  );
}

/** "tcp/8080" for every port portmap forwards now (its CNI-HOSTPORT-DNAT rules). */
async function forwardedPorts(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const line of await savedLines('nat')) {
    if (!line.startsWith('-A CNI-HOSTPORT-DNAT ')) continue;
    const proto = /-p (tcp|udp)/.exec(line)?.[1];
    const ports = /--dports (\S+)/.exec(line)?.[1];
    if (proto && ports) for (const port of ports.split(',')) out.add(`${proto}/${port}`);
  }
  return out;
}

/**
 * Deletes the iptables rules and chains the plugins made for one container
 * (rules by their comment naming the container id, firewall rules by its
 * address, the per-container chains by name), when DEL could not: after a
 * reboot without the netns, bridge's DEL leaves the masquerade chain.
 */
export async function removeRulesOf(network: string, containerId: string, chains: string[], ip?: string): Promise<string[]> {
  const ipt = findBinary('iptables', 'BAREPOD_IPTABLES');
  if (!findBinary('iptables-save') || !findBinary('iptables-restore') || !ipt) return [];
  const removed: string[] = [];
  const comment = ruleComment(network, containerId).replace(/"/g, '\\"');
  for (const table of ['nat', 'filter'] as const) {
    const lines = await savedLines(table);
    const rules = lines.filter(
      (l) => l.startsWith('-A ') && (l.includes(comment) || (table === 'filter' && ip && l.startsWith('-A CNI-FORWARD ') && (l.includes(` -d ${ip}/32 `) || l.includes(` -s ${ip}/32 `)))),
    );
    for (const rule of rules) {
      await deleteSavedRule(table, rule);
      removed.push(`${table}: ${rule}`);
    }
    for (const chain of chains) {
      if (!lines.includes(`:${chain} - [0:0]`) && !lines.some((l) => l.startsWith(`:${chain} `))) continue;
      for (const l of lines.filter((x) => x.startsWith('-A ') && x.includes(`-j ${chain}`))) await deleteSavedRule(table, l);
      await runTool([ipt, '-w', '-t', table, '-F', chain]).catch(() => undefined);
      await runTool([ipt, '-w', '-t', table, '-X', chain]).catch(() => undefined);
      removed.push(`${table}: chain ${chain}`);
    }
  }
  return removed;
}

/** Every address host-local reserves now, in any network of its directory (barepod's or another tool's: a rule of one of them is never a leftover). */
export function allReservedAddresses(): Set<string> {
  const base = path.dirname(ipamDir('x'));
  const out = new Set<string>();
  for (const net of fs.existsSync(base) ? fs.readdirSync(base) : []) for (const ip of reservations(net).keys()) out.add(ip);
  return out;
}

/** host-local reservations of a network: IP → container id. */
export function reservations(network: string): Map<string, string> {
  const dir = ipamDir(network);
  const out = new Map<string, string>();
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (!/^[0-9a-fA-F.:]+$/.test(f)) continue;
    try {
      out.set(f, fs.readFileSync(path.join(dir, f), 'utf8').split(/\r?\n/)[0]!.trim());
    } catch {
      // released meanwhile
    }
  }
  return out;
}

/**
 * The firewall plugin's rules (CNI-FORWARD, no comment, found only by the
 * address) for addresses of the given subnets that no IPAM reservation holds:
 * left when a DEL ran without the result (a CLI killed mid-ADD by an older
 * barepod). The firewall adds its rules after the address is reserved and
 * DEL removes them before it is released, so a rule of a free address is
 * stale. The rules are read before the reservations, and each is checked
 * again right before it goes.
 */
export async function removeStaleFirewallRules(subnets: string[], reserved: () => Set<string>): Promise<string[]> {
  const cidrs = subnets.map(parseCidr4).filter((c): c is Cidr4 => c !== undefined);
  if (cidrs.length === 0) return [];
  const candidates: [string, string][] = [];
  for (const line of await savedLines('filter')) {
    if (!line.startsWith('-A CNI-FORWARD ')) continue;
    const ip = / -[ds] (\d+\.\d+\.\d+\.\d+)\/32 /.exec(line)?.[1];
    const addr = ip ? parseCidr4(`${ip}/32`) : undefined;
    if (ip && addr && cidrs.some((c) => overlaps(c, addr))) candidates.push([ip, line]);
  }
  const removed: string[] = [];
  for (const [ip, rule] of candidates) {
    if (reserved().has(ip)) continue;
    if (await deleteSavedRule('filter', rule)) removed.push(`filter: ${rule}`);
  }
  return removed;
}

/** The container ids named by the comments of iptables rules (bridge's masquerade, portmap's DNAT) that start with a prefix: network → ids. */
export async function commentedIds(idPrefix: string): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const table of ['nat', 'filter'] as const) {
    for (const m of (await savedLines(table)).join('\n').matchAll(/name: \\"([^"\\]+)\\" id: \\"([^"\\]+)\\"/g)) {
      if (!m[2]!.startsWith(idPrefix)) continue;
      if (!out.has(m[1]!)) out.set(m[1]!, new Set());
      out.get(m[1]!)!.add(m[2]!);
    }
  }
  return out;
}
