import type { Command } from 'commander';

/**
 * `barepod help [COMMAND…]`: the command's manual page (docs/man), as text; `--roff` as roff for man(1).
 * Replaces commander's own help command; `barepod COMMAND --help` is unchanged. The renderer is loaded
 * only here, so no other command pays for it.
 */
export function registerHelp(program: Command, version: string): void {
  program.helpCommand(false);
  program
    .command('help')
    .argument('[command...]', 'the command (pod create, run, …) or page name (barepod-pod-create); none: barepod(1)')
    .description("print a command's manual page (docs/man/barepod-COMMAND.1.md)")
    .option('--roff', 'print it as roff, for man (scripts/install-man installs every page this way)')
    .addHelpText('after', '\nExamples:\n  barepod help run\n  barepod help pod create | less\n  barepod help --roff run | man -l -')
    .action(async (words: string[], o: { roff?: boolean }) => {
      const { pageFor, readPage, renderRoff, renderText } = await import('../man-page.js');
      const md = readPage(pageFor(words));
      const tty = process.stdout.isTTY === true;
      process.stdout.write(
        o.roff ? renderRoff(md, version) : renderText(md, { width: tty ? process.stdout.columns : 80, color: tty && !process.env.NO_COLOR }),
      );
    });
}
