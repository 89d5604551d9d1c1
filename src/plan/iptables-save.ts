/**
 * The one reader of `iptables-save -t TABLE` output (pure): which chains a
 * table declares and which rules it holds, as iptables-save prints them, and
 * what barepod looks for in a rule (its comment's owner, a firewall rule's
 * address). The runtime's leftover sweeps and the test harness's leak check
 * both read iptables through it.
 */

/** One table of an iptables-save dump. */
export interface SavedTable {
  /** the chains it declares (":NAME POLICY [packets:bytes]"), by name */
  chains: string[];
  /** its rules ("-A CHAIN …"), verbatim and in order: a rule deleted goes back to iptables-restore as printed */
  rules: string[];
}

/** Parses `iptables-save -t TABLE` output. */
export function parseIptablesSave(text: string): SavedTable {
  const chains: string[] = [];
  const rules: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith(':')) chains.push(line.slice(1).split(' ')[0]!);
    else if (line.startsWith('-A ')) rules.push(line);
  }
  return { chains, rules };
}

/** The network and container id a rule's comment names (bridge's masquerade, portmap's DNAT: `name: "NET" id: "ID"`). */
export function ruleOwner(rule: string): { network: string; id: string } | undefined {
  const m = /name: \\"([^"\\]+)\\" id: \\"([^"\\]+)\\"/.exec(rule);
  return m ? { network: m[1]!, id: m[2]! } : undefined;
}

/** The address of a firewall plugin rule (CNI-FORWARD, no comment: found only by its -d/-s address), or undefined for any other rule. */
export function firewallAddress(rule: string): string | undefined {
  if (!rule.startsWith('-A CNI-FORWARD ')) return undefined;
  return / -[ds] (\d+\.\d+\.\d+\.\d+)\/32 /.exec(rule)?.[1];
}

/** "tcp/8080" for every host port a portmap DNAT rule (CNI-HOSTPORT-DNAT) of the nat table forwards. */
export function forwardedPortsOf(nat: SavedTable): Set<string> {
  const out = new Set<string>();
  for (const rule of nat.rules) {
    if (!rule.startsWith('-A CNI-HOSTPORT-DNAT ')) continue;
    const proto = /-p (tcp|udp)/.exec(rule)?.[1];
    const ports = /--dports (\S+)/.exec(rule)?.[1];
    if (proto && ports) for (const port of ports.split(',')) out.add(`${proto}/${port}`);
  }
  return out;
}
