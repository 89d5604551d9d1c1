// Bundles the CLI into one ESM file: Node 20 resolves and loads each module
// file separately, and a single file halves barepod's start-up (measured in
// bench/pod-lifecycle, which runs the CLI several times per pod).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/barepod.mjs',
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
