/**
 * What a CLI start-up snapshot (dist/barepod.blob, dist/core.blob) runs once Node has deserialized it: its entry
 * (src/cli/snapshot.ts, src/cli/snapshot-core.ts) gives the program to run on this call's argv.
 */
import v8 from 'node:v8';
import { restoreExtraCaCerts } from '../runtime/self.js';
import { markStartedFromSnapshot } from '../runtime/startup.js';

export function runFromSnapshot(program: (argv: string[]) => Promise<number>): void {
  v8.startupSnapshot.setDeserializeMainFunction(() => {
    markStartedFromSnapshot();
    restoreExtraCaCerts();
    void program(process.argv).then((code) => {
      process.exitCode = code;
    });
  });
}
