/**
 * The everyday commands: those dist/core.blob holds (src/cli/snapshot-core.ts), a start-up snapshot of these
 * groups only, so a smaller heap to deserialize at each call (~4–6 ms less than the whole CLI's). bin/barepod
 * starts it for exactly these words (and `--version`); test/unit/command-groups.test.ts keeps its list equal to
 * CORE_WORDS. Every other command, `help` and `--help` start from dist/barepod.blob, which has every group.
 */
import type { CommandGroup } from './program.js';
import { registerContainerVerbs } from './commands/container.js';
import { registerExec } from './commands/exec.js';
import { registerInspect } from './commands/inspect.js';
import { registerLogs } from './commands/logs.js';
import { registerPod } from './commands/pod.js';
import { registerPs } from './commands/ps.js';
import { registerRun } from './commands/run.js';

export const POD_GROUP: CommandGroup = [registerPod, ['pod']];
export const RUN_GROUP: CommandGroup = [registerRun, ['run']];
export const PS_GROUP: CommandGroup = [registerPs, ['ps']];
export const INSPECT_GROUP: CommandGroup = [registerInspect, ['inspect']];
export const CONTAINER_VERBS_GROUP: CommandGroup = [registerContainerVerbs, ['stop', 'start', 'rm']];
export const LOGS_GROUP: CommandGroup = [registerLogs, ['logs']];
export const EXEC_GROUP: CommandGroup = [registerExec, ['exec']];

export const CORE_GROUPS: readonly CommandGroup[] = [POD_GROUP, RUN_GROUP, PS_GROUP, INSPECT_GROUP, CONTAINER_VERBS_GROUP, LOGS_GROUP, EXEC_GROUP];

/** The first words bin/barepod starts dist/core.blob for. */
export const CORE_WORDS: readonly string[] = CORE_GROUPS.flatMap(([, names]) => names);
