// Bundles the CLI into one ESM file: Node 20 resolves and loads each module
// file separately, and a single file halves barepod's start-up (measured in
// bench/pod-lifecycle, which runs the CLI several times per pod).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import { oneNamespacePerModule } from './snapshot-text.mjs';

// dist/ holds the bundle only (tsc type-checks and emits nothing): drop the last build's chunks (named by content)
// and anything else an older build left there; the entry and its map are overwritten in place
fs.mkdirSync('dist', { recursive: true });
for (const f of fs.readdirSync('dist')) if (!/^(barepod|core|handler)\.(mjs|mjs\.map|blob)$/.test(f)) fs.rmSync(`dist/${f}`, { recursive: true, force: true });

await build({
  // the entry is dist/barepod.mjs; what commands load on demand (manifests and YAML, layer unpacking and tar)
  // goes to chunks, so the start-up every command pays compiles only what most commands need
  // dist/handler.mjs: what conmon's exit command and the backoff timer run (the supervision code without the CLI)
  entryPoints: { barepod: 'src/cli/main.ts', handler: 'src/cli/handler.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  legalComments: 'none',
  // commander is CommonJS: give the bundle a require() for its node: built-ins
  banner: { js: "import { createRequire as __bpCreateRequire } from 'node:module'; const require = __bpCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});

// barepod-attach (bundles/attach): the small C relay `run -it` and `attach` talk to conmon's attach socket
// (a SOCK_SEQPACKET socket, which Node cannot open) through; built here and kept beside the bundle.
// Without a C compiler the build goes on, and `attach` says how to get it.
try {
  execFileSync('make', ['-s', '-C', 'bundles/attach'], { stdio: ['ignore', 'inherit', 'inherit'] });
  fs.copyFileSync('bundles/attach/barepod-attach', 'dist/barepod-attach');
  fs.chmodSync('dist/barepod-attach', 0o755);
} catch (e) {
  console.warn(`bundle: barepod-attach not built (${e.message.split('\n')[0]}): run -it and attach need it (apt-get install gcc make, then npm run build)`);
}

// barepod-prober (bundles/prober): the small static C program that runs a pod's probes (one per probed pod, a few
// hundred kB resident instead of a Node process). Put in place by rename, never written over: a running prober keeps
// its old file (the removal above unlinks it; writing into an executable that runs fails with ETXTBSY).
try {
  execFileSync('make', ['-s', '-C', 'bundles/prober'], { stdio: ['ignore', 'inherit', 'inherit'] });
  fs.copyFileSync('bundles/prober/barepod-prober', 'dist/.barepod-prober.tmp');
  fs.chmodSync('dist/.barepod-prober.tmp', 0o755);
  fs.renameSync('dist/.barepod-prober.tmp', 'dist/barepod-prober');
} catch (e) {
  console.warn(`bundle: barepod-prober not built (${e.message.split('\n')[0]}): pods with probes need it (apt-get install gcc make, then npm run build)`);
}

// V8 startup snapshots (dist/barepod.blob for the CLI, dist/handler.blob for the exit handler): Node 20 has no
// compile cache for ES modules, so each call spent ~50 ms loading and compiling the bundle before barepod did
// anything; from a snapshot it deserializes a heap where every module is already evaluated. Node builds one from
// a single CommonJS script, so each entry is bundled again as CommonJS (dist/snapshot/*.cjs, no chunks: what
// commands load on demand is in it too, evaluated only when called). Everything a module does at its top level
// runs once, here: src/ keeps its top levels free of environment, clock and terminal reads (a unit test guards
// it). A blob only fits the Node that built it: it gets that Node's mtime, and bin/barepod and the exit command
// use it only while the `node` they run has the same (else they run the plain bundle). Without a blob, or when
// this build fails, everything works as before, only slower to start.
// (crypto is not among them: nearly every call hashes its state root, and a built-in loaded at run time from a
// snapshot is compiled anew, ~3 ms for crypto, while a plain Node start has it already)
const LAZY_BUILTINS = [
  'child_process',
  'tty',
  'dgram',
  'async_hooks',
  'zlib',
  'net',
  'http',
  'https',
  'dns',
  'perf_hooks',
  'readline',
  'worker_threads',
  'stream',
  'stream/promises',
  'timers/promises',
];
const builtinRequire = createRequire(import.meta.url);
/**
 * Node warns that these built-ins are not verified in user snapshots: they are loaded at their first use at run
 * time, not at build time (a module importing one gets an object whose properties load it).
 */
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.join('|')})$`);
    b.onResolve({ filter }, (a) =>
      a.namespace === 'lazy-builtin'
        ? { path: `node:${a.path.replace(/^node:/, '')}`, external: true }
        : { path: a.path.replace(/^node:/, ''), namespace: 'lazy-builtin' },
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (a) => {
      const names = Object.keys(builtinRequire(`node:${a.path}`));
      return {
        loader: 'js',
        contents:
          `let m; const load = () => (m ??= require('node:${a.path}'));\n` +
          `for (const k of ${JSON.stringify(names)}) Object.defineProperty(module.exports, k, { enumerable: true, get: () => load()[k] });\n`,
      };
    });
  },
};

fs.mkdirSync('dist/snapshot', { recursive: true });
for (const [name, entry, bundle] of [
  // [blob, its entry, the bundle the launcher names beside it]
  ['barepod', 'src/cli/snapshot.ts', 'barepod.mjs'],
  ['core', 'src/cli/snapshot-core.ts', 'barepod.mjs'],
  ['handler', 'src/cli/handler-snapshot.ts', 'handler.mjs'],
]) {
  const script = `dist/snapshot/${name}.cjs`;
  const blob = `dist/${name}.blob`;
  const tmp = `dist/.${name}.blob.tmp`;
  try {
    await build({
      entryPoints: [entry],
      outfile: script,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      // no comments and no whitespace: a smaller heap to deserialize, and an ASCII source (one non-ASCII character
      // in a comment makes V8 keep the whole source as two-byte); names are kept, so a --debug stack still reads
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: 'none',
      define: { 'import.meta.url': 'globalThis.__barepodModuleUrl' },
      plugins: [lazyBuiltins],
      logLevel: 'error',
    });
    fs.writeFileSync(script, oneNamespacePerModule(fs.readFileSync(script, 'utf8'), script));
    const made = spawnSync(process.execPath, ['--snapshot-blob', tmp, '--build-snapshot', script], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const warnings = (made.stderr ?? '').trim();
    if (made.status !== 0 || warnings !== '') throw new Error(`node --build-snapshot ${script}: ${made.error?.message ?? (warnings || `exit ${made.status}`)}`);
    // a blob Node cannot load would make every call fail (Node checks it before any JavaScript runs): it must
    // start and answer before it replaces the last one (a full disk, a cut write)
    const tried = spawnSync(process.execPath, ['--snapshot-blob', tmp, `dist/${bundle}`, '--version'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    if (tried.status !== 0 || !/^\d+\.\d+\.\d+\n$/.test(tried.stdout ?? ''))
      throw new Error(`the blob does not start: ${tried.error?.message ?? (tried.stderr || `exit ${tried.status}`)}`);
    // the blob carries the mtime of the Node that built it: the launchers' test that it fits the Node they run
    execFileSync('touch', ['-r', process.execPath, tmp]);
    fs.renameSync(tmp, blob);
    // it loads on this machine in this boot: the launchers need not try it (bp_snapshot_fits, src/runtime/self.ts)
    fs.writeFileSync(`${blob}.ok`, `ok ${fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}\n`);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    fs.rmSync(blob, { force: true });
    fs.rmSync(`${blob}.ok`, { force: true });
    console.warn(`bundle: ${blob} not built (${e.message.split('\n').slice(0, 6).join(' ')}): barepod works, but starts ~50 ms slower per call`);
  }
}
