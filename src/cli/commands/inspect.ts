import type { Command } from 'commander';
import { inspectPod, jobText } from '../../pod/views.js';
import { viewRuntimeFor } from '../common.js';
import type { NetworkKind } from '../../model.js';
import { formatPort, printJson, writeOut } from '../output.js';

/** Each network mode in inspect's words. */
const NETWORK_WORDS: Record<NetworkKind, string> = { cni: ' (CNI)', host: " (the host's network namespace)", none: ' (loopback only)' };

/** `barepod inspect`: the pod record with live namespace inodes, cgroup paths and limits. */
export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .argument('<pod>', 'pod name')
    .description('show a pod: network (IP, gateway, interfaces, ports), pause pid, namespace inodes per container, cgroup paths, limits')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  barepod inspect web\n  barepod inspect web --json | jq .containers[0].namespaces\n  barepod inspect web --json | jq -r .network.ip',
    )
    .action((pod: string, o: { json?: boolean }, cmd: Command) => {
      const view = inspectPod(viewRuntimeFor(cmd), pod);
      if (o.json) return printJson(view);
      const out: string[] = [];
      out.push(`Pod:        ${view.name}`, `State:      ${view.state}`, `Hostname:   ${view.hostname}`, `Shares:     ${view.share.join(', ')}`);
      if (view.owner) out.push(`Owner:      ${view.owner}`);
      if (view.job) {
        const j = view.job;
        out.push(`Job:        ${j.name}: ${jobText(j)}${j.activeDeadlineSeconds !== null ? `, activeDeadlineSeconds ${j.activeDeadlineSeconds}` : ''}`);
        if (j.startTime) out.push(`            started ${j.startTime}${j.completionTime ? `, ended ${j.completionTime}` : ''}`);
        if (j.message) out.push(`            ${j.message}`);
      }
      out.push(`Cgroup:     ${view.cgroupParent} (v${view.cgroupVersion})`);
      out.push(
        `Limits:     memory=${view.limits.requested.memory ?? 'none'} cpu=${view.limits.requested.cpu ?? 'none'} pids=${view.limits.requested.pids ?? 'none'}${requestWords(view.limits.requested.requests)}`,
      );
      const n = view.network;
      out.push(`Network:    ${n.name}${NETWORK_WORDS[n.mode]}`);
      if (n.ip) out.push(`IP:         ${n.cidr} gateway ${n.gateway ?? '-'}`);
      if (n.interfaces.length) out.push(`Interfaces: ${n.interfaces.map((i) => `${i.name} (${i.where}${i.mac ? ` ${i.mac}` : ''})`).join(', ')}`);
      if (n.ports.length) out.push(`Ports:      ${n.ports.map(formatPort).join(', ')}`);
      if (n.hostAliases.length)
        out.push(`Aliases:    ${n.hostAliases.map((h: { ip: string; hostnames: string[] }) => `${h.ip} ${h.hostnames.join(',')}`).join('; ')}`);
      if (n.netns)
        out.push(
          `Netns:      ${n.netns} (inode ${n.netnsInode}${n.liveNetnsInode !== null && n.liveNetnsInode !== n.netnsInode ? `, the pause's is now ${n.liveNetnsInode}` : ''})`,
        );
      out.push(`Sandbox:    pause pid ${view.sandbox.pid} (${view.sandbox.alive ? 'alive' : 'gone'}), runc id ${view.sandbox.id}`);
      const members = [
        {
          name: '(sandbox)',
          ns: view.sandbox.namespaces,
          cgroupPath: view.sandbox.cgroupPath,
          state: view.sandbox.alive ? 'running' : 'exited',
          pid: view.sandbox.pid as number | null,
        },
        ...view.containers.map((c) => ({ name: c.name, ns: c.namespaces, cgroupPath: c.cgroupPath, state: c.state, pid: c.pid })),
      ];
      const types = ['net', 'ipc', 'uts', 'pid', 'mnt', 'cgroup'];
      out.push('', "Namespaces (inode; * = shared with the sandbox, h = the host's):");
      out.push(['MEMBER'.padEnd(14), ...types.map((t) => t.padEnd(13))].join(' '));
      for (const m of members) {
        const cells = types.map((t) => {
          const v = (m.ns as Record<string, { inode: number; shared: boolean; host: boolean }>)[t];
          return (v ? `${v.inode}${v.host ? 'h' : m.name !== '(sandbox)' && v.shared ? '*' : ''}` : '-').padEnd(13);
        });
        out.push([m.name.padEnd(14), ...cells].join(' '));
      }
      out.push('', 'Containers:');
      for (const c of view.containers) {
        out.push(
          `  ${c.name}: ${c.state}${c.pid ? ` pid ${c.pid}` : ''}${c.exitCode !== null ? ` exit ${c.exitCode}` : ''}, pid namespace ${c.pidMode}, cgroup ${c.cgroupPath}, memory=${c.limits.memory ?? 'none'} cpu=${c.limits.cpu ?? 'none'} pids=${c.limits.pids ?? 'none'}${requestWords(c.limits.requests)}`,
        );
      }
      if (view.containers.length === 0) out.push('  (none)');
      writeOut(out.join('\n') + '\n');
    });
}

/** " requests: cpu=100m memory=64Mi", or '' without requests. */
function requestWords(r: { cpu: string | null; memory: string | null }): string {
  const words = [...(r.cpu ? [`cpu=${r.cpu}`] : []), ...(r.memory ? [`memory=${r.memory}`] : [])];
  return words.length ? ` requests: ${words.join(' ')}` : '';
}
