/**
 * A pod's network: the pinned netns, CNI ADD/DEL with the stored config and
 * result, and the per-pod /etc files. The attachment is written to the pod
 * dir before ADD, so a crash mid-ADD, a failed DEL or a dead pause can
 * always be undone later (by `pod rm` or `gc`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { BarepodError, describeError } from '../errors.js';
import { hostPortsOf, type NetworkAttachment, type PodDefinition } from '../model.js';
import {
  chainNames,
  cniContainerId,
  cniIdPrefix,
  isUnicastMac,
  subnetsOf,
  POD_IFNAME,
  portMappingsOf,
  resultForAddress,
  summarizeResult,
  type CniResult,
  type Conflist,
  type RuntimeConfig,
} from '../plan/network.js';
import { hostsFile, hostsWithAliases, resolvConf } from '../plan/pod-files.js';
import { checkRoutes, listNetworks, loadNetwork, type NetworkConfig } from '../runtime/cni/conflist-store.js';
import { deleteLink, labelledLinks, labelLink } from '../runtime/cni/host-links.js';
import { allReservedAddresses, reservations } from '../runtime/cni/ipam-reservations.js';
import { commentedIds, removeRulesOf, removeStaleFirewallRules } from '../runtime/cni/leftover-sweep.js';
import { checkPrerequisites, cniAdd, cniDel } from '../runtime/cni/plugin-invocation.js';
import { isMounted, pinNetns, unpinNetns } from '../runtime/mounts.js';
import { forgetStaleNeighbours } from '../runtime/neighbour.js';
import { readTextIfThere, writeFileAtomic } from '../runtime/state.js';
import type { Rollback } from './rollback.js';
import type { Runtime } from './runtime.js';
import { explain, explaining, explainResult, explainStep } from '../runtime/explain.js';
import { networkTitle } from '../plan/narration.js';

/** network.json: what DEL needs, whatever happened to the conflist file or the pause since. */
interface StoredAttachment {
  attachment: NetworkAttachment;
  file: string;
  config: Conflist;
  /** the runtime config (capability args: portMappings, ips) of the last ADD: DEL gets the same, as libcni caches it */
  runtimeConfig?: RuntimeConfig;
  /** the result of the last plugin of the chain that returned one, stored as soon as it returned */
  result?: CniResult;
}

/** Loads the pod's network and checks it can be used, before anything is created. */
export function prepareNetwork(def: PodDefinition): NetworkConfig | undefined {
  if (def.network.kind !== 'cni') return undefined;
  const cfg = loadNetwork(def.network.name);
  checkPrerequisites(cfg);
  checkRoutes(cfg.list, cfg.file);
  return cfg;
}

/**
 * Attaches a freshly started sandbox to its network: pins the pause's netns,
 * runs CNI ADD (asking for `preferIp` and `preferMac`, the pod's previous
 * address and MAC, so a recreated sandbox looks the same to its neighbours)
 * and writes the pod's /etc files. Pushes the undo (DEL, unpin) before ADD:
 * DEL is idempotent and cleans a partial ADD.
 */
export async function attachNetwork(
  rt: Runtime,
  rb: Rollback,
  def: PodDefinition,
  pausePid: number,
  preferIp?: string,
  preferMac?: string,
): Promise<NetworkAttachment | undefined> {
  const paths = rt.pod(def.name).paths;
  const cfg = prepareNetwork(def);
  return explainStep(
    () =>
      networkTitle(
        def,
        paths.netns,
        cfg?.list.plugins.map((p) => p.type),
      ),
    async () => {
      if (!cfg) {
        writePodFiles(rt, def, undefined);
        return undefined;
      }
      return addNetwork(rt, rb, def, cfg, pausePid, preferIp, preferMac);
    },
  );
}

/** CNI ADD for a pod's netns (see attachNetwork). */
async function addNetwork(
  rt: Runtime,
  rb: Rollback,
  def: PodDefinition,
  cfg: NetworkConfig,
  pausePid: number,
  preferIp: string | undefined,
  preferMac: string | undefined,
): Promise<NetworkAttachment> {
  const paths = rt.pod(def.name).paths;
  if (explaining) explain(`pin the pause's netns with a bind mount, so CNI DEL can enter it even after the pause is gone`);
  const netnsInode = await pinNetns(pausePid, paths.netns);
  rb.push(`unpin ${paths.netns}`, () => unpinNetns(paths.netns));
  const attachment: NetworkAttachment = {
    network: cfg.list.name,
    containerId: cniContainerId(rt.settings.stateRoot, def.name),
    ifname: POD_IFNAME,
    netns: paths.netns,
    netnsInode,
    ports: hostPortsOf(def.network),
  };
  const rc: RuntimeConfig = { portMappings: portMappingsOf(hostPortsOf(def.network)) };
  const mac = preferMac && isUnicastMac(preferMac) ? preferMac : undefined;
  const stored: StoredAttachment = {
    attachment,
    file: cfg.file,
    config: cfg.list,
    runtimeConfig: { ...rc, ...(preferIp ? { ips: [preferIp] } : {}), ...(mac ? { mac } : {}) },
  };
  const save = () => writeFileAtomic(paths.network, JSON.stringify(stored, null, 2) + '\n');
  save();
  rb.push(`CNI DEL ${attachment.containerId}`, () => detachNetwork(rt, def.name));
  const args = { containerId: attachment.containerId, netns: paths.netns, ifname: POD_IFNAME };
  // each plugin's result is stored the moment it returns: DEL after a kill mid-chain has what the chain had so far
  const keep = (r: CniResult) => {
    stored.result = r;
    save();
  };
  let result: CniResult;
  if (explaining && mac) explain(`ask the bridge for the pod's MAC ${mac} again (CNI mac), so the host's neighbour entry for its address stays right`);
  try {
    result = await cniAdd(cfg, args, stored.runtimeConfig!, keep);
  } catch (e) {
    if (!preferIp && !mac) throw e;
    // the old address is taken meanwhile (or the IPAM or a plugin refuses the request): any address and MAC will do
    await cniDel(cfg, args, stored.runtimeConfig!, stored.result);
    stored.runtimeConfig = rc;
    delete stored.result;
    save();
    result = await cniAdd(cfg, args, rc, keep);
  }
  Object.assign(attachment, summarizeResult(result, POD_IFNAME));
  // the host may still map this address to a MAC nobody has now (a new MAC, or an address another pod had): forget it
  if (attachment.ip) {
    const stale = await forgetStaleNeighbours(attachment.ip, attachment.mac);
    if (explaining && stale.length)
      explain(
        `removed the host's neighbour entry ${stale.map((n) => `${n.ip} → ${n.mac} on ${n.dev}`).join(', ')}: the next packet resolves ${attachment.ip} afresh`,
      );
  }
  stored.result = result;
  save();
  if (attachment.hostVeth) labelLink(attachment.hostVeth, attachment.containerId);
  if (explaining) {
    explainResult(
      `got ${attachment.cidr ?? 'no IPv4 address'}${attachment.gateway ? ` (gateway ${attachment.gateway})` : ''} on ${POD_IFNAME}${attachment.hostVeth ? `; host end ${attachment.hostVeth}` : ''}`,
    );
    explain(`config and result kept in ${paths.network}, so DEL gets exactly what ADD had`);
  }
  writePodFiles(rt, def, attachment.ip);
  return attachment;
}

/** The interfaces of the pod's CNI result (inspect). */
export function storedResult(rt: Runtime, pod: string): CniResult | undefined {
  return readStored(rt.pod(pod).paths.network)?.result;
}

function readStored(file: string): StoredAttachment | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as StoredAttachment;
  } catch {
    return undefined;
  }
}

/**
 * CNI DEL of a pod's attachment, with the config and result ADD had, while
 * the pinned netns still exists (without it bridge's DEL leaks the
 * masquerade chain); then the pin goes. A failure keeps both for a retry.
 */
export async function detachNetwork(rt: Runtime, pod: string): Promise<void> {
  const paths = rt.pod(pod).paths;
  const stored = readStored(paths.network);
  if (!stored) {
    await unpinNetns(paths.netns);
    return;
  }
  const a = stored.attachment;
  const plugins = stored.config.plugins.map((p) => p.type).reverse();
  await explainStep(
    `Network: CNI DEL ${a.network} (${plugins.join(' → ')}, the reverse order) with the stored config and result, while the pinned netns ${a.netns} still exists`,
    async () => {
      // a pin that never got mounted (a crash right before) is no netns: DEL without one
      const netns = isMounted(a.netns) ? a.netns : '';
      const cfg: NetworkConfig = { file: stored.file, list: stored.config };
      // the runtime config ADD had (a record of an older barepod has only the ports)
      const rc = stored.runtimeConfig ?? { portMappings: portMappingsOf(a.ports) };
      await cniDel(cfg, { containerId: a.containerId, netns, ifname: a.ifname }, rc, stored.result);
      const ip = a.ip ?? (stored.result ? summarizeResult(stored.result, a.ifname).ip : undefined);
      if (!netns) await removeRulesOf(a.network, a.containerId, Object.values(chainNames(a.network, a.containerId)), ip);
      fs.rmSync(paths.network, { force: true });
      await unpinNetns(paths.netns);
    },
  );
}

/** The pod's /etc/hosts, resolv.conf and hostname, in its state dir (rewritten when the sandbox and its IP change). */
export function writePodFiles(rt: Runtime, def: PodDefinition, ip: string | undefined): void {
  const dir = rt.pod(def.name).paths.etc;
  fs.mkdirSync(dir, { recursive: true });
  const read = readTextIfThere;
  const hostNet = def.host?.includes('net') ?? false;
  const aliases = def.hostAliases ?? [];
  // a host-network pod sees the host's names (as the kubelet does), plus its aliases
  const hosts = hostNet ? hostsWithAliases(read('/etc/hosts') ?? '', aliases) : hostsFile(def.name, def.hostname, ip, aliases);
  const resolv = resolvConf(read('/etc/resolv.conf') ?? '', read('/run/systemd/resolve/resolv.conf'), hostNet);
  const write = (name: string, text: string) => {
    writeFileAtomic(path.join(dir, name), text);
    fs.chmodSync(path.join(dir, name), 0o644);
  };
  write('hosts', hosts);
  write('resolv.conf', resolv.text);
  write('hostname', `${def.hostname}\n`);
  if (explaining) explain(`wrote hosts, resolv.conf and hostname in ${dir}: every container gets them as bind mounts`);
}

/**
 * gc's network sweep: reservations, veths and iptables rules that carry a
 * container id of this state root (barepod-<root hash>-<pod>) for a pod the
 * root no longer has, e.g. after a reboot emptied /run/barepod. DEL without
 * a netns releases the IPAM reservation (and portmap's and firewall's
 * rules); the masquerade chain bridge then leaves is removed by name.
 * Other roots' and other tools' entries are never touched. `claim` runs
 * each release for a pod (gc's: under the pod's lock, and not at all when
 * the pod exists again by then) and says whether it did.
 */
export async function sweepNetworks(
  rt: Runtime,
  listPods: () => string[],
  claim: (pod: string, fn: () => Promise<void>) => Promise<boolean> = async (_p, fn) => (await fn(), true),
): Promise<string[]> {
  const done: string[] = [];
  const prefix = cniIdPrefix(rt.settings.stateRoot);
  const podOf = (cid: string) => (cid.startsWith(prefix) ? cid.slice(prefix.length) : undefined);
  let networks: NetworkConfig[] = [];
  try {
    networks = listNetworks();
  } catch {
    networks = []; // an unreadable conflist: nothing to release through it
  }
  // reservations and rules are read before the pods are listed: a pod dir exists before its ADD, so a pod being created now is listed
  const found = networks.map((cfg) => ({ cfg, reserved: reservations(cfg.list.name) }));
  const commented = await commentedIds(prefix);
  const links = labelledLinks();
  const livePods = new Set(listPods());
  for (const { cfg, reserved } of found) {
    const name = cfg.list.name;
    for (const [ip, cid] of reserved) {
      const pod = podOf(cid);
      if (!pod || livePods.has(pod)) continue;
      const ipam = cfg.list.plugins.find((p) => p.ipam)?.ipam as { ranges?: { subnet: string }[][] } | undefined;
      const bits = ipam?.ranges?.[0]?.[0]?.subnet.split('/')[1] ?? '32';
      // under the pod's lock, and only while no pod of that name exists (`claim` checks both)
      await claim(pod, async () => {
        try {
          await cniDel(cfg, { containerId: cid, netns: '', ifname: POD_IFNAME }, {}, resultForAddress(POD_IFNAME, `${ip}/${bits}`));
        } catch (e) {
          done.push(`could not release ${ip} of ${cid}: ${(e as Error).message}`);
          return;
        }
        await removeRulesOf(name, cid, Object.values(chainNames(name, cid)), ip);
        commented.get(name)?.delete(cid);
        done.push(`released ${ip} of ${cid} on network ${name}`);
      });
    }
  }
  // rules and chains named after a container id of this root whose pod is gone, its address released already
  // (a DEL that could not reach bridge's netns, or ran without the result)
  for (const [name, cids] of commented) {
    for (const cid of cids) {
      const pod = podOf(cid);
      if (!pod || livePods.has(pod)) continue;
      const removed = await removeRulesOf(name, cid, Object.values(chainNames(name, cid)));
      if (removed.length) done.push(`removed ${removed.length} iptables rules and chains of ${cid} on network ${name}`);
    }
  }
  // the firewall plugin's rules of addresses of these networks that nothing reserves any more
  const subnets = networks.flatMap((cfg) => subnetsOf(cfg.list));
  for (const rule of await removeStaleFirewallRules(subnets, allReservedAddresses)) done.push(`removed the firewall rule of a released address: ${rule}`);
  for (const [dev, cid] of links) {
    const pod = podOf(cid);
    if (!pod || livePods.has(pod)) continue;
    if (await claim(pod, () => deleteLink(dev).catch(() => undefined))) done.push(`removed link ${dev} of ${cid}`);
  }
  return done;
}

/** The error for a pod whose network teardown failed: what stays, and how to retry. */
export function detachFailed(pod: string, e: unknown): BarepodError {
  return new BarepodError('tool-failed', `pod "${pod}": CNI DEL failed: ${describeError(e).message}`, {
    hint: `the pinned netns and network.json stay in the pod dir; fix the cause and run \`barepod gc\` or \`barepod pod rm ${pod}\``,
    cause: e, // the plugin's argv and stderr, for --debug
  });
}
