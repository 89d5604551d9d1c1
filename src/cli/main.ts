import { Command, CommanderError, Option } from 'commander';
import { BarepodError, describeError, ExitCode } from '../errors.js';
import { disableExplain, explaining } from '../runtime/explain.js';
import { registerDoctor } from './commands/doctor.js';
import { registerExec } from './commands/exec.js';
import { registerImages } from './commands/images.js';
import { registerInspect } from './commands/inspect.js';
import { registerLogs } from './commands/logs.js';
import { registerNetwork } from './commands/network.js';
import { registerContainerVerbs } from './commands/container.js';
import { registerPod } from './commands/pod.js';
import { registerPs } from './commands/ps.js';
import { registerRun } from './commands/run.js';
import { registerSpec } from './commands/spec.js';
import { registerSupervision } from './commands/supervise.js';
import { registerManifest } from './commands/manifest.js';
import { registerGenerate } from './commands/generate.js';
import { registerLab } from './commands/lab.js';
import { registerObserve } from './commands/observe.js';
import { validateNameArgs } from './name-args.js';

export const VERSION = '0.1.0';

/** Builds the command tree; commands are thin: parse, call the pod layer, print. */
export function buildProgram(): Command {
  const program = new Command('barepod')
    .description('Kubernetes-style pods on one Linux host, on runc and conmon: no Docker, no Kubernetes.')
    .version(VERSION, '-V, --version')
    .addOption(new Option('--root <dir>', 'state root (default /run/barepod; env BAREPOD_ROOT)'))
    .option('--debug', 'show stack traces and the failing command of an error')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride()
    // every pod and container name on the command line is a DNS-1123 label before any command runs
    .hook('preAction', (_program, action) => validateNameArgs(action));
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
4 conflict (exists, busy, wrong state), 5 missing prerequisite, 6 sandbox gone.`,
  );
  registerPod(program);
  registerRun(program);
  registerPs(program);
  registerInspect(program);
  registerObserve(program);
  registerSpec(program);
  registerContainerVerbs(program);
  registerLogs(program);
  registerImages(program);
  registerExec(program);
  registerSupervision(program);
  registerManifest(program);
  registerGenerate(program);
  registerNetwork(program);
  registerDoctor(program);
  registerLab(program);
  return program;
}

/** The one top-level handler: runs the CLI and sets the exit code; commands never call process.exit. */
export async function main(argv: string[]): Promise<number> {
  // `barepod ps | head`: a reader that goes away is not an error
  let narrationLost = false;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      // but `up --explain 2>&1 | head` must not stop a pod change half-way: only the narration stops
      // (and the writes already under way fail quietly)
      if (stream === process.stderr && (explaining || narrationLost) && (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED')) {
        narrationLost = true;
        disableExplain();
        return;
      }
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return ExitCode.usage;
    }
    const debug = program.opts().debug === true || process.env.BAREPOD_DEBUG === '1';
    const d = describeError(err);
    process.stderr.write(`barepod: error: ${d.message}\n`);
    if (d.hint) process.stderr.write(`barepod: hint: ${d.hint}\n`);
    if (debug) {
      if (err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
      const tool = err as { argv?: string[]; stderr?: string };
      if (tool.argv) process.stderr.write(`command: ${tool.argv.join(' ')}\n${tool.stderr ?? ''}\n`);
    }
    if (!(err instanceof BarepodError) && !debug) process.stderr.write('barepod: (an unexpected error: run with --debug for details)\n');
    return d.exitCode;
  }
}

// Run when this module is the program (the bundle's entry), not when a test imports it.
if (process.argv[1] && /barepod\.mjs$/.test(process.argv[1])) {
  if (process.env.BAREPOD_EXTRA_CA_CERTS) {
    process.env.NODE_EXTRA_CA_CERTS = process.env.BAREPOD_EXTRA_CA_CERTS;
    delete process.env.BAREPOD_EXTRA_CA_CERTS;
  }
  process.exitCode = await main(process.argv);
}
