import type { Command } from 'commander';
import { validateMemberName, validateName } from '../names.js';

/**
 * Pod and container names given on the command line are checked before any
 * command runs, whatever the command (read, remove, hidden handler): a name
 * like `../../etc` is a usage error (exit 2) naming the rule. The arguments
 * and options are found by their names, so a new command that takes
 * `<pod>`, `<pods...>`, `<container>` or `--pod` is checked without asking.
 * (podPaths()/containerPaths() refuse such names too: this is the first wall.)
 */
const POD_ARGS = new Set(['pod', 'pods']);
const MEMBER_ARGS = new Set(['container', 'member']);
/** Commands whose pod or container argument has another name. */
const EXTRA: Record<string, { pod?: string[]; container?: string[] }> = {
  'pod create': { pod: ['name'] },
  'pod rm': { pod: ['names'] },
  run: { container: ['name'] },
};

export const fullName = (cmd: Command): string => {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
};

function check(kind: 'pod' | 'container', value: unknown): void {
  const values = Array.isArray(value) ? value : [value];
  for (const v of values) {
    if (typeof v !== 'string') continue;
    if (kind === 'pod') validateName('pod', v);
    else validateMemberName(v);
  }
}

/** Whether an argument or option (by its name) of a command takes a pod name, a container name, or neither. */
export function nameKind(cmd: Command, name: string): 'pod' | 'container' | undefined {
  const extra = EXTRA[fullName(cmd)] ?? {};
  if (POD_ARGS.has(name) || extra.pod?.includes(name)) return 'pod';
  if (MEMBER_ARGS.has(name) || extra.container?.includes(name)) return 'container';
  return undefined;
}

/** A preAction hook for the whole program: validates the name arguments and options of the command about to run. */
export function validateNameArgs(cmd: Command): void {
  cmd.registeredArguments.forEach((arg, i) => {
    const kind = nameKind(cmd, arg.name());
    if (kind) check(kind, cmd.processedArgs[i]);
  });
  const opts = cmd.opts<Record<string, unknown>>();
  for (const option of cmd.options) {
    const kind = nameKind(cmd, option.attributeName());
    if (kind) check(kind, opts[option.attributeName()]);
  }
}
