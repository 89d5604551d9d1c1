/**
 * The host's neighbour (ARP) table: removing entries that name a MAC the
 * pod's address no longer has, so the next packet resolves it afresh
 * instead of going to a veth that is gone (for up to a minute otherwise).
 */
import fs from 'node:fs';
import { parseProcArp, staleNeighbours, type Neighbour } from '../plan/network.js';
import { runTool } from './exec.js';

/** Deletes the host's neighbour entries for `ip` that carry a MAC other than `mac`; returns them. Best effort: a failure leaves the kernel to expire the entry. */
export async function forgetStaleNeighbours(ip: string, mac: string | undefined): Promise<Neighbour[]> {
  let table: Neighbour[];
  try {
    table = parseProcArp(fs.readFileSync('/proc/net/arp', 'utf8'));
  } catch {
    return [];
  }
  const stale = staleNeighbours(table, ip, mac);
  for (const n of stale) await runTool(['ip', '-4', 'neigh', 'del', n.ip, 'dev', n.dev]).catch(() => undefined);
  return stale;
}
