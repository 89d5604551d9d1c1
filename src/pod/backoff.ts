import { randomBytes } from 'node:crypto';
import type { ContainerRecord, PendingRestart, PendingTimer } from '../model.js';
import { identify, isAlive } from '../runtime/procfs.js';
import { launch } from '../runtime/exec.js';
import { HANDLER_PRELUDE_SH, handlerArgv } from '../runtime/self.js';
import { explaining, explainRun } from '../runtime/explain.js';
import { shellWords } from '../plan/narration.js';

/**
 * A restart waiting out its crash-loop delay needs no daemon: a detached
 * `sleep` that then runs `barepod _restart POD CTR TOKEN`. The token in the
 * record is what makes it count; cancelling kills the sleeper and drops the
 * token, so a sleeper that fires anyway finds nothing to do.
 */
export function scheduleRestart(
  stateRoot: string,
  pod: string,
  c: ContainerRecord,
  delayMs: number,
  place?: (pid: number | undefined) => void,
): PendingRestart {
  const timer = startTimer(stateRoot, (token) => ['_restart', pod, c.def.name, token], delayMs, place);
  const pending: PendingRestart = { until: timer.until, delayMs, token: timer.token, ...(timer.sleeper ? { sleeper: timer.sleeper } : {}) };
  c.backoff = pending;
  return pending;
}

/**
 * A timer that outlives the CLI: a detached `sleep` that then runs the
 * hidden barepod command `command(token)` (with this state root), moved out
 * of the caller's cgroup by `place` before it forks its sleep.
 */
export function startTimer(stateRoot: string, command: (token: string) => string[], delayMs: number, place?: (pid: number | undefined) => void): PendingTimer {
  const token = randomBytes(6).toString('hex');
  const argv = [...handlerArgv(), '--root', stateRoot, ...command(token)];
  // `read` holds the shell until its stdin closes, so that it is moved (below) before it forks its sleep:
  // a child forked earlier would stay in the caller's cgroup (as conmon waits on its start pipe)
  const shArgs = ['-c', `read _; sleep "$0" && { ${HANDLER_PRELUDE_SH}exec "$@" </dev/null; }`, (delayMs / 1000).toFixed(3), ...argv];
  if (explaining) explainRun(`${shellWords(['/bin/sh', ...shArgs])} &`);
  // a timer, not a tool: its deadline is the delay itself
  const run = launch(['/bin/sh', ...shArgs], { outlives: true, detached: true, stdio: ['pipe', 'ignore', 'ignore'], timeoutMs: 0 });
  const child = run.child;
  // out of the caller's cgroup (a CLI call's session), like the pod's conmons; then let it go on
  try {
    place?.(child.pid);
  } finally {
    child.stdin!.on('error', () => {});
    child.stdin!.end();
    run.release();
  }
  const sleeper = child.pid ? identify(child.pid) : undefined;
  return { until: new Date(Date.now() + delayMs).toISOString(), token, ...(sleeper ? { sleeper } : {}) };
}

/** Ends a timer's sleeper (its process group: the shell and its sleep), if it still waits. */
export function stopTimer(timer: PendingTimer | undefined): void {
  const sleeper = timer?.sleeper;
  if (sleeper && isAlive(sleeper)) {
    try {
      process.kill(-sleeper.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/** Drops a pending restart (a user's stop, a removal) and ends its sleeper. */
export function cancelRestart(c: ContainerRecord): void {
  stopTimer(c.backoff);
  delete c.backoff;
}
