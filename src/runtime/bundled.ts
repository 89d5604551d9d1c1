/**
 * The helper programs barepod builds from C (bundles/<dir>/: the attach relay,
 * the prober): found beside the bundle (dist/), where `npm run build` puts
 * them, or in bundles/<dir>/, where their own Makefile builds them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BarepodError } from '../errors.js';

/** Where the helper `program` (built in bundles/`dir`) is, or undefined when it is not built. */
export function findBundled(program: string, dir: string): string | undefined {
  const here = path.dirname(path.resolve(process.argv[1] ?? ''));
  return [path.join(here, program), path.join(here, '..', 'bundles', dir, program)].find((candidate) => fs.existsSync(candidate));
}

/** The helper `program`'s path; a missing-tool error naming it and `what` it is when it is not built. */
export function bundledHelper(program: string, dir: string, what: string): string {
  const found = findBundled(program, dir);
  if (found) return found;
  throw new BarepodError('missing-tool', `${program} not found (${what})`, {
    hint: 'build it: apt-get install gcc make, then npm run build (or scripts/setup)',
  });
}
