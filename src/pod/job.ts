/**
 * A Job's one pod (batch/v1 Job, manifest/job.ts): its app containers run
 * to completion. Each non-zero exit of an app container is a failure,
 * counted once; under OnFailure the container is restarted in place (the
 * kubelet's crash-loop backoff), under Never a fresh instance of it is run
 * in the same pod (Kubernetes makes a new pod; one host keeps one pod per
 * Job). After backoffLimit + 1 failures the Job is Failed
 * (BackoffLimitExceeded) and nothing restarts any more; when
 * activeDeadlineSeconds pass, a timer that outlives the CLI kills what runs
 * (with the grace period) and fails it (DeadlineExceeded). It is Complete
 * when every app container has exited 0. Its status is in the pod record.
 */
import { appendEvent } from '../runtime/events.js';
import { isAlive } from '../runtime/procfs.js';
import type { ContainerRecord, JobFailureReason, JobStatus, PodRecord } from '../model.js';
import { startTimer, stopTimer, cancelRestart } from './backoff.js';
import { stopLocked } from './containers.js';
import { tryPlaceMonitor } from './member.js';
import { withPod } from './record.js';
import type { Runtime } from './runtime.js';

/** At most this many launch ids are kept to count each failure once (a Job with a larger backoffLimit only forgets the oldest). */
const COUNTED_KEEP = 32;

/** The Job's status, made when its containers first start (and its deadline timer set). */
export function startJob(rt: Runtime, rec: PodRecord): JobStatus | undefined {
  const def = rec.def.job;
  if (!def) return undefined;
  if (rec.job) return rec.job;
  const job: JobStatus = { state: 'Active', failures: 0, startTime: new Date().toISOString() };
  rec.job = job;
  if (def.activeDeadlineSeconds !== undefined) {
    job.deadline = startTimer(
      rt.settings.stateRoot,
      (token) => ['_job-deadline', rec.def.name, token],
      def.activeDeadlineSeconds * 1000,
      (pid) => tryPlaceMonitor(rt, rec, pid),
    );
  }
  return job;
}

const isApp = (c: ContainerRecord) => c.def.kind === 'app';
const ended = (c: ContainerRecord) => c.state === 'exited' || c.state === 'unknown';

/**
 * A container of a Job's pod has exited: counts a failure, completes or
 * fails the Job. True when the container is to run again (a failure within
 * backoffLimit, or a native sidecar of an Active Job).
 */
export async function jobAfterExit(rt: Runtime, rec: PodRecord, c: ContainerRecord): Promise<boolean> {
  const job = startJob(rt, rec)!;
  if (job.state !== 'Active') return false;
  if (c.def.kind === 'sidecar') return true; // restarted as always while the Job runs; stopped when it ends
  if (!isApp(c)) return false;
  if (ended(c) && c.exitCode === 0) {
    if (rec.containers.filter(isApp).every((x) => ended(x) && x.exitCode === 0)) await finishJob(rt, rec, 'Complete');
    return false;
  }
  const launch = c.launchId ?? `${c.def.name}@${c.finishedAt ?? ''}`;
  if (!job.counted?.includes(launch)) {
    job.failures += 1;
    job.counted = [...(job.counted ?? []), launch].slice(-COUNTED_KEEP);
  }
  const limit = rec.def.job!.backoffLimit;
  if (job.failures > limit) {
    await finishJob(
      rt,
      rec,
      'Failed',
      'BackoffLimitExceeded',
      `Job has reached the specified backoff limit: ${job.failures} failure${job.failures === 1 ? '' : 's'}, backoffLimit ${limit} (the last: container "${c.def.name}" exited with ${c.exitCode ?? 'no exit code'})`,
    );
    return false;
  }
  return true;
}

/**
 * The Job's pod failed as a whole (its sandbox died): one failure. True when
 * that was one too many and the Job (and its pod) is now Failed; otherwise
 * the caller makes the pod run again.
 */
export async function jobPodFailed(rt: Runtime, rec: PodRecord, why: string): Promise<boolean> {
  const job = startJob(rt, rec)!;
  job.failures += 1;
  const limit = rec.def.job!.backoffLimit;
  if (job.failures <= limit) return false;
  await finishJob(
    rt,
    rec,
    'Failed',
    'BackoffLimitExceeded',
    `Job has reached the specified backoff limit: ${job.failures} failure${job.failures === 1 ? '' : 's'}, backoffLimit ${limit} (the last: ${why})`,
  );
  return true;
}

/**
 * The Job ends: what still runs is stopped (SIGTERM, SIGKILL after the
 * grace period), no restart is pending any more, the deadline timer is
 * gone. A Failed Job's pod is Failed too, so no handler or `gc` brings
 * anything back.
 */
export async function finishJob(rt: Runtime, rec: PodRecord, state: 'Complete' | 'Failed', reason?: JobFailureReason, message?: string): Promise<void> {
  const job = rec.job ?? startJob(rt, rec)!;
  job.state = state;
  job.completionTime = new Date().toISOString();
  if (reason) job.reason = reason;
  if (message) job.message = message;
  stopTimer(job.deadline);
  delete job.deadline;
  if (state === 'Failed') {
    rec.phase = 'Failed';
    rec.message = `Job ${state}: ${reason}${message ? `: ${message}` : ''}`;
  }
  await Promise.all(
    rec.containers.map(async (c) => {
      cancelRestart(c);
      if (c.state === 'running' || c.state === 'created') await stopLocked(rt, rec, c, rec.def.graceSeconds);
    }),
  );
  appendEvent(rt.settings.stateRoot, {
    type: state === 'Complete' ? 'job-complete' : 'job-failed',
    pod: rec.def.name,
    ...(reason ? { reason } : {}),
    message:
      state === 'Complete'
        ? `Job "${rec.def.job?.name ?? rec.def.name}" completed after ${job.failures} failure${job.failures === 1 ? '' : 's'}`
        : (message ?? `Job "${rec.def.job?.name ?? rec.def.name}" failed`),
  });
}

/** `_job-deadline`: the activeDeadlineSeconds timer fired. */
export async function handleJobDeadline(rt: Runtime, pod: string, token: string): Promise<void> {
  await withPod(rt, pod, async (rec) => {
    if (!rec.job || rec.job.deadline?.token !== token) return; // cancelled or superseded
    delete rec.job.deadline; // this very process is its sleeper: nothing to stop
    await deadlinePassed(rt, rec);
  });
}

async function deadlinePassed(rt: Runtime, rec: PodRecord): Promise<void> {
  if (!rec.job || rec.job.state !== 'Active' || rec.phase === 'Removing') return;
  const secs = rec.def.job?.activeDeadlineSeconds;
  await finishJob(
    rt,
    rec,
    'Failed',
    'DeadlineExceeded',
    `Job was active longer than specified deadline (activeDeadlineSeconds ${secs}): its running containers were stopped`,
  );
}

/** `gc`: a deadline whose timer was lost (a reboot, a killed sleeper): applied when it has passed, else set again for the time left. */
export async function lostJobDeadline(rt: Runtime, rec: PodRecord): Promise<'failed' | 'rearmed' | undefined> {
  const job = rec.job;
  const d = job?.deadline;
  if (!job || !d || job.state !== 'Active' || isAlive(d.sleeper)) return undefined;
  const left = Date.parse(d.until) - Date.now();
  if (left > 0) {
    job.deadline = startTimer(
      rt.settings.stateRoot,
      (token) => ['_job-deadline', rec.def.name, token],
      left,
      (pid) => tryPlaceMonitor(rt, rec, pid),
    );
    return 'rearmed';
  }
  delete job.deadline;
  await deadlinePassed(rt, rec);
  return 'failed';
}

/** A removal: the deadline timer goes with the pod. */
export function cancelJobDeadline(rec: PodRecord): void {
  stopTimer(rec.job?.deadline);
  if (rec.job) delete rec.job.deadline;
}
