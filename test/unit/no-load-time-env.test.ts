/**
 * Nothing barepod's modules (nor the libraries they bundle) compute while they load may depend on the process
 * that runs them: the CLI and the exit handler start from a V8 startup snapshot (`node --build-snapshot`), where
 * every module is evaluated ONCE, on the build machine, and frozen. A module-level read of the environment, the
 * arguments, the cwd, an id, a terminal, a clock, randomness, a host fact or a file would silently use the build's
 * value at every run.
 *
 * The check is dynamic, so it also sees indirect reads (a module-level call of a function that reads) and the
 * libraries' own top levels: every src module (all but the two entries, whose last statement runs the program)
 * plus commander, yaml and tar are bundled into one CommonJS file, as the snapshot build does, and evaluated with
 * test/helpers/load-time-trap.cjs preloaded, which records each such read made while the bundle loads and where.
 * It also records which Node built-ins our modules require at load: child_process, tty, dgram and async_hooks are
 * not verified by Node in user snapshots, so src loads them on first use (process.getBuiltinModule).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const trap = path.join(root, 'test/helpers/load-time-trap.cjs');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-snap-audit-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/**
 * The program entries: their top level ends by running the program (reviewed by hand, see the report), or, for
 * the snapshots' entries, by setting the function the snapshot runs (which only a snapshot build allows).
 */
const ENTRIES = new Set(['src/cli/main.ts', 'src/cli/handler.ts', 'src/cli/snapshot.ts', 'src/cli/snapshot-core.ts', 'src/cli/handler-snapshot.ts']);

/**
 * Load-time reads that are harmless: tar's test hooks (a fake platform or O_FILEMAP for tar's own test suite:
 * nobody sets them for barepod, so the build's unset value is the run's too).
 */
const ALLOWED: { what: RegExp; at: RegExp }[] = [
  { what: /^process\.env\.(TESTING_TAR_FAKE_PLATFORM|__FAKE_PLATFORM__|__FAKE_FS_O_FILENAME__)$/, at: /node_modules\/tar\// },
];

/** Built-ins Node does not verify in a user snapshot: none may be required by src at load. */
const UNSNAPSHOTTABLE = ['child_process', 'tty', 'dgram', 'async_hooks'];

function srcModules(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.d.ts') && !ENTRIES.has(path.relative(root, p))) out.push(p);
    }
  };
  walk(path.join(root, 'src'));
  return out.sort();
}

interface Read {
  what: string;
  at: string;
}

let runs = 0;
/** Bundles the modules (and `extra`, the entry's own top-level code) and reports what their loading read. */
async function loadTime(extra = ''): Promise<{ reads: Read[]; builtins: Read[] }> {
  const dir = path.join(work, String(runs++));
  fs.mkdirSync(dir);
  const contents = ['commander', 'yaml', 'tar', ...srcModules()].map((m) => `import ${JSON.stringify(m)};`).join('\n') + '\n' + extra;
  await build({
    stdin: { contents, resolveDir: root, sourcefile: 'load-all.ts', loader: 'ts' },
    outfile: path.join(dir, 'all.cjs'),
    bundle: true,
    treeShaking: false, // keep every module's whole top level, used or not
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    logLevel: 'silent',
    banner: { js: 'globalThis.__loadTrapStart();' },
    footer: { js: 'globalThis.__loadTrapDone();' },
  });
  const out = path.join(dir, 'reads.json');
  execFileSync(process.execPath, ['--enable-source-maps', '--require', trap, path.join(dir, 'all.cjs')], {
    env: { ...process.env, LOAD_TRAP_OUT: out },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const r = JSON.parse(fs.readFileSync(out, 'utf8')) as { reads: Read[]; builtins: Read[] };
  // '?': no frame outside Node's own code (Node's internals loading a built-in): not ours to make lazy
  return { reads: r.reads.filter((x) => x.at !== '?'), builtins: r.builtins };
}

const show = (rs: Read[]): string[] => rs.map((r) => `${r.what} at ${r.at.replace(root + '/', '')}`);

describe('nothing is read from the running process while the modules load (V8 startup snapshot)', () => {
  it('src and the bundled libraries read no environment, argv, cwd, id, terminal, clock, randomness, host fact or file at load', async () => {
    const { reads } = await loadTime();
    const unexpected = reads.filter((r) => !ALLOWED.some((a) => a.what.test(r.what) && a.at.test(r.at)));
    expect(show(unexpected)).toEqual([]);
  });

  it('src requires none of child_process, tty, dgram, async_hooks at load (commander does: see the report)', async () => {
    const { builtins } = await loadTime();
    const ours = builtins.filter((b) => UNSNAPSHOTTABLE.includes(b.what) && !b.at.includes('node_modules/'));
    expect(show(ours)).toEqual([]);
  });

  it('the guard sees a module-level read, direct or through a call, and says where', async () => {
    const extra = [
      'const home = process.env.HOME;',
      'const here = process.cwd();',
      'const stamp = Date.now();',
      "const tmp = (require('node:os') as typeof import('node:os')).tmpdir();",
      'function tty(): boolean { return process.stdout.isTTY === true; }',
      'const onTerminal = tty();',
      'export { home, here, stamp, tmp, onTerminal };',
    ].join('\n');
    const { reads } = await loadTime(extra);
    const mine = show(reads.filter((r) => r.at.includes('load-all.ts')));
    for (const what of ['process.env.HOME', 'process.cwd()', 'Date.now()', 'os.tmpdir()', 'process.stdout'])
      expect(mine.some((m) => m.startsWith(`${what} at `))).toBe(true);
  });
});
