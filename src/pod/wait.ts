/**
 * Waiting for a pod (`wait`, `up --wait`): polls its record until it is
 * ready or gone, and fails at once, saying why, when it can never get there
 * (Failed, its creator gone half-way, an app container ended for good).
 */
import { BarepodError } from '../errors.js';
import { formatDuration } from '../duration.js';
import { isAlive } from '../runtime/procfs.js';
import type { Runtime } from './runtime.js';
import { endedForGood, lastLogLines, podReady } from './up.js';
import type { PodRecord } from '../model.js';
import { memberKind } from '../plan/members.js';
import { reconcile } from './record.js';

export type WaitCondition = 'ready' | 'delete' | 'complete';

/** How often the record is read again: the exit handlers and the prober write it; nothing signals a reader. */
const POLL_MS = 100;

/** Resolves once the condition holds; a timeout (or a pod that can never get there) is an error saying why. */
export async function waitForPod(rt: Runtime, pod: string, condition: WaitCondition, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rec = rt.store.tryRead(pod);
    if (condition === 'complete') {
      if (!rec) throw new BarepodError('not-found', `pod "${pod}" not found`, { hint: 'list pods with `barepod ps`' });
      if (jobDone(rt, rec, pod)) return;
      if (Date.now() > deadline)
        throw new BarepodError('timeout', `Job "${rec.def.job?.name ?? pod}" not complete after ${formatDuration(timeoutMs)}: ${jobProgress(rec)}`, {
          hint: `barepod ps ${pod}; barepod logs ${pod}; barepod events ${pod}`,
        });
    } else if (condition === 'delete') {
      if (!rec) return;
      if (Date.now() > deadline) throw new BarepodError('timeout', `pod "${pod}" still exists after ${formatDuration(timeoutMs)}`);
    } else {
      if (!rec) throw new BarepodError('not-found', `pod "${pod}" not found`, { hint: 'list pods with `barepod ps`' });
      const state = podReady(rt, rec);
      if (state.ready) return;
      if (rec.phase === 'Failed') throw new BarepodError('tool-failed', `pod "${pod}" will not become ready: ${state.why}`);
      if (rec.phase === 'Creating' && !isAlive(rec.creator)) {
        throw new BarepodError(
          'tool-failed',
          `pod "${pod}" will not become ready: the \`up\` making it (pid ${rec.creator?.pid ?? '?'}) is gone before it made every container`,
          { hint: `make the rest: barepod up -f FILE (or remove it: barepod gc)` },
        );
      }
      const ended = endedForGood(rt, rec);
      if (ended)
        throw new BarepodError('tool-failed', `pod "${pod}" will not become ready: ${ended}`, {
          hint: `barepod logs ${pod}; barepod events ${pod}; remove it: barepod down ${pod}`,
        });
      if (Date.now() > deadline)
        throw new BarepodError('timeout', `pod "${pod}" not ready after ${formatDuration(timeoutMs)}: ${state.why}`, {
          hint: `barepod ps ${pod}; barepod logs ${pod}; barepod events ${pod}`,
        });
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * `--for complete` (kubectl's `wait --for=condition=complete job/NAME`): true
 * once the pod's Job is Complete; a Failed Job (or its pod Failed) is an
 * error (code job-failed, exit 1) with the reason and the last log lines of
 * the container that failed last. A pod that runs no Job is refused.
 */
function jobDone(rt: Runtime, rec: PodRecord, pod: string): boolean {
  if (!rec.def.job)
    throw new BarepodError('invalid-value', `pod "${pod}" runs no Job: --for complete waits for a batch/v1 Job's pod`, {
      hint: `wait for it with --for ready (or --for delete)`,
    });
  reconcile(rt, rec);
  const job = rec.job;
  if (job?.state === 'Complete') return true;
  if (job?.state === 'Failed' || rec.phase === 'Failed') {
    const why = job?.state === 'Failed' ? `${job.reason}${job.message ? `: ${job.message}` : ''}` : `its pod is Failed${rec.message ? `: ${rec.message}` : ''}`;
    const last = lastFailed(rec);
    throw new BarepodError('job-failed', `Job "${rec.def.job.name}" failed: ${why}${last ? lastLogLines(rt, pod, last) : ''}`, {
      hint: `barepod logs ${pod}${last ? ` ${last}` : ''}; barepod events ${pod}; remove it: barepod down ${pod}`,
    });
  }
  return false;
}

/** The app container that ended last with an error (its logs say why the Job failed). */
function lastFailed(rec: PodRecord): string | undefined {
  const apps = rec.containers.filter((c) => !memberKind(c.def).runsToCompletion && c.def.kind === 'app');
  const failed = apps.filter((c) => (c.exitCode ?? 1) !== 0 && (c.finishedAt || c.lastTermination));
  const at = (c: (typeof apps)[number]) => Date.parse(c.finishedAt ?? c.lastTermination?.finishedAt ?? '') || 0;
  return (failed.sort((a, b) => at(b) - at(a))[0] ?? apps[0])?.def.name;
}

/** Where a Job is, for a timeout's message. */
function jobProgress(rec: PodRecord): string {
  const job = rec.job;
  if (!job) return `its containers have not started (the pod is ${rec.phase ?? 'Running'})`;
  return `${job.state}, ${job.failures} failure${job.failures === 1 ? '' : 's'} (backoffLimit ${rec.def.job?.backoffLimit})`;
}
