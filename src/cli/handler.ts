/**
 * The entry conmon's exit command and the backoff timer run (dist/handler.mjs):
 * `--root ROOT _exited POD MEMBER LAUNCH` or `--root ROOT _restart POD
 * CONTAINER TOKEN`, exactly as barepod writes them (src/pod/member.ts,
 * src/pod/backoff.ts). It loads the supervision code only, not the CLI
 * (commander and every command's definitions): a restart's Node start is on its
 * critical path. Any other argv (another order, --explain, a name the CLI would
 * refuse) goes to the whole CLI, which then behaves exactly as `barepod ARGV`.
 */
import { restoreExtraCaCerts } from '../runtime/self.js';
import { handlerCall } from './handler-call.js';

export { handlerCall };

export async function run(argv: string[]): Promise<number> {
  const call = handlerCall(argv.slice(2));
  if (!call) {
    const { main } = await import('./main.js');
    return main(argv);
  }
  const { runHandler } = await import('../pod/handlers.js');
  return runHandler(call);
}

// Run when this module is the program (the bundle's handler entry), not when a test imports it or a startup
// snapshot is built from it (src/cli/snapshot.ts). No top-level await: the snapshot's bundle is CommonJS.
if (process.argv[1] && /handler\.mjs$/.test(process.argv[1])) {
  restoreExtraCaCerts();
  void run(process.argv).then((code) => {
    process.exitCode = code;
  });
}
