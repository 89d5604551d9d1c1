import fs from 'node:fs';
import type { Command } from 'commander';
import { BarepodError, type ErrorCode } from '../../errors.js';
import { formatDuration } from '../../duration.js';
import { parseSince } from '../../pod/logs.js';
import { eventsFile } from '../../plan/paths.js';
import { gc } from '../../pod/supervise.js';
import { quietly, runHandler } from '../../pod/handlers.js';
import { handleUnhealthy } from '../../pod/prober.js';
import { handleJobDeadline } from '../../pod/job.js';
import { parseEvents, readEvents, type PodEvent } from '../../runtime/events.js';
import { explainHook, explainOption, runtimeFor } from '../common.js';
import { printJson, printTable } from '../output.js';

/** `barepod events`, `barepod gc`, and the hidden handlers conmon, the backoff timer and the prober call. */
export function registerSupervision(program: Command): void {
  program
    .command('events')
    .argument('[pod]', 'only this pod')
    .description(
      'what happened to pods: started, died (exit code, reason), oom, backoff, restarted, stopped, sandbox-died, sandbox-recreated, pod-failed, warning (CreateContainerConfigError, InvalidEnvironmentVariableNames), job-complete, job-failed',
    )
    .option('--since <time>', 'only events newer than a duration ago (10m) or an RFC3339 time')
    .option('-f, --follow', 'keep printing new events until interrupted')
    .option('--json', 'one JSON object per line')
    .addHelpText('after', '\nExamples:\n  barepod events\n  barepod events web --since 10m\n  barepod events --json -f')
    .action(async (pod: string | undefined, o: { since?: string; follow?: boolean; json?: boolean }, cmd: Command) => {
      const rt = runtimeFor(cmd);
      const since = o.since === undefined ? 0 : parseSince(o.since);
      const keep = (e: PodEvent) => (pod === undefined || e.pod === pod) && Date.parse(e.time) >= since;
      const print = (evs: PodEvent[]) => {
        if (o.json) for (const e of evs) process.stdout.write(JSON.stringify(e) + '\n');
        else if (evs.length) printTable(['TIME', 'POD', 'CONTAINER', 'EVENT', 'DETAILS'], evs.map(eventRow), !o.follow);
      };
      const file = eventsFile(rt.settings.stateRoot);
      let offset = fileSize(file);
      print(readEvents(rt.settings.stateRoot).filter(keep));
      if (!o.follow) return;
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        const timer = setInterval(() => {
          const size = fileSize(file);
          if (size < offset) offset = 0; // trimmed
          if (size === offset) return;
          const fd = fs.openSync(file, 'r');
          const buf = Buffer.alloc(size - offset);
          fs.readSync(fd, buf, 0, buf.length, offset);
          fs.closeSync(fd);
          const text = buf.toString('utf8');
          const end = text.lastIndexOf('\n') + 1; // a line still being written waits for the next poll
          offset += Buffer.byteLength(text.slice(0, end));
          print(parseEvents(text.slice(0, end)).filter(keep));
        }, 250);
        process.once('SIGINT', () => clearInterval(timer));
      });
    });

  program
    .command('gc')
    .description(
      "reconcile every pod with reality and remove what crashes or a reboot left: interrupted removals (a failed CNI DEL is retried), pods whose up was killed, dead sandboxes, lost restarts, runc state, cgroups, mounts, stale locks, and the IPAM reservations, veths and iptables rules of this state root's pods that no longer exist; idempotent, and safe beside other commands (a pod another command holds, or made after gc started, is left alone)",
    )
    .option('--json', 'print the actions as JSON')
    .addHelpText('after', '\nRun it after a crash or at boot (the systemd unit of `generate systemd` does).\n\nExamples:\n  barepod gc\n  barepod gc --json')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const actions = await gc(runtimeFor(cmd));
      // the rest of the sweep ran; what could not be done (a full disk) still fails the command
      const failed = actions.filter((a) => a.error);
      // with --json a failure is the one error object, the actions in its details
      if (o.json) {
        if (!failed.length) printJson(actions);
      } else if (actions.length === 0) process.stdout.write('nothing to do\n');
      else for (const a of actions) process.stdout.write(`${a.pod}: ${a.action}\n`);
      if (failed.length) {
        throw new BarepodError(
          failed[0]!.error!.code as ErrorCode,
          `gc could not finish ${failed.map((a) => `pod "${a.pod}" (${a.error!.message})`).join(', ')}`,
          { hint: "free space on the state root's file system, then run `barepod gc` again: it retries what is left", details: { actions } },
        );
      }
    });

  // conmon's exit command and the backoff timer: not for people, so hidden from --help
  program
    .command('_exited', { hidden: true })
    .argument('<pod>')
    .argument('<member>')
    .argument('<launch>')
    // the narration of what the handler does (a restart's runc and conmon calls): for the chaos suite, which kills it at each step
    .addOption(explainOption().hideHelp())
    .hook('preAction', explainHook)
    .action(async (pod: string, member: string, launch: string, _o: unknown, cmd: Command) => {
      process.exitCode = await runHandler({ kind: '_exited', root: undefined, pod, member, token: launch }, () => runtimeFor(cmd));
    });
  // the prober's call when a liveness or startup probe failed: the kill, in a Node start only then
  program
    .command('_unhealthy', { hidden: true })
    .argument('<pod>')
    .argument('<container>')
    .argument('<launch>')
    .argument('<why>')
    .action(async (pod: string, name: string, launch: string, why: string, _o: unknown, cmd: Command) => {
      process.exitCode = await quietly(
        () => runtimeFor(cmd),
        pod,
        name,
        () => handleUnhealthy(runtimeFor(cmd), pod, name, launch, why),
      );
    });
  program
    .command('_job-deadline', { hidden: true })
    .argument('<pod>')
    .argument('<token>')
    .action(async (pod: string, token: string, _o: unknown, cmd: Command) => {
      process.exitCode = await quietly(
        () => runtimeFor(cmd),
        pod,
        '',
        () => handleJobDeadline(runtimeFor(cmd), pod, token),
      );
    });
  program
    .command('_restart', { hidden: true })
    .argument('<pod>')
    .argument('<container>')
    .argument('<token>')
    .action(async (pod: string, name: string, token: string, _o: unknown, cmd: Command) => {
      process.exitCode = await runHandler({ kind: '_restart', root: undefined, pod, member: name, token }, () => runtimeFor(cmd));
    });
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function eventRow(e: PodEvent): string[] {
  const details: string[] = [];
  if (e.exitCode !== undefined) details.push(`exit ${e.exitCode ?? '?'}`);
  if (e.reason) details.push(e.reason);
  if (e.restarts !== undefined) details.push(`restarts ${e.restarts}`);
  if (e.delayMs !== undefined) details.push(`delay ${formatDuration(e.delayMs)}`);
  if (e.message) details.push(e.message);
  return [e.time, e.pod, e.container ?? '-', e.type, details.join(', ')];
}
