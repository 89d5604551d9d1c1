/**
 * Which argv the exit handler's entries (dist/handler.mjs, dist/handler.blob) handle themselves: exactly the shape
 * barepod writes for conmon's exit command and the backoff timer (src/pod/member.ts, src/pod/backoff.ts).
 */
import { isValidName, SANDBOX_NAME } from '../names.js';
import type { HandlerCall } from '../pod/handlers.js';

/** The handler call an argv is, when it has exactly the shape barepod writes; undefined for anything else. */
export function handlerCall(args: readonly string[]): HandlerCall | undefined {
  if (args.length !== 6 || args[0] !== '--root') return undefined;
  const [, root, kind, pod, member, token] = args as [string, string, string, string, string, string];
  if (kind !== '_exited' && kind !== '_restart') return undefined;
  if (root === '' || root.startsWith('-') || token === '' || token.startsWith('-')) return undefined;
  if (!isValidName(pod) || !(member === SANDBOX_NAME || isValidName(member))) return undefined;
  return { kind, root, pod, member, token };
}
