/**
 * The hidden handlers conmon and the backoff timer run (`_exited`, `_restart`),
 * shared by the CLI's commands and the small handler entry (src/cli/handler.ts)
 * that conmon's exit command starts without the rest of the CLI.
 */
import { describeError, hasCode } from '../errors.js';
import { appendEvent } from '../runtime/events.js';
import { resolveSettings } from '../runtime/host.js';
import { openRuntime, type Runtime } from './runtime.js';
import { handleDelayedRestart, handleExit } from './supervise.js';

/** A handler call: conmon's exit command (`_exited POD MEMBER LAUNCH`) or a delayed restart (`_restart POD CONTAINER TOKEN`). */
export interface HandlerCall {
  kind: '_exited' | '_restart';
  root: string | undefined;
  pod: string;
  member: string;
  token: string;
}

/** Runs a handler call the way the CLI does; resolves with the exit code. */
export async function runHandler(call: HandlerCall, rt: () => Runtime = () => openRuntime(resolveSettings({ root: call.root }))): Promise<number> {
  return quietly(rt, call.pod, call.member, () =>
    call.kind === '_exited' ? handleExit(rt(), call.pod, call.member, call.token) : handleDelayedRestart(rt(), call.pod, call.member, call.token),
  );
}

/** Handlers run with no one watching (conmon gives them /dev/null): a failure becomes an event. A pod removed meanwhile is not one. */
export async function quietly(rt: () => Runtime, pod: string, container: string, fn: () => Promise<void>): Promise<number> {
  try {
    await fn();
    return 0;
  } catch (e) {
    if (hasCode(e, 'not-found')) return 0;
    const d = describeError(e);
    try {
      appendEvent(rt().settings.stateRoot, { type: 'restart-failed', pod, container, message: d.message });
    } catch {
      // nowhere left to report it
    }
    return d.exitCode;
  }
}
