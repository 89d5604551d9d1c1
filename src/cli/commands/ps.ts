import type { Command } from 'commander';
import { SANDBOX_NAME } from '../../plan/pod-plan.js';
import { jobText, listMembers, type MemberStatus } from '../../pod/views.js';
import { formatDuration } from '../../duration.js';
import { outputOption, viewRuntimeFor } from '../common.js';
import { age, formatPort, printJson, printTable } from '../output.js';

/** "Error (1)", "CrashLoopBackOff (restart in 8s)", "Running". */
function statusText(c: MemberStatus, now: number): string {
  // its ConfigMap or Secret is missing: what is missing, as kubectl describe says it
  if (c.state === 'waiting') return `${c.status}${c.message ? ` (${c.message})` : ''}`;
  if (c.backoff) return `CrashLoopBackOff (restart in ${formatDuration(Math.max(0, Date.parse(c.backoff.until) - now))})`;
  if (c.status === 'Stopped') return 'Stopped (SIGSTOP)';
  if (c.state === 'exited' && c.exitCode !== null) return `${c.status} (${c.exitCode})`;
  if (c.state === 'running' && c.supervised === false) return `${c.status} (unsupervised: conmon gone)`;
  if (c.state === 'running' && !c.ready) return `${c.status} (not ready)`;
  return c.status;
}

/** The latest termination, this instance's when it has ended, else the previous one's: "Error (1) 12s ago". */
function lastText(c: MemberStatus, now: number): string {
  const t = c.lastExit;
  if (!t) return '-';
  return `${t.reason} (${t.exitCode ?? '?'}) ${age(t.finishedAt, now)} ago`;
}

/** A member's name as ps shows it: the sandbox in brackets, init containers and sidecars marked. */
export function memberLabel(c: Pick<MemberStatus, 'container' | 'kind'>): string {
  if (c.container === SANDBOX_NAME) return '(sandbox)';
  if (c.kind === 'init') return `${c.container} (init)`;
  if (c.kind === 'sidecar') return `${c.container} (sidecar)`;
  return c.container;
}

/** `barepod ps`: every pod member with state, pid, restarts and age. */
export function registerPs(program: Command): void {
  program
    .command('ps')
    .argument('[pod]', 'only this pod')
    .description(
      'list pods and their containers: status (Running, Completed, Error, OOMKilled, Exited, CrashLoopBackOff, CreateContainerConfigError, Stopped, Unknown), pid, restarts, last exit, age; init containers and sidecars are marked',
    )
    .option(
      '--json',
      'print as JSON: {pods: [{name, state, ip, ports, hostname, network, readyContainers, appContainers, containers: [{container, kind, status, ready, pid, ...}]}]}',
    )
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
A member's name is marked "(init)" for an init container (it runs to
completion before the app containers) and "(sidecar)" for a native sidecar
(an init container with restartPolicy: Always: it keeps running beside them).
-o wide adds the pod's IP and each container's declared ports (the sandbox
row: the pod's published ones).

Examples:
  barepod ps
  barepod ps web -o wide
  barepod ps web --json | jq '.pods[0].ip'`,
    )
    .action((pod: string | undefined, o: { json?: boolean; output?: string }, cmd: Command) => {
      const view = listMembers(viewRuntimeFor(cmd), pod);
      if (o.json || o.output === 'json') return printJson(view);
      const wide = o.output === 'wide';
      const now = Date.now();
      const rows = view.pods.flatMap((p) =>
        p.containers.map((c) => [
          p.name,
          memberLabel(c),
          c.container === SANDBOX_NAME && p.job
            ? `${p.state}, ${jobText(p.job)}`
            : c.container === SANDBOX_NAME && p.state !== 'Running'
              ? p.state
              : statusText(c, now),
          c.pid === null ? '-' : String(c.pid),
          String(c.restarts),
          lastText(c, now),
          age(c.startedAt ?? c.createdAt),
          ...(wide ? [p.ip ?? '-', (c.container === SANDBOX_NAME ? p.ports.map(formatPort) : c.ports).join(',') || '-'] : []),
          c.image,
          c.command.join(' ').replace(/\s+/g, ' ').slice(0, 40),
        ]),
      );
      printTable(['POD', 'CONTAINER', 'STATUS', 'PID', 'RESTARTS', 'LAST EXIT', 'AGE', ...(wide ? ['IP', 'PORTS'] : []), 'IMAGE', 'COMMAND'], rows);
    });
}
