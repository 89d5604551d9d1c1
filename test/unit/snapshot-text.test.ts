/**
 * scripts/snapshot-text.mjs on esbuild's real output: the CommonJS bundle a start-up snapshot is built from makes
 * one namespace object per imported module, not one per import site, and still behaves the same.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { oneNamespacePerModule } from '../../scripts/snapshot-text.mjs';

describe('oneNamespacePerModule (the snapshot bundle)', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  /** Three modules import node:fs (two of them its namespace), one node:path; the entry reports what they see. */
  const bundle = async (): Promise<string> => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-snaptext-'));
    fs.writeFileSync(
      path.join(dir, 'a.ts'),
      "import * as fs from 'node:fs';\nimport path from 'node:path';\nexport const a = () => [fs, path.join('x', 'y')] as const;\n",
    );
    fs.writeFileSync(path.join(dir, 'b.ts'), "import * as fs from 'node:fs';\nexport const b = () => fs;\n");
    fs.writeFileSync(
      path.join(dir, 'entry.ts'),
      "import fs from 'node:fs';\nimport { a } from './a';\nimport { b } from './b';\n" +
        'const [fa, joined] = a();\n' +
        'module.exports = { same: fa === b() && fa.default === fs, joined, reads: fs.readFileSync(__filename, "utf8").length > 0, live: fs.existsSync(__filename) };\n',
    );
    const out = path.join(dir, 'out.cjs');
    await build({
      entryPoints: [path.join(dir, 'entry.ts')],
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      minifyWhitespace: true,
      minifySyntax: true,
      logLevel: 'error',
    });
    return out;
  };
  const load = (file: string) => {
    // what the bundle exports, loaded by Node's own require (not vitest's module graph)
    return createRequire(file)(file) as { same: boolean; joined: string; reads: boolean; live: boolean };
  };

  it("makes the import sites of one module share one object, where esbuild's own output makes one per site", async () => {
    const out = await bundle();
    const text = fs.readFileSync(out, 'utf8');
    expect(text.match(/__toESM\(require\("node:fs"\)\)/g)?.length).toBe(3);
    expect(load(out)).toEqual({ same: false, joined: 'x/y', reads: true, live: true });
    const shared = path.join(dir!, 'shared.cjs');
    fs.writeFileSync(shared, oneNamespacePerModule(text, shared));
    expect(load(shared)).toEqual({ same: true, joined: 'x/y', reads: true, live: true });
  });

  it('leaves a bundle that uses no __toESM as it is, and refuses one whose helper it does not recognise', () => {
    expect(oneNamespacePerModule('"use strict";var x=1;', 'x.cjs')).toBe('"use strict";var x=1;');
    expect(() => oneNamespacePerModule('var __toESM=function(m){return m};__toESM(require("fs"));', 'y.cjs')).toThrow(/y\.cjs: esbuild's __toESM helper/);
  });
});
