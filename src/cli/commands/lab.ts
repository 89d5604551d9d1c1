import type { Command } from 'commander';
import { BarepodError, ExitCode } from '../../errors.js';
import { printJson, printTable } from '../output.js';

/** The labs and their runner load only when `lab` runs. */
const load = async () => ({ ...(await import('../../labs/catalog.js')), ...(await import('../../labs/runner.js')) });

/** A lab number from the command line. */
async function labOf(text: string) {
  const { findLab, LABS } = await load();
  const lab = /^\d+$/.test(text) ? findLab(Number(text)) : undefined;
  if (!lab) throw new BarepodError('not-found', `no lab ${text}`, { hint: `the labs are ${LABS.map((l) => l.id).join(', ')}: barepod lab list` });
  return lab;
}

interface LabFlags {
  yes?: boolean;
  json?: boolean;
  prefix?: string;
}

/** `lab list|run|check`: the teaching labs, run on this host and checked against it. */
export function registerLab(program: Command): void {
  const lab = program
    .command('lab')
    .description('teaching labs: each walks through one experiment on this host (pods, namespaces, cgroups, signals) and checks what it claims')
    .addHelpText('after', '\nExamples:\n  sudo barepod lab list\n  sudo barepod lab run 2\n  sudo barepod lab check 2\n  sudo barepod lab check all --json');

  lab
    .command('list')
    .description('the labs, one line each')
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }) => {
      const { LABS, labsDir } = await load();
      const rows = LABS.map((l) => ({ id: l.id, title: l.title, seeds: l.seeds, steps: l.steps.length, page: `labs/${l.page}`, summary: l.summary }));
      if (o.json) return printJson({ labsDir: labsDir(), labs: rows });
      printTable(
        ['LAB', 'TITLE', 'SEEDS', 'STEPS', 'PAGE'],
        rows.map((r) => [String(r.id), r.title, r.seeds.join(','), String(r.steps), r.page]),
      );
    });

  const prefixOption = ['--prefix <name>', "name prefix of the lab's pods (default lab<N>): pods are <prefix>-<name>"] as const;

  lab
    .command('run')
    .argument('<lab>', 'the lab number')
    .description(
      "walk through a lab: each step's explanation, its commands and their output, what to look at, and its claims checked; pauses between steps on a terminal",
    )
    .option('-y, --yes', 'do not pause between steps')
    .option(...prefixOption)
    .addHelpText(
      'after',
      "\nThe lab's pods are removed before it starts (a run cut short) and after it ends, also on Ctrl-C.\n\nExamples:\n  sudo barepod lab run 1\n  sudo barepod lab run 3 --yes | less -R",
    )
    .action(async (id: string, o: LabFlags, cmd: Command) => {
      const l = await labOf(id);
      const { runLab, passed } = await load();
      const outcome = await runLab(l, { quiet: false, yes: o.yes === true, print: (s) => process.stdout.write(s + '\n'), ...options(o, cmd) });
      const held = outcome.claims.filter((c) => c.held).length;
      const quit = outcome.quitAfter ? ` (quit after step ${outcome.quitAfter} of ${l.steps.length}; the lab's pods are removed)` : '';
      process.stdout.write(`\n${held} of ${outcome.claims.length} claims held${quit}${outcome.error ? `; stopped: ${outcome.error}` : ''}\n`);
      if (!passed(outcome)) process.exitCode = ExitCode.failure;
    });

  lab
    .command('check')
    .argument('<lab>', 'the lab number, or all')
    .description("run a lab's steps quietly and say which of its claims held on this host; exit 1 if any did not")
    .option('--json', 'print the outcome as JSON')
    .option(...prefixOption)
    .addHelpText('after', '\nExamples:\n  sudo barepod lab check 2\n  sudo barepod lab check all --json')
    .action(async (id: string, o: LabFlags, cmd: Command) => {
      const { LABS, runLab, passed } = await load();
      const labs = id === 'all' ? LABS : [await labOf(id)];
      const outcomes = [];
      for (const l of labs) {
        const outcome = await runLab(l, { quiet: true, yes: true, print: () => undefined, ...options(o, cmd) });
        outcomes.push(outcome);
        if (o.json) continue;
        process.stdout.write(`Lab ${l.id}: ${l.title}\n`);
        for (const c of outcome.claims) process.stdout.write(`  ${c.held ? 'held' : 'FAILED'}  [step ${c.step}] ${c.says}${c.held ? '' : `: ${c.why}`}\n`);
        if (outcome.error) process.stdout.write(`  STOPPED ${outcome.error}\n`);
        process.stdout.write(`  ${outcome.claims.filter((c) => c.held).length} of ${outcome.claims.length} claims held\n`);
      }
      if (o.json) printJson(id === 'all' ? { labs: outcomes.map((x) => ({ ...x, passed: passed(x) })) } : { ...outcomes[0]!, passed: passed(outcomes[0]!) });
      if (!outcomes.every(passed)) process.exitCode = ExitCode.failure;
    });
}

/** The prefix and the state root the lab's commands use. */
function options(o: LabFlags, cmd: Command): { prefix?: string; root?: string } {
  const root = cmd.optsWithGlobals<{ root?: string }>().root;
  return { ...(o.prefix ? { prefix: o.prefix } : {}), ...(root ? { root } : {}) };
}
