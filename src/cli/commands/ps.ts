import type { Command } from 'commander';
import { SANDBOX_NAME } from '../../plan/pod-plan.js';
import { listMembers, type MemberStatus } from '../../pod/views.js';
import { formatDuration } from '../../duration.js';
import { runtimeFor } from '../common.js';
import { age, printJson, printTable } from '../output.js';

/** "Error (1)", "CrashLoopBackOff (restart in 8s)", "Running". */
function statusText(c: MemberStatus, now: number): string {
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

/** `barepod ps`: every pod member with state, pid, restarts and age. */
export function registerPs(program: Command): void {
  program
    .command('ps')
    .argument('[pod]', 'only this pod')
    .description(
      'list pods and their containers: status (Running, Completed, Error, OOMKilled, Exited, CrashLoopBackOff, Stopped, Unknown), pid, restarts, last exit, age',
    )
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  barepod ps\n  barepod ps web --json')
    .action((pod: string | undefined, o: { json?: boolean }, cmd: Command) => {
      const view = listMembers(runtimeFor(cmd), pod);
      if (o.json) return printJson(view);
      const now = Date.now();
      const rows = view.pods.flatMap((p) =>
        p.containers.map((c) => [
          p.name,
          c.container === SANDBOX_NAME ? '(sandbox)' : c.container,
          c.container === SANDBOX_NAME && p.state !== 'Running' ? p.state : statusText(c, now),
          c.pid === null ? '-' : String(c.pid),
          String(c.restarts),
          lastText(c, now),
          age(c.startedAt ?? c.createdAt),
          c.image,
          c.command.join(' ').replace(/\s+/g, ' ').slice(0, 40),
        ]),
      );
      printTable(['POD', 'CONTAINER', 'STATUS', 'PID', 'RESTARTS', 'LAST EXIT', 'AGE', 'IMAGE', 'COMMAND'], rows);
    });
}
