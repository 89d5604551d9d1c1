import type { Command } from 'commander';
import { BarepodError } from '../../errors.js';
import { readLogs } from '../../pod/logs.js';
import { runtimeFor } from '../common.js';
import { printJson } from '../output.js';

/** `barepod logs`: what the containers wrote to stdout and stderr (conmon's CRI logs). */
export function registerLogs(program: Command): void {
  program
    .command('logs')
    .argument('<pod>')
    .argument('[container]', 'one container (default: all, lines prefixed by container name)')
    .description('print the stdout and stderr of a pod\'s containers')
    .option('--tail <n>', 'only the last n lines')
    .option('--timestamps', 'show each line\'s time')
    .option('--json', 'print the lines as JSON')
    .addHelpText('after', '\nExamples:\n  barepod logs web\n  barepod logs web app --tail 20 --timestamps')
    .action((pod: string, container: string | undefined, o: { tail?: string; timestamps?: boolean; json?: boolean }, cmd: Command) => {
      if (o.tail !== undefined && !/^\d+$/.test(o.tail)) throw new BarepodError('invalid-value', `--tail "${o.tail}": must be a whole number`);
      let lines = readLogs(runtimeFor(cmd), pod, container);
      if (o.tail !== undefined) lines = lines.slice(Math.max(0, lines.length - Number(o.tail)));
      if (o.json) return printJson(lines);
      const prefix = container === undefined;
      for (const l of lines) {
        const out = l.stream === 'stderr' ? process.stderr : process.stdout;
        out.write(`${o.timestamps ? `${l.time} ` : ''}${prefix ? `[${l.container}] ` : ''}${l.text}\n`);
      }
    });
}
