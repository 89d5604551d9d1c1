// gc's sweep of the firewall plugin's stale rules (src/runtime/cni/leftover-sweep.ts), iptables mocked:
// which rules go, and how often the IPAM reservations (a directory scan, one file per address) are read.
import { beforeEach, describe, expect, it, vi } from 'vitest';

const filter = { chains: ['CNI-FORWARD'], rules: [] as string[] };
const deleted: string[] = [];
vi.mock('../../src/runtime/cni/iptables.js', () => ({
  savedTable: async () => filter,
  deleteSavedRule: async (_table: string, rule: string) => (deleted.push(rule), true),
}));
const { removeStaleFirewallRules } = await import('../../src/runtime/cni/leftover-sweep.js');

const rules = (ip: string) => [`-A CNI-FORWARD -d ${ip}/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`, `-A CNI-FORWARD -s ${ip}/32 -j ACCEPT`];
const addresses = (n: number) => Array.from({ length: n }, (_, i) => `10.88.0.${i + 2}`);

beforeEach(() => {
  filter.rules = [];
  deleted.length = 0;
});

describe('removeStaleFirewallRules', () => {
  it('reads the reservations once for 50 reserved addresses (not once per rule) and removes none of their rules', async () => {
    const held = addresses(50);
    filter.rules = held.flatMap(rules);
    const reserved = vi.fn(() => new Set(held));
    expect(await removeStaleFirewallRules(['10.88.0.0/16'], reserved)).toEqual([]);
    expect(deleted).toEqual([]);
    expect(reserved).toHaveBeenCalledTimes(1);
  });

  it('removes the rules of a free address among 50 reserved ones, and only those', async () => {
    const held = addresses(51);
    const free = held.pop()!;
    filter.rules = [...held, free].flatMap(rules);
    const reserved = vi.fn(() => new Set(held));
    const removed = await removeStaleFirewallRules(['10.88.0.0/16'], reserved);
    expect(deleted).toEqual(rules(free));
    expect(removed).toEqual(rules(free).map((r) => `filter: ${r}`));
  });

  it('keeps the rule of an address reserved after the first read (a pod made meanwhile): a free one is checked again before its rule goes', async () => {
    const held = new Set(addresses(3));
    filter.rules = ['10.88.0.9', ...held].flatMap(rules);
    let reads = 0;
    const reserved = () => (++reads > 1 ? new Set([...held, '10.88.0.9']) : held);
    expect(await removeStaleFirewallRules(['10.88.0.0/16'], reserved)).toEqual([]);
    expect(deleted).toEqual([]);
  });

  it('leaves rules of addresses outside the given subnets alone', async () => {
    filter.rules = rules('192.168.7.2');
    expect(await removeStaleFirewallRules(['10.88.0.0/16'], () => new Set())).toEqual([]);
    expect(deleted).toEqual([]);
  });
});
