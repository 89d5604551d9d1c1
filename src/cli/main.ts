/**
 * The whole CLI: every command group, in the order `--help` lists them. The plain bundle's entry
 * (dist/barepod.mjs) and dist/barepod.blob (src/cli/snapshot.ts) run it; see ./program.ts for the program itself.
 */
import { registerDoctor } from './commands/doctor.js';
import { registerAttach } from './commands/attach.js';
import { registerImages } from './commands/images.js';
import { registerNetwork } from './commands/network.js';
import { registerSpec } from './commands/spec.js';
import { registerSupervision } from './commands/supervise.js';
import { registerManifest } from './commands/manifest.js';
import { registerGenerate } from './commands/generate.js';
import { registerLab } from './commands/lab.js';
import { registerHelp } from './commands/help.js';
import { registerObserve } from './commands/observe.js';
import { registerConfig } from './commands/config.js';
import { registerVolume } from './commands/volume.js';
import { restoreExtraCaCerts } from '../runtime/self.js';
import { CONTAINER_VERBS_GROUP, EXEC_GROUP, INSPECT_GROUP, LOGS_GROUP, POD_GROUP, PS_GROUP, RUN_GROUP } from './core-groups.js';
import { buildProgram as buildProgramOf, runProgram, VERSION, type CommandGroup } from './program.js';

export { commandWord, VERSION } from './program.js';

/**
 * Each function that adds top-level commands, with the names (and aliases) it adds, in the order `--help` lists
 * them; test/unit/command-groups.test.ts checks the names against what each one adds.
 */
export const COMMAND_GROUPS: readonly CommandGroup[] = [
  POD_GROUP,
  RUN_GROUP,
  PS_GROUP,
  INSPECT_GROUP,
  [registerObserve, ['ns', 'cgroups', 'top', 'stats']],
  [registerSpec, ['spec']],
  CONTAINER_VERBS_GROUP,
  LOGS_GROUP,
  [registerImages, ['pull', 'images', 'rmi', 'import', 'image']],
  EXEC_GROUP,
  [registerAttach, ['attach']],
  [registerSupervision, ['events', 'gc', '_exited', '_unhealthy', '_job-deadline', '_restart']],
  [registerManifest, ['up', 'down', 'export', 'wait']],
  [registerGenerate, ['generate']],
  [registerNetwork, ['network']],
  [registerConfig, ['configmap', 'secret']],
  [registerVolume, ['volume']],
  [registerDoctor, ['doctor']],
  [registerLab, ['lab']],
  [(program) => registerHelp(program, VERSION), ['help']],
];

/** The whole CLI's command tree (only the group `argv` names, when given: see buildProgram in ./program.ts). */
export function buildProgram(argv?: readonly string[]) {
  return buildProgramOf(COMMAND_GROUPS, argv);
}

/** Runs the whole CLI on `argv` and gives the exit code; commands never call process.exit. */
export function main(argv: string[]): Promise<number> {
  return runProgram(COMMAND_GROUPS, argv);
}

// Run when this module is the program (the bundle's entry), not when a test imports it or a startup snapshot is
// built from it (src/cli/snapshot.ts runs main itself). No top-level await: the snapshot's bundle is CommonJS.
if (process.argv[1] && /barepod\.mjs$/.test(process.argv[1])) {
  restoreExtraCaCerts();
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
