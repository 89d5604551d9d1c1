import type { Command } from 'commander';
import { BarepodError } from '../../errors.js';
import { execInContainer } from '../../pod/containers.js';
import { parseEnv, parseUser } from '../definitions.js';
import { procWorkdir } from '../../plan/rootfs-paths.js';
import { collect, runtimeFor } from '../common.js';
import { DEFAULT_CONTAINER_ANNOTATION } from '../../plan/members.js';
import { validateMemberName } from '../../names.js';

/** tty loaded on first use, not at module load: Node does not verify it in a V8 startup snapshot. */
const isatty = (fd: number): boolean => process.getBuiltinModule('node:tty').isatty(fd);

interface ExecFlags {
  container?: string;
  interactive?: boolean;
  tty?: boolean;
  env: string[];
  workdir?: string;
  user?: string;
}

/**
 * Splits exec's operands after the pod into the container and the command.
 * `-c NAME`: every operand is the command. Else the words before `--` (at most
 * one) name the container, today's `exec POD CONTAINER -- CMD`; with none
 * before `--` the pod's default container runs it; with no `--` at all the
 * first word is the container (`exec POD CONTAINER CMD`).
 */
export function splitExecOperands(
  pod: string,
  operands: string[],
  afterDashes: number | undefined,
  flag: string | undefined,
): { container: string | undefined; command: string[] } {
  if (flag !== undefined) return { container: flag, command: operands };
  if (afterDashes === undefined) return { container: operands[0], command: operands.slice(1) };
  const before = operands.slice(0, operands.length - afterDashes);
  if (before.length > 1) {
    throw new BarepodError('usage', `exec: "${before.join(' ')}" before --: at most one container name goes there`, {
      hint: `barepod exec ${pod} -c ${before[0]} -- ${[...before.slice(1), ...operands.slice(before.length)].join(' ')}`,
    });
  }
  return { container: before[0], command: operands.slice(before.length) };
}

/** How many of the program's words follow the first `--` after the command's own name; undefined when there is none. */
function wordsAfterDashes(cmd: Command): number | undefined {
  const raw = (cmd.parent as { rawArgs?: string[] } | null)?.rawArgs ?? [];
  const at = raw.indexOf('exec', 2);
  const dashes = raw.indexOf('--', at < 0 ? 2 : at + 1);
  return dashes < 0 ? undefined : raw.length - dashes - 1;
}

/** `barepod exec`: a command in a running container, in the foreground; its exit status is barepod's. */
export function registerExec(program: Command): void {
  program
    .command('exec')
    .argument('<pod>')
    .argument('[container-and-command...]', 'the container (unless -c), then the command and its arguments after --')
    .description('run a command in a running container (its namespaces, cgroup, environment and user); exit with its status')
    .option(
      '-c, --container <name>',
      `the container (default: the one the pod's ${DEFAULT_CONTAINER_ANNOTATION} annotation names, else the pod's only app container)`,
    )
    .option('-i, --interactive', 'pass stdin on (without it the command reads /dev/null)')
    .option('-t, --tty', 'a terminal for the command: stdin must be one; implies -i')
    .option('-e, --env <KEY=VALUE>', "add an environment variable to the container's (repeatable)", collect, [])
    .option('-w, --workdir <dir>', "working directory (default: the container's)")
    .option('-u, --user <uid[:gid]>', "numeric user (and group) to run as (default: the container's)")
    .addHelpText(
      'after',
      `
The container is -c NAME (as kubectl exec -c), or the word before --
(barepod exec POD CONTAINER -- CMD). Without either, the pod's default:
the container its ${DEFAULT_CONTAINER_ANNOTATION} annotation names,
else its only app container (init containers do not count); a pod with
several and no annotation is a usage error listing them.

The exit status is the command's (128+n when killed by signal n; runc's 255
when it could not start it, with a hint when the program is not in the
container); barepod's own errors (2 usage, 3 not found, 4 not running) come
before anything runs. Ctrl-C goes to the command.

Examples:
  barepod exec web -- ls -l /                  # the pod's only (or default) container
  barepod exec web -c app -- ls -l /
  barepod exec web app -- ls -l /              # the same: the container before --
  barepod exec -it web -c app -- sh
  barepod exec web -c app -e DEBUG=1 -w /tmp -u 1000:1000 -- sh -c 'id; pwd; echo $DEBUG'`,
    )
    .action(async (pod: string, operands: string[], o: ExecFlags, cmd: Command) => {
      const { container, command } = splitExecOperands(pod, operands, wordsAfterDashes(cmd), o.container);
      if (command.length === 0) {
        const c = container === undefined ? '' : o.container !== undefined ? ` -c ${container}` : ` ${container}`;
        throw new BarepodError('usage', 'exec: no command given', { hint: `put it after --: barepod exec ${pod}${c} -- sh` });
      }
      if (container !== undefined) validateMemberName(container);
      // fd 0 checked directly: reading process.stdin would open a stream on the terminal runc is about to own
      if (o.tty && !isatty(0)) throw new BarepodError('usage', 'the input device is not a TTY', { hint: 'drop -t, or run from a terminal' });
      if (o.workdir !== undefined && !o.workdir.startsWith('/')) throw new BarepodError('invalid-value', `--workdir "${o.workdir}": must be an absolute path`);
      const proc = o.workdir === undefined ? undefined : procWorkdir(o.workdir);
      if (proc)
        throw new BarepodError('invalid-value', `--workdir "${o.workdir}": refused: it is ${proc}`, {
          hint: "choose a working directory inside the container's own files",
        });
      const out = await execInContainer(runtimeFor(cmd), pod, container, command, {
        tty: o.tty === true,
        stdin: o.interactive === true || o.tty === true,
        env: parseEnv(o.env),
        cwd: o.workdir,
        user: o.user === undefined ? undefined : parseUser(o.user),
      });
      if (out.missing) {
        const { program: prog, path } = out.missing;
        const where = prog.includes('/')
          ? `${prog} is not a file in container "${out.container}"`
          : `"${prog}" is on no directory of container "${out.container}"'s PATH (${path})`;
        process.stderr.write(
          `barepod: hint: ${where}: its image does not have it; see what it has: barepod exec ${pod} -c ${out.container} -- ls /bin /usr/bin\n`,
        );
      }
      process.exitCode = out.status;
    });
}
