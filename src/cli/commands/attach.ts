import type { Command } from 'commander';
import { BarepodError } from '../../errors.js';
import { containerPaths, podPaths } from '../../plan/paths.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../../plan/detach-keys.js';
import { runcId } from '../../plan/pod-plan.js';
import { connectAttach, type Attached } from '../../runtime/attach.js';
import { exitDirOf, readExitFile } from '../../runtime/conmon.js';
import { findContainer, reconcile } from '../../pod/record.js';
import { waitFor } from '../../pod/member.js';
import type { Runtime } from '../../pod/runtime.js';
import { runtimeFor } from '../common.js';

export interface AttachFlags {
  detachKeys?: string;
  /** commander's --no-stdin */
  stdin?: boolean;
}

/** Connects to a container's attach socket: its terminal when it has one, our stdin when it takes one. */
export function openAttach(rt: Runtime, pod: string, name: string, o: { tty: boolean; stdin: boolean; detachKeys: string }): Promise<Attached> {
  const paths = containerPaths(rt.settings.stateRoot, pod, name);
  return connectAttach({
    socket: paths.attach,
    ctl: paths.ctl,
    tty: o.tty,
    stdin: o.stdin,
    detachKeys: parseDetachKeys(o.detachKeys),
    what: `${pod}/${name}`,
  });
}

/**
 * Runs an attach session to its end and sets barepod's exit status: the
 * container's exit code when it ended (from conmon's exit file, or from the
 * record when a restart by policy has come first), 0 on detach.
 */
export async function runAttached(rt: Runtime, pod: string, name: string, attached: Attached, exitDir: string): Promise<void> {
  const end = await attached.run();
  if (end === 'detached') {
    process.stderr.write(`\r\ndetached from ${pod}/${name} (still running): barepod attach ${pod} ${name} to come back\r\n`);
    return;
  }
  const id = runcId(pod, name);
  let code: number | undefined;
  // conmon writes the exit file (in the dir of the launch attached to) once the container's output is drained: usually already there
  await waitFor(() => (code = readExitFile(exitDir, id)) !== undefined, 5_000);
  if (code === undefined) {
    try {
      const c = findContainer(rt.store.read(pod), name);
      code = c.exitCode ?? c.lastTermination?.exitCode ?? undefined;
    } catch {
      // removed meanwhile
    }
  }
  process.exitCode = code ?? 0;
}

/** `barepod attach`: the terminal (or stdin and output) of a running container, until it ends or the detach keys. */
export function registerAttach(program: Command): void {
  program
    .command('attach')
    .argument('<pod>')
    .argument('<container>')
    .description("attach to a running container's terminal (tty: true) or its stdin and output; detach with ctrl-p,ctrl-q")
    .option('--detach-keys <keys>', 'the key sequence that detaches, leaving the container running ("" turns it off)', DEFAULT_DETACH_KEYS)
    .option('--no-stdin', 'do not send our input (watch only)')
    .addHelpText(
      'after',
      `
The container must have been started with a terminal or stdin (run -it or
run -itd; a manifest's tty: true / stdin: true) for input to reach it; any
running container's output can be watched. Its output from the moment of
attaching comes through (earlier output: barepod logs). On a terminal yours
goes raw and the container's follows its size; press Enter if no prompt shows.
Detaching leaves the container running; when it ends, barepod exits with its
exit code. stdinOnce: true closes its stdin when the first session ends.

Examples:
  barepod attach nginx shell                    # the shell of the Kubernetes docs' shareProcessNamespace pod
  barepod attach --detach-keys ctrl-x web sh    # detach with Ctrl-X instead
  barepod attach --no-stdin web app             # follow the output only`,
    )
    .action(async (pod: string, container: string, o: AttachFlags, cmd: Command) => {
      const rt = runtimeFor(cmd);
      const rec = rt.store.read(pod);
      reconcile(rt, rec);
      const c = findContainer(rec, container);
      if (c.state !== 'running') {
        throw new BarepodError(
          'invalid-state',
          `container "${container}" in pod "${pod}" is not running (${c.state}${c.exitCode !== undefined ? `, exit ${c.exitCode}` : ''})`,
          {
            hint: c.backoff ? 'it is waiting to be restarted: try again in a moment' : `start it first: barepod start ${pod} ${container}`,
          },
        );
      }
      const tty = c.def.tty === true;
      const stdin = o.stdin !== false && c.def.stdin === true;
      const attached = await openAttach(rt, pod, container, { tty, stdin, detachKeys: o.detachKeys ?? DEFAULT_DETACH_KEYS });
      if (tty && stdin && process.stderr.isTTY) process.stderr.write("If you don't see a command prompt, try pressing enter.\r\n");
      await runAttached(rt, pod, container, attached, exitDirOf(podPaths(rt.settings.stateRoot, pod).exits, c.launchId));
    });
}
