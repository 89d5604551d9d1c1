/**
 * The entry of the exit handler's V8 startup snapshot (dist/handler.blob): the same as src/cli/snapshot.ts for
 * dist/handler.mjs, which conmon's exit command and the backoff timer run (`node --snapshot-blob
 * dist/handler.blob dist/handler.mjs ARGS` when the blob fits this Node, see HANDLER_PRELUDE_SH). It holds the
 * supervision code only, not the CLI (a smaller heap to start from): any other argv runs the plain
 * dist/handler.mjs, which hands it to the whole CLI.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import v8 from 'node:v8';
import { runHandler } from '../pod/handlers.js';
import { restoreExtraCaCerts } from '../runtime/self.js';
import { markStartedFromSnapshot } from '../runtime/startup.js';
import { handlerCall } from './handler-call.js';

v8.startupSnapshot.setDeserializeMainFunction(() => {
  markStartedFromSnapshot();
  const call = handlerCall(process.argv.slice(2));
  if (!call) {
    // NODE_EXTRA_CA_CERTS stays aside: the plain entry puts it back as this one would
    const r = spawnSync(process.execPath, process.argv.slice(1), { stdio: 'inherit' });
    process.exitCode = r.status ?? (r.signal ? 128 + (os.constants.signals[r.signal] ?? 0) : 1);
    return;
  }
  restoreExtraCaCerts();
  void runHandler(call).then((code) => {
    process.exitCode = code;
  });
});
