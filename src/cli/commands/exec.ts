import { isatty } from 'node:tty';
import type { Command } from 'commander';
import { BarepodError } from '../../errors.js';
import { execInContainer } from '../../pod/containers.js';
import { parseEnv, parseUser } from '../definitions.js';
import { procWorkdir } from '../../plan/rootfs-paths.js';
import { collect, runtimeFor } from '../common.js';

interface ExecFlags {
  interactive?: boolean;
  tty?: boolean;
  env: string[];
  workdir?: string;
  user?: string;
}

/** `barepod exec`: a command in a running container, in the foreground; its exit status is barepod's. */
export function registerExec(program: Command): void {
  program
    .command('exec')
    .argument('<pod>')
    .argument('<container>')
    .argument('[command...]', 'command and arguments (after --)')
    .description('run a command in a running container (its namespaces, cgroup, environment and user); exit with its status')
    .option('-i, --interactive', 'pass stdin on (without it the command reads /dev/null)')
    .option('-t, --tty', 'a terminal for the command: stdin must be one; implies -i')
    .option('-e, --env <KEY=VALUE>', "add an environment variable to the container's (repeatable)", collect, [])
    .option('-w, --workdir <dir>', "working directory (default: the container's)")
    .option('-u, --user <uid[:gid]>', "numeric user (and group) to run as (default: the container's)")
    .addHelpText(
      'after',
      `
The exit status is the command's (128+n when killed by signal n; runc's 255
when it could not start it); barepod's own errors (2 usage, 3 not found,
4 not running) come before anything runs. Ctrl-C goes to the command.

Examples:
  barepod exec web app -- ls -l /
  barepod exec -it web app -- sh
  barepod exec web app -e DEBUG=1 -w /tmp -u 1000:1000 -- sh -c 'id; pwd; echo $DEBUG'`,
    )
    .action(async (pod: string, container: string, command: string[], o: ExecFlags, cmd: Command) => {
      if (command.length === 0) throw new BarepodError('usage', 'exec: no command given', { hint: `put it after --: barepod exec ${pod} ${container} -- sh` });
      // fd 0 checked directly: reading process.stdin would open a stream on the terminal runc is about to own
      if (o.tty && !isatty(0)) throw new BarepodError('usage', 'the input device is not a TTY', { hint: 'drop -t, or run from a terminal' });
      if (o.workdir !== undefined && !o.workdir.startsWith('/')) throw new BarepodError('invalid-value', `--workdir "${o.workdir}": must be an absolute path`);
      const proc = o.workdir === undefined ? undefined : procWorkdir(o.workdir);
      if (proc)
        throw new BarepodError('invalid-value', `--workdir "${o.workdir}": refused: it is ${proc}`, {
          hint: "choose a working directory inside the container's own files",
        });
      const status = await execInContainer(runtimeFor(cmd), pod, container, command, {
        tty: o.tty === true,
        stdin: o.interactive === true || o.tty === true,
        env: parseEnv(o.env),
        cwd: o.workdir,
        user: o.user === undefined ? undefined : parseUser(o.user),
      });
      process.exitCode = status;
    });
}
