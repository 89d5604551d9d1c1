import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, COMMAND_GROUPS, commandWord } from '../../src/cli/main.js';
import { CORE_GROUPS, CORE_WORDS } from '../../src/cli/core-groups.js';
import { buildProgram as buildProgramOf } from '../../src/cli/program.js';

/** The top-level words (names and aliases) a command tree has. */
const wordsOf = (program: Command): string[] => program.commands.flatMap((c) => [c.name(), ...c.aliases()]);

/** Every command's help text, by its path (`pod ls`), over the whole tree under `cmd`. */
function helpTexts(cmd: Command, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of cmd.commands) {
    const path = `${prefix}${c.name()}`;
    out.set(path, c.helpInformation());
    for (const [k, v] of helpTexts(c, `${path} `)) out.set(k, v);
  }
  return out;
}

describe('command groups (a call registers only the command it names)', () => {
  it('names exactly the top-level commands each register function adds, none twice', () => {
    const seen = new Set<string>();
    for (const [register, names] of COMMAND_GROUPS) {
      const scratch = new Command('barepod');
      register(scratch);
      expect([...wordsOf(scratch)].sort()).toEqual([...names].sort());
      for (const n of names) {
        expect(seen.has(n), n).toBe(false);
        seen.add(n);
      }
    }
    expect([...seen].sort()).toEqual(wordsOf(buildProgram()).sort());
  });

  it('finds the command word after the program options', () => {
    expect(commandWord(['node', 'barepod', 'ps', '-a'])).toBe('ps');
    expect(commandWord(['node', 'barepod', '--root', '/x', '--debug', 'pod', 'ls'])).toBe('pod');
    expect(commandWord(['node', 'barepod', '--root=/x', 'gc'])).toBe('gc');
    expect(commandWord(['node', 'barepod', '--help'])).toBeUndefined();
    expect(commandWord(['node', 'barepod', '--root'])).toBeUndefined();
    expect(commandWord(['node', 'barepod', '-V', 'ps'])).toBeUndefined();
    expect(commandWord(['node', 'barepod'])).toBeUndefined();
  });

  it('registers the named group only, and the whole tree for help, options first or an unknown word', () => {
    expect(wordsOf(buildProgram(['node', 'barepod', 'ps']))).toEqual(['ps']);
    expect(wordsOf(buildProgram(['node', 'barepod', '--root', '/x', 'volume', 'ls']))).toEqual(['volume']);
    const all = wordsOf(buildProgram()).sort();
    for (const argv of [['help', 'ps'], ['--help'], ['pss'], []]) expect(wordsOf(buildProgram(['node', 'barepod', ...argv])).sort()).toEqual(all);
  });

  it('has the everyday groups (dist/core.blob) among the whole tree, and gives their commands the same help there', () => {
    for (const group of CORE_GROUPS) expect(COMMAND_GROUPS, group[1].join(' ')).toContain(group);
    expect(CORE_WORDS).toEqual(['pod', 'run', 'ps', 'inspect', 'stop', 'start', 'rm', 'logs', 'exec']);
    const whole = helpTexts(buildProgram());
    for (const word of CORE_WORDS) {
      const alone = helpTexts(buildProgramOf(CORE_GROUPS, ['node', 'barepod', word]));
      expect(alone.size, word).toBeGreaterThan(0);
      for (const [p, text] of alone) expect(text, p).toBe(whole.get(p));
    }
    // `--version` from the core program: no command is needed
    expect(wordsOf(buildProgramOf(CORE_GROUPS, ['node', 'barepod', '--version']))).toEqual([]);
  });

  it('gives every command the same help text alone as in the whole tree', () => {
    const whole = helpTexts(buildProgram());
    for (const [, names] of COMMAND_GROUPS) {
      for (const name of names) {
        const alone = helpTexts(buildProgram(['node', 'barepod', name]));
        for (const [path, text] of alone) expect(text, path).toBe(whole.get(path));
      }
    }
  });
});
