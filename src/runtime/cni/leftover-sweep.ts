/**
 * Leftover sweeping (gc): the iptables rules and chains CNI plugins made for
 * containers that no longer exist, found by the comment naming the container
 * id, by the per-container chain names, or (the firewall plugin's, which carry
 * no comment) by an address no IPAM reservation holds.
 */
import { firewallAddress, ruleOwner } from '../../plan/iptables-save.js';
import { overlaps, parseCidr4, ruleComment, type Cidr4 } from '../../plan/network.js';
import { runTool } from '../exec.js';
import { findBinary } from '../host.js';
import { deleteSavedRule, savedTable } from './iptables.js';

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
    const saved = await savedTable(table);
    const rules = saved.rules.filter(
      (l) =>
        l.includes(comment) || (table === 'filter' && ip && l.startsWith('-A CNI-FORWARD ') && (l.includes(` -d ${ip}/32 `) || l.includes(` -s ${ip}/32 `))),
    );
    for (const rule of rules) {
      await deleteSavedRule(table, rule);
      removed.push(`${table}: ${rule}`);
    }
    for (const chain of chains) {
      if (!saved.chains.includes(chain)) continue;
      for (const l of saved.rules.filter((x) => x.includes(`-j ${chain}`))) await deleteSavedRule(table, l);
      await runTool([ipt, '-w', '-t', table, '-F', chain]).catch(() => undefined);
      await runTool([ipt, '-w', '-t', table, '-X', chain]).catch(() => undefined);
      removed.push(`${table}: chain ${chain}`);
    }
  }
  return removed;
}

/**
 * The firewall plugin's rules (CNI-FORWARD, no comment, found only by the
 * address) for addresses of the given subnets that no IPAM reservation holds:
 * left when a DEL ran without the result (a CLI killed mid-ADD by an older
 * barepod). The firewall adds its rules after the address is reserved and
 * DEL removes them before it is released, so a rule of a free address is
 * stale. The rules are read before the reservations, and a rule whose
 * address is free is checked again right before it goes.
 */
export async function removeStaleFirewallRules(subnets: string[], reserved: () => Set<string>): Promise<string[]> {
  const cidrs = subnets.map(parseCidr4).filter((c): c is Cidr4 => c !== undefined);
  if (cidrs.length === 0) return [];
  const candidates: [string, string][] = [];
  for (const rule of (await savedTable('filter')).rules) {
    const ip = firewallAddress(rule);
    const addr = ip ? parseCidr4(`${ip}/32`) : undefined;
    if (ip && addr && cidrs.some((c) => overlaps(c, addr))) candidates.push([ip, rule]);
  }
  const removed: string[] = [];
  // one read of the reservations for every rule (a directory scan, one file per address: per rule it made gc
  // O(pods²)); an address reserved then is skipped, one free then is checked again right before its rule goes
  const before = candidates.length ? reserved() : new Set<string>();
  for (const [ip, rule] of candidates) {
    if (before.has(ip) || reserved().has(ip)) continue;
    if (await deleteSavedRule('filter', rule)) removed.push(`filter: ${rule}`);
  }
  return removed;
}

/** The container ids named by the comments of iptables rules (bridge's masquerade, portmap's DNAT) that start with a prefix: network → ids. */
export async function commentedIds(idPrefix: string): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const table of ['nat', 'filter'] as const) {
    for (const rule of (await savedTable(table)).rules) {
      const owner = ruleOwner(rule);
      if (!owner || !owner.id.startsWith(idPrefix)) continue;
      if (!out.has(owner.network)) out.set(owner.network, new Set());
      out.get(owner.network)!.add(owner.id);
    }
  }
  return out;
}
