import type { Command } from 'commander';
import { DEFAULT_NETWORK } from '../../model.js';
import { subnetsOf } from '../../plan/network.js';
import { listNetworks, loadNetwork, netConfDir } from '../../runtime/cni/conflist-store.js';
import { reservations } from '../../runtime/cni/ipam-reservations.js';
import { printJson, printTable } from '../output.js';

/** `barepod network ls|inspect`: the CNI conflists pods can use (in /etc/barepod/net.d, user-editable). */
export function registerNetwork(program: Command): void {
  const network = program
    .command('network')
    .description(`the CNI networks pods can join (conflists in ${netConfDir()}; "${DEFAULT_NETWORK}" is created on first use)`);

  network
    .command('ls')
    .alias('list')
    .description('list the networks: name, plugins, subnet, addresses in use, file')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  barepod network ls\n  barepod network ls --json')
    .action((o: { json?: boolean }) => {
      const rows = listNetworks().map((n) => ({
        name: n.list.name,
        plugins: n.list.plugins.map((p) => p.type),
        subnets: subnetsOf(n.list),
        reserved: reservations(n.list.name).size,
        file: n.file,
      }));
      const special = [
        { name: 'none', plugins: [], subnets: [], reserved: 0, file: '(built in: a private netns with only lo)' },
        { name: 'host', plugins: [], subnets: [], reserved: 0, file: "(built in: the host's netns)" },
      ];
      if (o.json) return printJson(rows);
      printTable(
        ['NAME', 'PLUGINS', 'SUBNET', 'IN USE', 'FILE'],
        [...rows, ...special].map((r) => [r.name, r.plugins.join(',') || '-', r.subnets.join(',') || '-', r.plugins.length ? String(r.reserved) : '-', r.file]),
      );
    });

  network
    .command('inspect')
    .argument('<name>', 'network name')
    .description("print a network's conflist as barepod passes it to the plugins, with its file and reservations")
    .option('--json', 'print as JSON (the default)')
    .addHelpText('after', '\nExamples:\n  barepod network inspect barepod\n  barepod network inspect barepod | jq .conflist.plugins[0].ipam')
    .action((name: string) => {
      const n = loadNetwork(name);
      const inUse = [...reservations(n.list.name)].map(([ip, containerId]) => ({ ip, containerId }));
      printJson({ name: n.list.name, file: n.file, subnets: subnetsOf(n.list), reservations: inUse, conflist: n.list });
    });
}
