// Bundles the CLI into one ESM file: Node 20 resolves and loads each module
// file separately, and a single file halves barepod's start-up (measured in
// bench/pod-lifecycle, which runs the CLI several times per pod).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { build } from 'esbuild';

// dist/ holds the bundle only (tsc type-checks and emits nothing): drop the last build's chunks (named by content)
// and anything else an older build left there; the entry and its map are overwritten in place
fs.mkdirSync('dist', { recursive: true });
for (const f of fs.readdirSync('dist')) if (!/^(barepod|handler)\.mjs(\.map)?$/.test(f)) fs.rmSync(`dist/${f}`, { recursive: true, force: true });

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
