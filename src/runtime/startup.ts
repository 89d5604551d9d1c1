/**
 * How this process started: from barepod's V8 startup snapshot (dist/barepod.blob or dist/handler.blob, see
 * scripts/bundle.mjs and bin/barepod) or from the plain bundle. `barepod doctor` reports it.
 */
import { pathToFileURL } from 'node:url';

let fromSnapshot = false;

/** Called first by the snapshot's main function (src/cli/snapshot.ts), at run time. */
export function markStartedFromSnapshot(): void {
  fromSnapshot = true;
  // import.meta.url of the bundle's modules: the CommonJS snapshot bundle has none, so esbuild reads this instead
  // (scripts/bundle.mjs `define`); bin/barepod passes the ESM bundle's path as argv[1], so paths resolve as there
  // (a getter: only `barepod help` reads it, and a URL costs ~1 ms to make)
  Object.defineProperty(globalThis, '__barepodModuleUrl', { configurable: true, get: () => pathToFileURL(process.argv[1] ?? '').href });
}

export function startedFromSnapshot(): boolean {
  return fromSnapshot;
}
