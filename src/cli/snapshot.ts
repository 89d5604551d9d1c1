/**
 * The entry of the CLI's V8 startup snapshot (dist/barepod.blob, every command): scripts/bundle.mjs bundles it as
 * CommonJS and runs `node --build-snapshot` on it, which evaluates every module once, at build time; bin/barepod
 * then starts `node --snapshot-blob dist/barepod.blob dist/barepod.mjs ARGS`, which deserializes that heap instead
 * of loading and compiling the modules again, and runs main (./snapshot-main.ts). So no module may read the
 * environment, the clock or the terminal at its top level (test/unit/no-load-time-env.test.ts): it would be frozen
 * at build time. The everyday commands start from the smaller dist/core.blob (./snapshot-core.ts).
 */
import { main } from './main.js';
import { runFromSnapshot } from './snapshot-main.js';

runFromSnapshot(main);
