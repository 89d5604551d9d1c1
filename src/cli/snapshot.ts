/**
 * The entry of the CLI's V8 startup snapshot (dist/barepod.blob): scripts/bundle.mjs bundles it as CommonJS and
 * runs `node --build-snapshot` on it, which evaluates every module once, at build time; bin/barepod then starts
 * `node --snapshot-blob dist/barepod.blob dist/barepod.mjs ARGS`, which deserializes that heap instead of loading
 * and compiling the modules again, and calls the function below. So no module may read the environment, the
 * clock or the terminal at its top level (test/unit/load-time-reads.test.ts): it would be frozen at build time.
 */
import v8 from 'node:v8';
import { restoreExtraCaCerts } from '../runtime/self.js';
import { markStartedFromSnapshot } from '../runtime/startup.js';
import { main } from './main.js';

v8.startupSnapshot.setDeserializeMainFunction(() => {
  markStartedFromSnapshot();
  restoreExtraCaCerts();
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
});
