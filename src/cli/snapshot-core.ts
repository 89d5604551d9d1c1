/**
 * The entry of dist/core.blob: the same as ./snapshot.ts with the everyday command groups only (./core-groups.ts),
 * so fewer modules evaluated into the heap each call deserializes. bin/barepod starts it for those commands'
 * words and `--version`; any other word goes to dist/barepod.blob.
 */
import { CORE_GROUPS } from './core-groups.js';
import { runProgram } from './program.js';
import { runFromSnapshot } from './snapshot-main.js';

runFromSnapshot((argv) => runProgram(CORE_GROUPS, argv));
