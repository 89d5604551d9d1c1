import type { Command } from 'commander';
import { SANDBOX_NAME } from '../../plan/pod-plan.js';
import { listMembers } from '../../pod/views.js';
import { runtimeFor } from '../common.js';
import { age, printJson, printTable } from '../output.js';

/** `barepod ps`: every pod member with state, pid, restarts and age. */
export function registerPs(program: Command): void {
  program
    .command('ps')
    .argument('[pod]', 'only this pod')
    .description('list pods and their containers: state, pid, restarts, age')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  barepod ps\n  barepod ps web --json')
    .action((pod: string | undefined, o: { json?: boolean }, cmd: Command) => {
      const view = listMembers(runtimeFor(cmd), pod);
      if (o.json) return printJson(view);
      const rows = view.pods.flatMap((p) =>
        p.containers.map((c) => [
          p.name,
          c.container === SANDBOX_NAME ? '(sandbox)' : c.container,
          c.state === 'exited' && c.exitCode !== null ? `exited (${c.exitCode})` : c.state,
          c.pid === null ? '-' : String(c.pid),
          String(c.restarts),
          age(c.startedAt ?? c.createdAt),
          c.image,
          c.command.join(' ').slice(0, 40),
        ]),
      );
      printTable(['POD', 'CONTAINER', 'STATE', 'PID', 'RESTARTS', 'AGE', 'IMAGE', 'COMMAND'], rows);
    });
}
