import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LABS } from '../../src/labs/catalog.js';
import { fillCommand } from '../../src/labs/lab.js';
import { quote } from '../../src/labs/runner.js';

const labsDir = path.resolve(import.meta.dirname, '../../labs');

describe('lab catalog', () => {
  it('numbers the labs 1..N in order', () => {
    expect(LABS.map((l) => l.id)).toEqual(LABS.map((_, i) => i + 1));
  });
  for (const lab of LABS) {
    it(`lab ${lab.id} has a page that follows its steps`, () => {
      const page = fs.readFileSync(path.join(labsDir, lab.page), 'utf8');
      expect(page.split('\n')[0]).toBe(`# Lab ${lab.id}: ${lab.title}`);
      lab.steps.forEach((s, i) => expect(page, `step ${i + 1}`).toContain(`## Step ${i + 1}: ${s.title}`));
      expect(fs.readFileSync(path.join(labsDir, 'README.md'), 'utf8')).toContain(`(${lab.page})`);
    });
    it(`lab ${lab.id} makes claims and names its pods`, () => {
      expect(lab.steps.flatMap((s) => s.claims ?? []).length).toBeGreaterThan(0);
      const used = new Set(
        lab.steps.flatMap((s) =>
          (s.run ?? []).flatMap((r) => [...(typeof r === 'string' ? r : r.cmd).matchAll(/\{(?:pod|pid):([a-z0-9-]+)/g)].map((m) => m[1])),
        ),
      );
      for (const p of used) expect(lab.pods, `pod ${p} is removed after the lab`).toContain(p);
    });
  }
});

describe('fillCommand', () => {
  const ctx = { pod: (s: string) => `lab9-${s}`, pid: async (r: string) => (r.includes('/') ? 42 : 7), dir: '/tmp/x', repo: '/src/barepod' };
  it('fills pods, pids and the scratch dir', async () => {
    expect(await fillCommand('barepod ns {pod:web}; readlink /proc/{pid:web}/ns/net /proc/{pid:web/app}/ns/net > {dir}/out', ctx)).toBe(
      'barepod ns lab9-web; readlink /proc/7/ns/net /proc/42/ns/net > /tmp/x/out',
    );
  });
  it('fills the source tree', async () => {
    expect(await fillCommand('cc -o {dir}/pause {repo}/bundles/pause/pause.c', ctx)).toBe('cc -o /tmp/x/pause /src/barepod/bundles/pause/pause.c');
  });
  it('leaves other braces alone and refuses a placeholder without a name', async () => {
    expect(await fillCommand("awk '{print $1}'", ctx)).toBe("awk '{print $1}'");
    await expect(fillCommand('echo {pod}', ctx)).rejects.toThrow(/needs a name/);
  });
});

describe('quote', () => {
  it('quotes only what sh would split or expand', () => {
    expect(quote('lab1-web')).toBe('lab1-web');
    expect(quote("it's a b")).toBe(`'it'\\''s a b'`);
  });
});
