import type { Command } from 'commander';
import { BarepodError } from '../errors.js';
import { openRuntime, type Runtime } from '../pod/runtime.js';
import { resolveSettings } from '../runtime/host.js';

/** The runtime for a command, from the global --root flag. */
export function runtimeFor(cmd: Command): Runtime {
  const opts = cmd.optsWithGlobals<{ root?: string }>();
  return openRuntime(resolveSettings({ root: opts.root }));
}

/** Parses a --time/--grace-period value in whole seconds. */
export function parseSeconds(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new BarepodError('invalid-value', `${flag} "${text}": must be a whole number of seconds`);
  return Number(text);
}

/** Collects a repeatable option into a list. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Kubernetes' default terminationGracePeriodSeconds. */
export const DEFAULT_GRACE_SECONDS = 30;
