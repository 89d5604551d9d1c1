import { Option, type Command } from 'commander';
import { parseWholeSeconds } from './definitions.js';
import { openRuntime, type Runtime } from '../pod/runtime.js';
import { enableExplain } from '../runtime/explain.js';
import { resolveSettings } from '../runtime/host.js';

/** The runtime for a command, from the global --root flag. */
export function runtimeFor(cmd: Command, tools: 'now' | 'when-used' = 'now'): Runtime {
  const opts = cmd.optsWithGlobals<{ root?: string }>();
  return openRuntime(resolveSettings({ root: opts.root }), { tools });
}

/** The runtime for a command that only reads (ps, pod ls, inspect): runc and conmon are looked up when first used. */
export const viewRuntimeFor = (cmd: Command): Runtime => runtimeFor(cmd, 'when-used');

/** Parses a --time value in whole seconds. */
export function parseSeconds(text: string, flag: string): number;
export function parseSeconds(text: string | undefined, flag: string, fallback: number): number;
export function parseSeconds(text: string | undefined, flag: string, fallback?: number): number {
  if (text === undefined) return fallback ?? 0;
  return parseWholeSeconds(text, flag);
}

/** `--explain`, the same on every command that has it: the narration of what barepod does, on stderr. */
export const explainOption = (): Option =>
  new Option(
    '--explain',
    'narrate each step on stderr: the programs run (runc, conmon, CNI plugins, mount, …) and the namespaces, cgroup and path of each config.json',
  );

/** A preAction hook: turns the narration on before the action runs, when --explain was given. */
export function explainHook(cmd: Command): void {
  if (cmd.opts<{ explain?: boolean }>().explain) enableExplain();
}

/** Collects a repeatable option into a list. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export { DEFAULT_GRACE_SECONDS } from '../model.js';

/** `-o wide|json`, kubectl's output flag on the listings: wide adds columns, json is --json. */
export const outputOption = (): Option => new Option('-o, --output <format>', 'wide: more columns; json: as --json').choices(['wide', 'json']);
