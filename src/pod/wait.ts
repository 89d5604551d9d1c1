/**
 * Waiting for a pod (`wait`, `up --wait`): polls its record until it is
 * ready or gone, and fails at once, saying why, when it can never get there
 * (Failed, its creator gone half-way, an app container ended for good).
 */
import { BarepodError } from '../errors.js';
import { formatDuration } from '../duration.js';
import { isAlive } from '../runtime/procfs.js';
import type { Runtime } from './runtime.js';
import { endedForGood, podReady } from './up.js';

export type WaitCondition = 'ready' | 'delete';

/** How often the record is read again: the exit handlers and the prober write it; nothing signals a reader. */
const POLL_MS = 100;

/** Resolves once the condition holds; a timeout (or a pod that can never get there) is an error saying why. */
export async function waitForPod(rt: Runtime, pod: string, condition: WaitCondition, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rec = rt.store.tryRead(pod);
    if (condition === 'delete') {
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
