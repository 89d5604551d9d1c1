/**
 * IPAM reservations: host-local keeps one file per reserved address (holding
 * "<container id>\r\n<ifname>") in a directory per network.
 */
import fs from 'node:fs';
import path from 'node:path';

/** host-local's reservations: one file per IP holding "<container id>\r\n<ifname>". */
export const ipamDir = (network: string): string => path.join(process.env.BAREPOD_IPAM_DIR ?? '/var/lib/cni/networks', network);

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
