/**
 * How this process started: from one of barepod's V8 startup snapshots (dist/barepod.blob, dist/core.blob or
 * dist/handler.blob, see scripts/bundle.mjs and bin/barepod) or from the plain bundle. `barepod doctor` and the
 * traces (BAREPOD_TRACE) report it.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

let fromBlob: string | undefined;

/** Called first by the snapshot's main function (src/cli/snapshot-main.ts, src/cli/handler-snapshot.ts), at run time. */
export function markStartedFromSnapshot(): void {
  // the blob Node started from: `node --snapshot-blob BLOB ENTRY ...` (bin/barepod and the exit command give it absolute)
  const at = process.execArgv.indexOf('--snapshot-blob');
  fromBlob = path.resolve(at >= 0 ? (process.execArgv[at + 1] ?? '') : '');
  // import.meta.url of the bundle's modules: the CommonJS snapshot bundle has none, so esbuild reads this instead
  // (scripts/bundle.mjs `define`); bin/barepod passes the ESM bundle's path as argv[1], so paths resolve as there
  // (a getter: only `barepod help` reads it, and a URL costs ~1 ms to make)
  Object.defineProperty(globalThis, '__barepodModuleUrl', { configurable: true, get: () => pathToFileURL(process.argv[1] ?? '').href });
}

export function startedFromSnapshot(): boolean {
  return fromBlob !== undefined;
}

/** The blob this process started from, or undefined when it ran the plain bundle. */
export function startupBlob(): string | undefined {
  return fromBlob;
}

/** How this process started, for a trace line: ` (from the start-up snapshot BLOB)`, or '' from the plain bundle. */
export function startupNote(): string {
  return fromBlob === undefined ? '' : ` (from the start-up snapshot ${fromBlob})`;
}
