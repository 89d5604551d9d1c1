// The layering of src/, checked on the import graph (docs/architecture.md describes it).
// Every `import … from '…'`, `export … from '…'`, `import '…'` and `import('…')` between files of src/ is an
// edge; type-only imports count too (a type is part of a layer's vocabulary just as a value is).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const src = join(root, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const SPECIFIER = [
  /\b(?:import|export)\s[^'";]*?\sfrom\s*['"]([^'"]+)['"]/g, // static, possibly spanning lines
  /\bimport\s*['"]([^'"]+)['"]/g, // side-effect import
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, // await import('…'), typeof import('…')
];

/** file (relative to src/, e.g. 'pod/up.ts') → the src/ files it imports */
function graph(): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const file of sources(src)) {
    const text = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    const out = new Set<string>();
    for (const re of SPECIFIER) {
      for (const m of text.matchAll(re)) {
        const spec = m[1]!;
        if (!spec.startsWith('.')) continue;
        out.add(relative(src, resolve(dirname(file), spec)).replace(/\.js$/, '.ts'));
      }
    }
    g.set(relative(src, file), out);
  }
  return g;
}

const layerOf = (file: string): string => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '.');

/** What a layer must not import. Lower layers never reach up: vocabulary (oci, plan, manifest) < runtime
 *  (host effects) < pod (lifecycle) < cli. */
const FORBIDDEN: Record<string, string[]> = {
  '.': ['oci', 'plan', 'manifest', 'runtime', 'pod', 'cli', 'labs'], // src/*.ts: the shared vocabulary
  oci: ['runtime', 'pod', 'cli'],
  plan: ['runtime', 'pod', 'cli'],
  manifest: ['runtime', 'pod', 'cli'],
  runtime: ['pod', 'cli'],
  pod: ['cli'],
};

/** Violations present when this test was written: 'from -> to'. Each is a debt to pay, never a place to add to. */
const KNOWN = new Set<string>([]);

/** Cycles among src/pod/ modules present when this test was written, each as its sorted member list. */
const KNOWN_CYCLES = new Set<string>([]);

describe('layers', () => {
  const g = graph();

  it('finds the imports (the parser sees static, multi-line and dynamic imports)', () => {
    expect(g.get('cli/main.ts')?.size).toBeGreaterThan(0);
    expect(g.get('cli/commands/lab.ts')).toContain('labs/runner.ts');
    for (const [file, deps] of g) for (const d of deps) expect(g.has(d), `${file} imports ${d}, not a file of src/`).toBe(true);
  });

  it('no layer imports a layer above it', () => {
    const bad: string[] = [];
    for (const [file, deps] of g) {
      const forbidden = FORBIDDEN[layerOf(file)] ?? [];
      for (const d of deps) if (forbidden.includes(layerOf(d))) bad.push(`${file} -> ${d}`);
    }
    expect(
      bad.filter((e) => !KNOWN.has(e)),
      'new upward imports',
    ).toEqual([]);
    expect(
      [...KNOWN].filter((e) => !bad.includes(e)),
      'fixed: remove from KNOWN',
    ).toEqual([]);
  });

  it('src/pod has no import cycle', () => {
    const pod = [...g.keys()].filter((f) => layerOf(f) === 'pod');
    // strongly connected components (Tarjan) of the graph restricted to src/pod
    let index = 0;
    const idx = new Map<string, number>(),
      low = new Map<string, number>(),
      stack: string[] = [],
      on = new Set<string>();
    const cycles: string[] = [];
    const visit = (v: string): void => {
      idx.set(v, index);
      low.set(v, index);
      index++;
      stack.push(v);
      on.add(v);
      for (const w of g.get(v) ?? []) {
        if (layerOf(w) !== 'pod') continue;
        if (!idx.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
      if (low.get(v) === idx.get(v)) {
        const scc: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          on.delete(w);
          scc.push(w);
        } while (w !== v);
        if (scc.length > 1 || g.get(v)!.has(v)) cycles.push(scc.sort().join(' '));
      }
    };
    for (const v of pod) if (!idx.has(v)) visit(v);
    expect(
      cycles.filter((c) => !KNOWN_CYCLES.has(c)),
      'new import cycles in src/pod',
    ).toEqual([]);
    expect(
      [...KNOWN_CYCLES].filter((c) => !cycles.includes(c)),
      'fixed: remove from KNOWN_CYCLES',
    ).toEqual([]);
  });

  it('the read side of src/pod (views, logs, observe, record) reaches no lifecycle code', () => {
    const lifecycle = ['pod/containers.ts', 'pod/sandbox.ts', 'pod/up.ts', 'pod/supervise.ts'];
    for (const reader of ['pod/views.ts', 'pod/logs.ts', 'pod/observe.ts', 'pod/record.ts']) {
      const seen = new Set<string>(),
        todo = [reader];
      while (todo.length)
        for (const d of g.get(todo.pop()!) ?? [])
          if (!seen.has(d)) {
            seen.add(d);
            todo.push(d);
          }
      expect(
        lifecycle.filter((f) => seen.has(f)),
        `${reader} imports (transitively)`,
      ).toEqual([]);
    }
  });
});
