/**
 * The conflist store: the networks barepod knows are conflist files in one
 * user-editable directory; the default one is written on first use, refused
 * when its subnet would shadow a host route.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BarepodError } from '../../errors.js';
import { DEFAULT_NETWORK } from '../../model.js';
import {
  bridgesOf,
  conflictingRoutes,
  DEFAULT_SUBNET,
  defaultConflist,
  formatCidr4,
  parseConflist,
  parseProcRoutes,
  subnetsOf,
  type Conflist,
} from '../../plan/network.js';
import { writeFileAtomic } from '../state.js';

/** Where conflists live (user-editable); BAREPOD_NET_DIR moves it (tests). */
export const netConfDir = (): string => process.env.BAREPOD_NET_DIR ?? '/etc/barepod/net.d';

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
