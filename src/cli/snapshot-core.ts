/**
 * The entry of dist/core.blob: the same as ./snapshot.ts with the everyday command groups only (./core-groups.ts),
 * so fewer modules evaluated into the heap each call deserializes. bin/barepod starts it for those commands'
 * words and `--version`; any other word goes to dist/barepod.blob. The read commands are then run once on a
 * throwaway state root (./warm.ts), so the blob holds the bytecode of what they run: a call from it compiles
 * only what they did not.
 */
import { CORE_GROUPS } from './core-groups.js';
import { runProgram } from './program.js';
import { runFromSnapshot } from './snapshot-main.js';
import { warmReadCommands } from './warm.js';

const run = (argv: string[]): Promise<number> => runProgram(CORE_GROUPS, argv);
runFromSnapshot(run);
// node --build-snapshot takes the heap once this script's work is done, its promises included
void warmReadCommands(run);
