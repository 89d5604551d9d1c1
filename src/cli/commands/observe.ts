import type { Command } from 'commander';
import { parseDuration } from '../../duration.js';
import { BarepodError } from '../../errors.js';
import { cgroupTree, namespaceView, topView, watchStats } from '../../pod/observe.js';
import { runtimeFor } from '../common.js';
import { colourFor, printJson } from '../output.js';
import { cgroupTreeLines, namespaceLines, statsStreamLines, statsTableLines, topLines } from '../view-text.js';

const print = (lines: string[]): void => void process.stdout.write(lines.join('\n') + '\n');

/** The shortest --interval: shorter windows make cpu % mostly noise. */
const MIN_INTERVAL_MS = 100;

/** `barepod ns`, `cgroups`, `top`, `stats`: read-only views of a pod's namespaces, cgroups, processes and resource use. */
export function registerObserve(program: Command): void {
  program
    .command('ns')
    .argument('<pod>', 'pod name')
    .description(
      "show each member's namespaces (net, ipc, uts, pid, mnt, cgroup, user, time): the inode of /proc/<pid>/ns/<type> and whether it is the pause's (shared), its own, or the host's",
    )
    .option(
      '--json',
      'print as JSON: {pod, pausePid, types, host: {type: inode}, members: [{name, pid, state, namespaces: {type: {inode, relation: shared|own|host}}}]}',
    )
    .addHelpText(
      'after',
      `
The sandbox (pause) comes first: the namespaces it made for the pod are
"own" on its row; a container that joined one shows "shared". "host" means
the namespace barepod itself runs in (e.g. net of a --network host pod).
A member that is not running shows "-". Coloured on a terminal (NO_COLOR
turns it off).

Examples:
  barepod ns web
  barepod ns web --json | jq '.members[] | {name, pid: .namespaces.pid.relation}'`,
    )
    .action((pod: string, o: { json?: boolean }, cmd: Command) => {
      const view = namespaceView(runtimeFor(cmd), pod);
      if (o.json) return printJson(view);
      print(namespaceLines(view, colourFor(process.stdout)));
    });

  program
    .command('cgroups')
    .argument('<pod>', 'pod name')
    .description(
      "show the pod's cgroup tree (/barepod/<pod> and a child per member), each cgroup's limits and current usage (memory, cpu, pids) and its processes",
    )
    .option(
      '--json',
      'print as JSON: {pod, cgroupVersion, hierarchies, tree}; every value raw (bytes, µs, tasks; "max" = unlimited) with the file it was read from',
    )
    .addHelpText(
      'after',
      `
On cgroup v1 each controller is read from its own hierarchy (memory,
cpu, cpuacct, pids); on v2 from the unified tree. CPU usage is the total
CPU time used since the cgroup was made; the cpu limit is quota/period in
millicores (1000m = one CPU).

Examples:
  barepod cgroups web
  barepod cgroups web --json | jq '.tree.children[] | {name, mem: .usage.memoryBytes.value, limit: .limits.memoryBytes}'`,
    )
    .action((pod: string, o: { json?: boolean }, cmd: Command) => {
      const view = cgroupTree(runtimeFor(cmd), pod);
      if (o.json) return printJson(view);
      print(cgroupTreeLines(view));
    });

  program
    .command('top')
    .argument('<pod>', 'pod name')
    .description(
      'list the processes of every member (from its cgroup, so forked children too; and their zombie children): host pid, pid inside the pod, ppid, uid, state, RSS, command',
    )
    .option('--json', 'print as JSON: {pod, processes: [{container, pid, podPid, ppid, podPpid, uid, state, rssBytes, command}]}')
    .addHelpText(
      'after',
      `
POD PID is the pid the process has in its own pid namespace (the last field
of NSpid in /proc/<pid>/status): the pod's when the pod shares one, else
the container's. PPID is the parent's pid on the host.

Examples:
  barepod top web
  barepod top web --json | jq '.processes[] | select(.container == "app")'`,
    )
    .action((pod: string, o: { json?: boolean }, cmd: Command) => {
      const view = topView(runtimeFor(cmd), pod);
      if (o.json) return printJson(view);
      print(topLines(view.processes));
    });

  program
    .command('stats')
    .argument('<pod>', 'pod name')
    .description('show cpu %, memory usage / limit and pids of every member and of the whole pod, from the cgroups; once, or every interval with --watch')
    .option('--watch', 'keep sampling until Ctrl-C or until the pod is removed')
    .option('--interval <duration>', 'time between samples (cpu % is measured over it); default 2s with --watch, 500ms once')
    .option('--json', 'print as JSON: {pod, time, windowMs, members: [row], total: row}; with --watch one document per line per sample')
    .addHelpText(
      'after',
      `
cpu %: the cgroup's CPU time over the sample window; 100 % = one CPU busy.
memory: the cgroup's usage (v1 memory.usage_in_bytes, v2 memory.current)
against the limit that bounds it: its own, else the pod's "(pod)", else
the host's RAM "(host)". pids against its own limit, else the pod's.
With --watch, a terminal is redrawn every interval; a pipe gets one
key=value line per member per sample. --watch ends with exit 0 on Ctrl-C
and when the pod is removed (with a message on stderr).

Examples:
  barepod stats web
  barepod stats web --watch --interval 1s
  barepod stats web --watch --json | jq -c '.members[] | {name, cpu: .cpu.percent}'`,
    )
    .action(async (pod: string, o: { watch?: boolean; interval?: string; json?: boolean }, cmd: Command) => {
      const intervalMs = o.interval === undefined ? (o.watch ? 2000 : 500) : parseDuration(o.interval, '--interval');
      if (intervalMs < MIN_INTERVAL_MS) throw new BarepodError('invalid-value', `--interval "${o.interval}": must be at least ${MIN_INTERVAL_MS}ms`);
      const rt = runtimeFor(cmd);
      // Ctrl-C (or SIGTERM) ends watching normally: exit 0, nothing half-printed
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, onSignal);
      const redraw = o.watch === true && !o.json && process.stdout.isTTY === true;
      try {
        const reports = watchStats(rt, pod, { intervalMs, firstMs: o.watch ? Math.min(500, intervalMs) : intervalMs, signal: stop.signal });
        for (;;) {
          const next = await reports.next();
          if (next.done) {
            if (next.value === 'removed') {
              if (!o.watch) throw new BarepodError('not-found', `pod "${pod}" was removed while it was sampled`);
              process.stderr.write(`barepod: pod "${pod}" was removed: stats ends\n`);
            }
            return;
          }
          const report = next.value;
          if (!o.watch) {
            await reports.return('stopped');
            return o.json ? printJson(report) : print(statsTableLines(report));
          }
          if (o.json) process.stdout.write(JSON.stringify(report) + '\n');
          else if (redraw)
            process.stdout.write(
              `\x1b[H\x1b[2J${report.time}  pod ${pod}, every ${o.interval ?? '2s'} (Ctrl-C to stop)\n${statsTableLines(report).join('\n')}\n`,
            );
          else print(statsStreamLines(report));
        }
      } finally {
        for (const s of ['SIGINT', 'SIGTERM'] as const) process.off(s, onSignal);
      }
    });
}
