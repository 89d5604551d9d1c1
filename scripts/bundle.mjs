// Bundles the CLI into one ESM file: Node 20 resolves and loads each module
// file separately, and a single file halves barepod's start-up (measured in
// bench/pod-lifecycle, which runs the CLI several times per pod).
import fs from 'node:fs';
import { build } from 'esbuild';

// dist/ holds the bundle only (tsc type-checks and emits nothing): drop the last build's chunks (named by content)
// and anything else an older build left there; the entry and its map are overwritten in place
fs.mkdirSync('dist', { recursive: true });
for (const f of fs.readdirSync('dist')) if (f !== 'barepod.mjs' && f !== 'barepod.mjs.map') fs.rmSync(`dist/${f}`, { recursive: true, force: true });

await build({
  // the entry is dist/barepod.mjs; what commands load on demand (manifests and YAML, layer unpacking and tar)
  // goes to chunks, so the start-up every command pays compiles only what most commands need
  entryPoints: { barepod: 'src/cli/main.ts' },
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
