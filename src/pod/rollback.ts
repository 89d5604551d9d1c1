import { withUndoFailures, wrap } from '../errors.js';
import { explain, explaining, explainStep } from '../runtime/explain.js';

/**
 * The undo stack of one command: every step that acquires something pushes
 * how to release it; on failure the undos run in reverse, and their own
 * failures are joined to the error instead of being swallowed; the error
 * keeps its code (and so its exit status), see withUndoFailures.
 */
export class Rollback {
  private steps: { what: string; undo: () => Promise<void> | void }[] = [];

  push(what: string, undo: () => Promise<void> | void): void {
    this.steps.push({ what, undo });
  }

  /** How many undos are waiting. */
  get size(): number {
    return this.steps.length;
  }

  /** Runs every undo, newest first; returns the failures, each naming its step. */
  async unwind(): Promise<Error[]> {
    const failures: Error[] = [];
    for (const step of this.steps.reverse()) {
      if (explaining) explain(`undo: ${step.what}`);
      try {
        await step.undo();
      } catch (e) {
        failures.push(wrap(e, step.what)); // names its step, keeps its cause (a failed program's argv and stderr)
      }
    }
    this.steps = [];
    return failures;
  }
}

/** Runs `fn` with an undo stack that is unwound if it throws. */
export async function transaction<T>(fn: (rb: Rollback) => Promise<T>): Promise<T> {
  const rb = new Rollback();
  try {
    return await fn(rb);
  } catch (e) {
    const unwind = () => rb.unwind();
    throw withUndoFailures(
      e,
      await (explaining && rb.size > 0 ? explainStep('Rollback: a step failed, so undo what was made, newest first', unwind) : unwind()),
    );
  }
}
