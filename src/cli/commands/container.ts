import type { Command } from 'commander';
import { removeContainer, startContainer, stopContainer } from '../../pod/containers.js';
import { DEFAULT_GRACE_SECONDS, parseSeconds, runtimeFor } from '../common.js';
import { printJson } from '../output.js';

/** `barepod stop|start|rm POD CONTAINER`: one container's lifecycle. */
export function registerContainerVerbs(program: Command): void {
  program
    .command('stop')
    .argument('<pod>')
    .argument('<container>')
    .description('stop a container: SIGTERM, then SIGKILL after the grace period; the pod and its other containers stay')
    .option('-t, --time <seconds>', `grace period (default: the pod's, ${DEFAULT_GRACE_SECONDS} unless set)`)
    .option('--json', 'print {pod, container, state, exitCode} as JSON (and an error as the JSON error object)')
    .addHelpText(
      'after',
      `
A stopped container stays stopped whatever its restart policy, and a pending
restart (CrashLoopBackOff) is cancelled. In a pod sharing its pid namespace,
only the container's own processes (its cgroup) are signalled.

Examples:
  barepod stop web app
  barepod stop web app --time 5
  barepod stop web app --json | jq .exitCode`,
    )
    .action(async (pod: string, name: string, o: { time?: string; json?: boolean }, cmd: Command) => {
      const grace = o.time === undefined ? undefined : parseSeconds(o.time, '--time');
      const c = await stopContainer(runtimeFor(cmd), pod, name, grace);
      if (o.json) printJson({ pod, container: name, state: c.state, exitCode: c.exitCode ?? null });
      else process.stdout.write(`${pod}/${name} stopped${c.exitCode !== undefined ? ` (exit ${c.exitCode})` : ''}\n`);
    });

  program
    .command('start')
    .argument('<pod>')
    .argument('<container>')
    .description('start a stopped container again, in the same pod namespaces')
    .option('--json', 'print {pod, container, state, pid} as JSON (and an error as the JSON error object)')
    .addHelpText('after', '\nExamples:\n  barepod start web app\n  barepod start web app --json | jq .pid')
    .action(async (pod: string, name: string, o: { json?: boolean }, cmd: Command) => {
      const c = await startContainer(runtimeFor(cmd), pod, name);
      if (o.json) printJson({ pod, container: name, state: c.state, pid: c.process?.pid ?? null });
      else process.stdout.write(`${pod}/${name} running (pid ${c.process?.pid})\n`);
    });

  program
    .command('rm')
    .argument('<pod>')
    .argument('<container>')
    .description('remove a container from its pod (its bundle, rootfs overlay and cgroup)')
    .option('-f, --force', 'stop it first if it is running')
    .option('-t, --time <seconds>', 'grace period when stopping with --force (default 0)')
    .option('--json', 'print {pod, container, removed} as JSON (and an error as the JSON error object)')
    .addHelpText('after', '\nExamples:\n  barepod rm web app\n  barepod rm -f web app\n  barepod rm -f web app --json')
    .action(async (pod: string, name: string, o: { force?: boolean; time?: string; json?: boolean }, cmd: Command) => {
      await removeContainer(runtimeFor(cmd), pod, name, { force: o.force === true, graceSeconds: parseSeconds(o.time, '--time', 0) });
      if (o.json) printJson({ pod, container: name, removed: true });
      else process.stdout.write(`${pod}/${name} removed\n`);
    });
}
