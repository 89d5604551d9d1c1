/**
 * The entry of the exit handler's V8 startup snapshot (dist/handler.blob): the same as src/cli/snapshot.ts for
 * dist/handler.mjs, which conmon's exit command and the backoff timer run (`node --snapshot-blob
 * dist/handler.blob dist/handler.mjs ARGS` when the blob fits this Node, see HANDLER_PRELUDE_SH).
 */
import v8 from 'node:v8';
import { restoreExtraCaCerts } from '../runtime/self.js';
import { markStartedFromSnapshot } from '../runtime/startup.js';
import { run } from './handler.js';

v8.startupSnapshot.setDeserializeMainFunction(() => {
  markStartedFromSnapshot();
  restoreExtraCaCerts();
  void run(process.argv).then((code) => {
    process.exitCode = code;
  });
});
