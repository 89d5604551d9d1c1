/**
 * The CLI's program around its commands: the root options, the one error handler and exit code, `--json` errors.
 * Which commands it has is its caller's: src/cli/main.ts gives every group (the plain bundle and
 * dist/barepod.blob), src/cli/snapshot-core.ts the everyday ones only (dist/core.blob, a smaller heap to start from).
 */
import { Command, CommanderError, Option } from 'commander';
import { causeChain, describeChain, describeError, errorJson, ExitCode, isUnexpected } from '../errors.js';
import { disableExplain, explaining } from '../runtime/explain.js';
import { trace, tracing } from '../runtime/exec.js';
import { startupNote } from '../runtime/startup.js';
import { validateNameArgs } from './name-args.js';
import { whenStdioMade } from './stdio.js';

export const VERSION = '0.1.0';

/** The command that runs, per program, kept by the preAction hook (for its --json when it fails). */
const running = new WeakMap<Command, Command>();

/**
 * Whether the failed command was asked for JSON: the running command's own
 * --json, or (for an error commander found while parsing, before any command
 * ran) a `--json` word before `--`.
 */
function wantsJson(program: Command, argv: string[]): boolean {
  const action = running.get(program);
  if (action) return action.opts().json === true || action.opts().output === 'json';
  const words = argv.slice(2);
  const end = words.indexOf('--');
  const before = end < 0 ? words : words.slice(0, end);
  return (
    before.includes('--json') ||
    before.some((w, i) => w === '--output=json' || w === '-ojson' || ((w === '-o' || w === '--output') && before[i + 1] === 'json'))
  );
}

/** A function that adds top-level commands, with the names (and aliases) it adds. */
export type CommandGroup = readonly [register: (program: Command) => void, names: readonly string[]];

/**
 * The command an argv names: its first word after the program's own options (`--root DIR`, `--root=DIR`,
 * `--debug`); undefined when another option comes first (`--help`, `--version`, a mistake) or there is none.
 */
export function commandWord(argv: readonly string[]): string | undefined {
  const words = argv.slice(2);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--root') i++;
    else if (w.startsWith('--root=') || w === '--debug') continue;
    else return w.startsWith('-') ? undefined : w;
  }
  return undefined;
}

/**
 * Builds the command tree; commands are thin: parse, call the pod layer, print. Given the argv it will parse,
 * only the command group that argv names (the whole tree when it names none, or `help`).
 */
export function buildProgram(groups: readonly CommandGroup[], argv?: readonly string[]): Command {
  const program = new Command('barepod')
    .description('Kubernetes-style pods on one Linux host, on runc and conmon: no Docker, no Kubernetes.')
    .version(VERSION, '-V, --version')
    .addOption(new Option('--root <dir>', 'state root (default /run/barepod; env BAREPOD_ROOT)'))
    .option('--debug', "on an error, show its chain of causes, a failed program's argv and stderr, and the stack")
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride()
    // `barepod help` is barepod's own (registerHelp), also when only another command's group is registered
    .helpCommand(false)
    // every pod and container name on the command line is a DNS-1123 label before any command runs
    .hook('preAction', (_program, action) => {
      running.set(program, action);
      validateNameArgs(action);
    });
  program.addHelpText(
    'after',
    `
Examples:
  barepod pod create web -p 8080:80
  barepod run --pod web --name app --image busybox -- httpd -f -p 8080
  barepod ps
  barepod inspect web
  barepod pod rm web

Exit codes: 0 ok, 1 failure, 2 usage or invalid input, 3 not found,
4 conflict (exists, busy, wrong state), 5 missing prerequisite, 6 sandbox gone.

Manual pages: barepod help COMMAND (or man barepod-COMMAND after scripts/setup).`,
  );
  // `barepod --version` needs no command at all
  const versionOnly = argv !== undefined && argv.length === 3 && (argv[2] === '-V' || argv[2] === '--version');
  const word = argv === undefined ? undefined : commandWord(argv);
  const only = word === undefined || word === 'help' ? undefined : groups.find(([, names]) => names.includes(word));
  // the command named on the line is all a call needs (its definitions are a third of a read command's start);
  // help, a usage error's suggestions and anything else get the whole tree
  for (const [register] of versionOnly ? [] : only ? [only] : groups) register(program);
  return program;
}

/** The one top-level handler: runs the CLI and sets the exit code; commands never call process.exit. */
export async function runProgram(groups: readonly CommandGroup[], argv: string[]): Promise<number> {
  // what this call's start cost before barepod's own work, and which blob it started from (bin/barepod picks one)
  if (tracing()) trace(`barepod ${commandWord(argv) ?? argv.slice(2, 3).join('')}: node up ${process.uptime().toFixed(3)}s${startupNote()}`, performance.now());
  // `barepod ps | head`: a reader that goes away is not an error
  let narrationLost = false;
  // (set up when Node makes each stream, not by making both at every call: a read command writes its output with
  // write(2) and nothing on stderr, and making a pipe's or a terminal's stream loads Node's net or tty code, ~1.5 ms)
  for (const name of ['stdout', 'stderr'] as const) {
    whenStdioMade(name, (stream) =>
      stream.on('error', (e: NodeJS.ErrnoException) => {
        // but `up --explain 2>&1 | head` must not stop a pod change half-way: only the narration stops
        // (and the writes already under way fail quietly)
        if (name === 'stderr' && (explaining || narrationLost) && (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED')) {
          narrationLost = true;
          disableExplain();
          return;
        }
        if (e.code === 'EPIPE') process.exit(0);
        throw e;
      }),
    );
  }
  const program = buildProgram(groups, argv);
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      // commander already said it on stderr; a script asked for JSON gets the object too
      if (wantsJson(program, argv)) {
        printErrorJson({ error: { code: 'usage', message: err.message.replace(/^error: /, ''), hint: 'run with --help for usage', exitCode: ExitCode.usage } });
      }
      return ExitCode.usage;
    }
    const debug = program.opts().debug === true || process.env.BAREPOD_DEBUG === '1';
    const d = describeError(err);
    process.stderr.write(`barepod: error: ${d.message}\n`);
    if (d.hint) process.stderr.write(`barepod: hint: ${d.hint}\n`);
    if (debug) {
      // the whole chain: each cause, a failed program's argv and stderr, each failed undo; then where it was thrown
      process.stderr.write(
        describeChain(err)
          .map((l) => `barepod: debug: ${l}`)
          .join('\n') + '\n',
      );
      const innermost = causeChainEnd(err);
      if (innermost instanceof Error && innermost.stack) process.stderr.write(innermost.stack + '\n');
    }
    if (isUnexpected(err) && !debug) process.stderr.write('barepod: (an unexpected error: run with --debug for details)\n');
    if (wantsJson(program, argv)) printErrorJson(errorJson(err));
    return d.exitCode;
  }
}

/** The --json error object, one line on stdout (after whatever the command printed before it failed). */
function printErrorJson(value: ReturnType<typeof errorJson>): void {
  try {
    process.stdout.write(JSON.stringify(value) + '\n');
  } catch {
    // stdout is gone: the exit status still says it
  }
}

/** The deepest error of the chain: its stack says where the failure began. */
function causeChainEnd(err: unknown): unknown {
  const chain = causeChain(err);
  return chain[chain.length - 1];
}
