/**
 * Pure CNI planning: conflists, the per-plugin configs of ADD and DEL (per
 * the CNI spec: ADD in order with prevResult, DEL in reverse), IPv4 subnet
 * arithmetic, and the names the plugins derive from a container id. No I/O.
 */
import { createHash } from 'node:crypto';
import { BarepodError } from '../errors.js';
import type { HostAlias, NetworkDefinition, NetworkKind, PortMapping } from '../model.js';
import { rootHash } from './paths.js';

/** One plugin of a conflist: its type and its own keys. */
export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A CNI network configuration list (`*.conflist`). */
export interface Conflist {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: PluginConf[];
}

/** A CNI result (the spec's, 1.0.0), as much of it as barepod reads. */
export interface CniResult {
  cniVersion?: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { interface?: number; address: string; gateway?: string }[];
  routes?: { dst: string; gw?: string }[];
  dns?: unknown;
}

/** Values a runtime passes to plugins that declare the capability (CNI CONVENTIONS.md). */
export interface RuntimeConfig {
  portMappings?: { hostPort: number; containerPort: number; protocol: string; hostIP?: string }[];
  ips?: string[];
  /** the MAC the pod's interface gets (bridge: capability `mac`), so a recreated sandbox keeps the one of its first ADD */
  mac?: string;
}

/** The network modes a name picks without a conflist: a Record over NetworkKind, so a new mode is named here or does not compile. */
const MODE_NAMES: Record<NetworkKind, string | undefined> = { none: 'none', host: 'host', cni: undefined };
/** Names that are not CNI networks. */
export const SPECIAL_NETWORKS = Object.values(MODE_NAMES).filter((n): n is string => n !== undefined);
/** Whether a --network value names a CNI conflist (not none or host). */
export const isCniNetwork = (name: string): boolean => !SPECIAL_NETWORKS.includes(name);

/** The network a name picks (`none`, `host`, else a CNI network's conflist), with its host ports (a CNI network's only). */
export function networkNamed(name: string, ports: PortMapping[] = []): NetworkDefinition {
  if (isCniNetwork(name)) return { kind: 'cni', name, ports };
  return { kind: name as Exclude<NetworkKind, 'cni'> };
}

/** The interface name inside the pod, as Kubernetes uses. */
export const POD_IFNAME = 'eth0';
/** The default network's bridge on the host. */
export const DEFAULT_BRIDGE = 'barepod0';
/** barepod's own subnet unless BAREPOD_SUBNET says otherwise: podman's default /16, checked against the host's routes before use. */
export const DEFAULT_SUBNET = '10.88.0.0/16';

/** The default conflist: bridge + host-local IPAM, then portmap (hostPort) and firewall (FORWARD accept). */
export function defaultConflist(name: string, subnet: string, bridge = DEFAULT_BRIDGE): Conflist {
  return {
    cniVersion: '1.0.0',
    name,
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        capabilities: { ips: true, mac: true },
        ipam: { type: 'host-local', ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }] },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'firewall' },
    ],
  };
}

/** Parses and checks a conflist's text; every error names the file and the field. */
export function parseConflist(text: string, file: string): Conflist {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BarepodError('invalid-value', `${file}: not valid JSON: ${(e as Error).message}`, { hint: `fix or remove ${file}`, cause: e });
  }
  const bad = (what: string) =>
    new BarepodError('invalid-value', `${file}: ${what}`, { hint: `fix ${file} (a CNI conflist: {"cniVersion", "name", "plugins": [{"type": ...}]})` });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('must be a JSON object');
  const o = raw as Record<string, unknown>;
  if (typeof o.name !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(o.name)) throw bad('"name" must be a network name (letters, digits, _ . -)');
  if (typeof o.cniVersion !== 'string') throw bad('"cniVersion" is missing');
  if (!Array.isArray(o.plugins) || o.plugins.length === 0) throw bad('"plugins" must be a non-empty list');
  o.plugins.forEach((p, i) => {
    if (typeof p !== 'object' || p === null || typeof (p as PluginConf).type !== 'string' || !/^[a-zA-Z0-9_.-]+$/.test((p as PluginConf).type)) {
      throw bad(`plugins[${i}].type must be a plugin name`);
    }
  });
  return o as unknown as Conflist;
}

/**
 * The config one plugin reads on stdin: the list's cniVersion and name, the
 * plugin's keys, the runtime values for the capabilities it declares, and
 * the previous plugin's result.
 */
export function pluginConfig(list: Conflist, plugin: PluginConf, rc: RuntimeConfig, prevResult?: CniResult): Record<string, unknown> {
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, on] of Object.entries(plugin.capabilities ?? {})) {
    const value = (rc as Record<string, unknown>)[cap];
    if (on && value !== undefined && !(Array.isArray(value) && value.length === 0)) runtimeConfig[cap] = value;
  }
  return {
    ...plugin,
    ...macArgs(plugin, rc.mac),
    cniVersion: list.cniVersion,
    name: list.name,
    ...(Object.keys(runtimeConfig).length ? { runtimeConfig } : {}),
    ...(prevResult ? { prevResult } : {}),
  };
}

/**
 * A bridge plugin whose conflist does not declare the `mac` capability (a
 * conflist barepod wrote before it did, or a user's) still takes a MAC in
 * `args.cni.mac` (CNI CONVENTIONS.md; bridge reads it since plugins 1.0):
 * it gets the pod's MAC there, merged with any args of its own.
 */
function macArgs(plugin: PluginConf, mac: string | undefined): { args?: Record<string, unknown> } {
  if (!mac || plugin.type !== 'bridge' || plugin.capabilities?.mac) return {};
  const args = typeof plugin.args === 'object' && plugin.args !== null ? (plugin.args as Record<string, unknown>) : {};
  const cni = typeof args.cni === 'object' && args.cni !== null ? (args.cni as Record<string, unknown>) : {};
  return { args: { ...args, cni: { ...cni, mac } } };
}

/** Whether a text is a unicast MAC address as the plugins report it ("0a:58:…", lower-case hex). */
export const isUnicastMac = (mac: string): boolean =>
  /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac) && (parseInt(mac.slice(0, 2), 16) & 1) === 0 && !/^(00:){5}00$/.test(mac);

/** Port mappings as the portmap plugin's runtimeConfig wants them. */
export const portMappingsOf = (ports: PortMapping[]): NonNullable<RuntimeConfig['portMappings']> =>
  ports.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, ...(p.hostIP ? { hostIP: p.hostIP } : {}) }));

/**
 * CNI_CONTAINERID of a pod: "barepod-<8 hex of the state root>-<pod>".
 * The state root is in it so two roots (tests, users) never share an id in
 * the plugins' global state, and gc can tell which reservations are its own.
 */
export function cniContainerId(stateRoot: string, pod: string): string {
  return `${cniIdPrefix(stateRoot)}${pod}`;
}
/** The part of every container id that names the state root: gc's test of "mine". */
export const cniIdPrefix = (stateRoot: string): string => `barepod-${rootHash(stateRoot)}-`;

/**
 * The iptables chains the plugins name after a network and container id
 * (plugins/pkg/utils FormatChainName: "CNI-" + sha512(name+id), 28 chars):
 * bridge's ipMasq chain and portmap's DNAT chain. Measured on 1.1.1.
 */
export function chainNames(network: string, containerId: string): { masq: string; dnat: string } {
  const h = createHash('sha512')
    .update(network + containerId)
    .digest('hex');
  return { masq: `CNI-${h}`.slice(0, 28), dnat: `CNI-DN-${h}`.slice(0, 28) };
}

/** The comment bridge and portmap put on their per-container rules. */
export const ruleComment = (network: string, containerId: string): string => `name: "${network}" id: "${containerId}"`;

/** What inspect shows from a result: the pod's address, gateway and the host end of its veth. */
export function summarizeResult(result: CniResult, ifname: string): { ip?: string; cidr?: string; gateway?: string; hostVeth?: string; mac?: string } {
  const ifaces = result.interfaces ?? [];
  const podIf = ifaces.findIndex((i) => i.name === ifname && i.sandbox);
  const v4 = (result.ips ?? []).find((x) => x.address.includes('.') && (podIf < 0 || x.interface === undefined || x.interface === podIf));
  // the bridge comes first, then the veth (no sandbox), then the pod's interface
  const hostVeth = ifaces
    .filter((i) => !i.sandbox)
    .map((i) => i.name)
    .find((n) => n.startsWith('veth'));
  const mac = podIf >= 0 ? ifaces[podIf]!.mac?.toLowerCase() : undefined;
  return {
    ...(v4 ? { ip: v4.address.split('/')[0]!, cidr: v4.address } : {}),
    ...(v4?.gateway ? { gateway: v4.gateway } : {}),
    ...(hostVeth ? { hostVeth } : {}),
    ...(mac && isUnicastMac(mac) ? { mac } : {}),
  };
}

/** One entry of the host's neighbour table (/proc/net/arp). */
export interface Neighbour {
  ip: string;
  mac: string;
  dev: string;
  /** set by an administrator (ATF_PERM): never barepod's to remove */
  permanent: boolean;
}

/** Parses /proc/net/arp ("IP address  HW type  Flags  HW address  Mask  Device"). */
export function parseProcArp(text: string): Neighbour[] {
  const out: Neighbour[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    out.push({ ip: f[0]!, mac: f[3]!.toLowerCase(), dev: f[5]!, permanent: (parseInt(f[2]!, 16) & 0x4) !== 0 });
  }
  return out;
}

/**
 * The host's neighbour entries for a pod's address that name another MAC
 * than the pod's interface has now (a sandbox recreated with a new veth, or
 * an address that belonged to another pod): until they go, the host sends
 * the pod's traffic to a MAC nobody has. Incomplete entries (no MAC yet)
 * are harmless, and permanent ones an administrator's: both are left alone.
 */
export function staleNeighbours(table: Neighbour[], ip: string, mac: string | undefined): Neighbour[] {
  return table.filter((n) => n.ip === ip && !n.permanent && n.mac !== '00:00:00:00:00:00' && n.mac !== mac?.toLowerCase());
}

/** A minimal prevResult for a DEL when only the address is known (gc after a reboot: the IPAM file's name). */
export function resultForAddress(ifname: string, cidr: string): CniResult {
  return { cniVersion: '1.0.0', interfaces: [{ name: ifname }], ips: [{ interface: 0, address: cidr }] };
}

// --- IPv4 subnets -----------------------------------------------------------

/** An IPv4 subnet: its base address as an unsigned 32-bit number and its prefix length. */
export interface Cidr4 {
  base: number;
  bits: number;
}

/** Parses "a.b.c.d/n" (IPv4); undefined for anything else (IPv6 ranges are left to the plugins). */
export function parseCidr4(text: string): Cidr4 | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const addr = (((octets[0]! << 24) >>> 0) + (octets[1]! << 16) + (octets[2]! << 8) + octets[3]!) >>> 0;
  return { base: (addr & maskOf(bits)) >>> 0, bits };
}

const maskOf = (bits: number): number => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);

/** Whether two IPv4 subnets share any address. */
export function overlaps(a: Cidr4, b: Cidr4): boolean {
  const bits = Math.min(a.bits, b.bits);
  return (a.base & maskOf(bits)) >>> 0 === (b.base & maskOf(bits)) >>> 0;
}

/** "a.b.c.d/n" of a subnet. */
export const formatCidr4 = (c: Cidr4): string => `${[24, 16, 8, 0].map((s) => (c.base >>> s) & 255).join('.')}/${c.bits}`;

/** The IPv4 subnets a conflist's IPAM hands out (host-local `ranges` or `subnet`). */
export function subnetsOf(list: Conflist): string[] {
  const out: string[] = [];
  for (const p of list.plugins) {
    const ipam = p.ipam as { subnet?: string; ranges?: { subnet?: string }[][] } | undefined;
    if (!ipam) continue;
    if (typeof ipam.subnet === 'string') out.push(ipam.subnet);
    for (const set of Array.isArray(ipam.ranges) ? ipam.ranges : [])
      for (const r of Array.isArray(set) ? set : []) if (typeof r?.subnet === 'string') out.push(r.subnet);
  }
  return out.filter((s) => parseCidr4(s));
}

/** The bridge devices a conflist makes (their routes are the network's own, not a conflict). */
export const bridgesOf = (list: Conflist): string[] =>
  list.plugins.filter((p) => p.type === 'bridge').map((p) => (typeof p.bridge === 'string' ? p.bridge : 'cni0'));

/** A host route, as /proc/net/route has it. */
export interface HostRoute {
  dev: string;
  dst: Cidr4;
}

/** Host routes (default routes aside) that overlap a subnet, on devices other than the network's own. */
export function conflictingRoutes(subnet: string, routes: HostRoute[], ownDevices: string[]): HostRoute[] {
  const c = parseCidr4(subnet);
  if (!c) return [];
  return routes.filter((r) => r.dst.bits > 0 && !ownDevices.includes(r.dev) && overlaps(c, r.dst));
}

/** Parses /proc/net/route (little-endian hex destinations and masks). */
export function parseProcRoutes(text: string): HostRoute[] {
  const le = (hex: string) => {
    const n = parseInt(hex, 16) >>> 0;
    return (((n & 0xff) << 24) | (((n >>> 8) & 0xff) << 16) | (((n >>> 16) & 0xff) << 8) | ((n >>> 24) & 0xff)) >>> 0;
  };
  const out: HostRoute[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !f[0]) continue;
    const mask = le(f[7]!);
    let bits = 0;
    while (bits < 32 && mask & (0x80000000 >>> bits)) bits++;
    out.push({ dev: f[0], dst: { base: (le(f[1]!) & maskOf(bits)) >>> 0, bits } });
  }
  return out;
}

// --- CLI input --------------------------------------------------------------

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const isIPv4 = (s: string) => IPV4.test(s) && s.split('.').every((o) => Number(o) <= 255);
const isIP = (s: string) => isIPv4(s) || (/^[0-9a-fA-F:]+$/.test(s) && s.includes(':'));

/** Parses `-p [hostIP:]hostPort:containerPort[/tcp|udp]` (podman's and docker's form, one port each). */
export function parsePublish(text: string): PortMapping {
  const bad = (why: string) =>
    new BarepodError('invalid-value', `--publish "${text}": ${why}`, {
      hint: 'use [hostIP:]hostPort:containerPort[/tcp|udp], e.g. -p 8080:80 or -p 127.0.0.1:5353:53/udp',
    });
  const [spec, proto = 'tcp', ...rest] = text.split('/');
  if (rest.length || (proto !== 'tcp' && proto !== 'udp')) throw bad('the protocol must be tcp or udp');
  const parts = (spec ?? '').split(':');
  if (parts.length < 2 || parts.length > 3) throw bad('needs hostPort:containerPort');
  const [hostIP, hostPort, containerPort] = parts.length === 3 ? parts : ['', ...parts];
  if (hostIP && !isIPv4(hostIP)) throw bad(`"${hostIP}" is not an IPv4 address`);
  const port = (s: string | undefined, what: string) => {
    if (!s || !/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 65535) throw bad(`${what} "${s ?? ''}" must be a port number 1-65535`);
    return Number(s);
  };
  return { hostIP: hostIP ?? '', hostPort: port(hostPort, 'hostPort'), containerPort: port(containerPort, 'containerPort'), protocol: proto };
}

/** What an /etc/hosts name (--add-host, hostAliases) may be: nothing that could end the line or start another field. */
export const HOST_NAME_RULE = "at most 253 characters: letters, digits, '-' and '.', starting and ending with a letter or digit";

/** Whether `name` may go into /etc/hosts as a host name: one field, no whitespace, no line break, no comment. */
export function isHostName(name: string): boolean {
  return name.length <= 253 && /^[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?$/.test(name);
}

/** Parses `--add-host name[;name…]:ip` (podman's form; the IP may be IPv6, so split at the first colon). */
export function parseAddHost(text: string): HostAlias {
  const i = text.indexOf(':');
  const names = i < 0 ? [] : text.slice(0, i).split(';').filter(Boolean);
  const ip = i < 0 ? '' : text.slice(i + 1);
  const bad = (why: string) =>
    new BarepodError('invalid-value', `--add-host ${JSON.stringify(text)}: ${why}`, { hint: 'use --add-host NAME:IP, e.g. --add-host db.local:10.88.0.7' });
  if (!names.length || !ip) throw bad('needs NAME:IP');
  if (!isIP(ip)) throw bad(`${JSON.stringify(ip)} is not an IP address`);
  for (const n of names) if (!isHostName(n)) throw bad(`${JSON.stringify(n)} is not a host name (${HOST_NAME_RULE})`);
  return { ip, hostnames: names };
}

/** Checks a pod's network settings (`--network`, `--publish`) against each other: ports need a CNI network; two mappings never share a host port. */
export function validateNetwork(name: string, ports: PortMapping[]): NetworkDefinition {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) {
    throw new BarepodError('invalid-value', `--network "${name}": not a network name`, { hint: 'use barepod, none, host or a name from `barepod network ls`' });
  }
  const net = networkNamed(name, ports);
  if (ports.length && net.kind !== 'cni') {
    throw new BarepodError('invalid-value', `--publish needs a CNI network, not --network ${name}`, {
      hint: net.kind === 'host' ? 'a host-network pod listens on the host directly: drop -p' : 'use --network barepod (the default)',
    });
  }
  const seen = new Set<string>();
  for (const p of ports) {
    const key = `${p.protocol}/${p.hostPort}`;
    if (seen.has(key)) throw new BarepodError('invalid-value', `--publish: host port ${p.hostPort}/${p.protocol} is mapped twice`);
    seen.add(key);
  }
  return net;
}
