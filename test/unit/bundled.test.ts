/**
 * The C helpers (attach relay, prober) are found by one lookup: beside the
 * bundle, else in bundles/<dir>/; a missing one is a missing-tool error
 * naming the program and what it is for.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BarepodError } from '../../src/errors.js';
import { bundledHelper, findBundled } from '../../src/runtime/bundled.js';
import { thrown } from '../helpers/thrown.js';

const argv1 = process.argv[1];
const made: string[] = [];
afterEach(() => {
  process.argv[1] = argv1!;
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A fake install: <top>/dist/barepod.js, with the given files made (relative to top). */
function install(files: string[]): string {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-dedupe-bundled-'));
  made.push(top);
  fs.mkdirSync(path.join(top, 'dist'));
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(top, f)), { recursive: true });
    fs.writeFileSync(path.join(top, f), '');
  }
  process.argv[1] = path.join(top, 'dist', 'barepod.js');
  return top;
}

describe('bundled helpers', () => {
  it('are found beside the bundle first, then in bundles/<dir>/', () => {
    let top = install(['dist/barepod-prober', 'bundles/prober/barepod-prober']);
    expect(findBundled('barepod-prober', 'prober')).toBe(path.join(top, 'dist', 'barepod-prober'));
    top = install(['bundles/attach/barepod-attach']);
    expect(bundledHelper('barepod-attach', 'attach', 'the relay')).toBe(path.join(top, 'bundles', 'attach', 'barepod-attach'));
  });

  it('a missing one is a missing-tool error naming it, with how to build it', () => {
    install(['bundles/attach/barepod-attach']);
    expect(findBundled('barepod-prober', 'prober')).toBeUndefined();
    const e = thrown<BarepodError>(() => bundledHelper('barepod-prober', 'prober', "the program that runs a pod's probes"));
    expect(e).toBeInstanceOf(BarepodError);
    expect(e.code).toBe('missing-tool');
    expect(e.message).toBe("barepod-prober not found (the program that runs a pod's probes)");
    expect(e.hint).toContain('npm run build');
  });
});
