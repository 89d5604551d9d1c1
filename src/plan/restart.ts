/**
 * Restart decisions with Kubernetes semantics, pure so every rule is unit-tested:
 * which exits restart under which policy, the crash-loop backoff (10 s, 20 s,
 * 40 s … capped at 300 s, reset after 10 minutes of running), and the reason
 * shown for a terminated container.
 */
import { BarepodError } from '../errors.js';
import type { BackoffConfig, ExitReason, RestartPolicy } from '../model.js';

/** Accepts the CLI spellings (always, on-failure, never, no) and Kubernetes' (Always, OnFailure, Never). */
export function parseRestartPolicy(text: string, flag: string): RestartPolicy {
  const key = text.trim().toLowerCase().replace(/[-_]/g, '');
  const table: Record<string, RestartPolicy> = { always: 'Always', onfailure: 'OnFailure', never: 'Never', no: 'Never' };
  const policy = table[key];
  if (!policy) throw new BarepodError('invalid-value', `${flag} "${text}": must be always, on-failure or never`);
  return policy;
}

/** Whether a container that exited with `exitCode` is started again under `policy`. */
export function shouldRestart(policy: RestartPolicy, exitCode: number | undefined): boolean {
  if (policy === 'Always') return true;
  if (policy === 'OnFailure') return exitCode !== 0;
  return false;
}

/**
 * The consecutive-crash count a new exit continues from: a container that ran
 * for the reset window or longer starts a fresh loop.
 */
export function crashLoopAfter(cfg: BackoffConfig, previous: number, ranMs: number): number {
  return ranMs >= cfg.resetMs ? 0 : previous;
}

/** Delay before the restart that follows `crashes` earlier restarts of the same loop: initial × 2^crashes, capped. */
export function backoffDelay(cfg: BackoffConfig, crashes: number): number {
  if (cfg.initialMs <= 0) return 0;
  const exp = Math.min(crashes, 40); // 2^40 × anything already exceeds any cap
  return Math.min(cfg.initialMs * 2 ** exp, cfg.maxMs);
}

/** Completed for 0, OOMKilled when the memory limit killed it, Error otherwise (Exited when a user's stop ended it). */
export function exitReason(exitCode: number | undefined, oomKilled: boolean, stoppedByUser = false): ExitReason {
  if (oomKilled) return 'OOMKilled';
  return exitCode === 0 ? 'Completed' : stoppedByUser ? 'Exited' : 'Error';
}

/** Checks a backoff configuration: delays not negative, the cap not below the initial delay. */
export function validateBackoff(cfg: BackoffConfig): BackoffConfig {
  if (cfg.initialMs < 0 || cfg.maxMs < 0 || cfg.resetMs < 0) throw new BarepodError('invalid-value', 'backoff delays must not be negative');
  if (cfg.maxMs < cfg.initialMs) {
    throw new BarepodError('invalid-value', `--backoff-max (${cfg.maxMs} ms) must not be below --backoff (${cfg.initialMs} ms)`);
  }
  return cfg;
}
