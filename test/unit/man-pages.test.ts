/**
 * Drift test: every command of the CLI has its manual page in docs/man
 * (podman's layout), every option of a command is on its page, and every
 * option a page documents exists; and the pages render: `barepod help` prints
 * them, and their roff is read by man(1) without a warning.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command, Option } from 'commander';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { buildProgram, main, VERSION } from '../../src/cli/main.js';
import { pageFor, parsePage, renderRoff, renderText } from '../../src/cli/man-page.js';

const repo = path.resolve(import.meta.dirname, '../..');
const manDir = path.join(repo, 'docs/man');

/** Every command users see (hidden ones, such as the exit handler, have no page), with its words. */
function commands(c: Command, words: string[] = []): { cmd: Command; words: string[] }[] {
  return c.commands
    .filter((s) => !(s as unknown as { _hidden: boolean })._hidden)
    .flatMap((s) => [{ cmd: s, words: [...words, s.name()] }, ...commands(s, [...words, s.name()])]);
}
const pageName = (words: string[]) => ['barepod', ...words].join('-');
const visibleOptions = (c: Command): readonly Option[] => c.options.filter((o) => !o.hidden);

/** The flags of each item heading (`#### **-p**, **--publish**=*…*`) of the OPTIONS section. */
function optionItems(md: string): string[][] {
  const out: string[][] = [];
  let inOptions = false;
  for (const b of parsePage(md)) {
    if (b.kind === 'section') inOptions = b.text === 'OPTIONS';
    else if (b.kind === 'item' && inOptions) out.push([...b.text.replace(/=.*$/, '').matchAll(/\*\*(--?[a-zA-Z][-a-zA-Z]*)\*\*/g)].map((m) => m[1] ?? ''));
  }
  return out;
}
const sections = (md: string) => parsePage(md).flatMap((b) => (b.kind === 'section' ? [b.text] : []));
const read = (name: string) => fs.readFileSync(path.join(manDir, `${name}.1.md`), 'utf8');

describe('docs/man: a page per command, every option on it', () => {
  const program = buildProgram();
  const all = commands(program);

  it('every command has its page, in podman layout', () => {
    expect(all.length).toBeGreaterThan(30);
    const problems: string[] = [];
    for (const { cmd, words } of all) {
      const name = pageName(words);
      if (!fs.existsSync(path.join(manDir, `${name}.1.md`))) {
        problems.push(`${words.join(' ')}: no docs/man/${name}.1.md`);
        continue;
      }
      const md = read(name);
      const need = ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', ...(cmd.commands.length ? [] : ['EXAMPLES']), 'SEE ALSO'];
      const have = sections(md);
      for (const s of need) if (!have.includes(s)) problems.push(`${name}: no ${s} section`);
      if (!md.startsWith(`% ${name} 1\n`)) problems.push(`${name}: the first line is not "% ${name} 1"`);
      if (!md.includes(`**barepod ${words.join(' ')}**`)) problems.push(`${name}: SYNOPSIS does not show **barepod ${words.join(' ')}**`);
    }
    expect(problems).toEqual([]);
  });

  it('every option of every command is on its page (short and long flag in one item), and barepod(1) has the global ones', () => {
    const missing: string[] = [];
    for (const { cmd, words } of [{ cmd: program, words: [] as string[] }, ...all]) {
      const name = pageName(words);
      if (!fs.existsSync(path.join(manDir, `${name}.1.md`))) continue; // the test above names it
      const items = optionItems(read(name));
      for (const o of visibleOptions(cmd)) {
        const flags = [o.short, o.long].filter((f): f is string => !!f);
        if (!items.some((item) => flags.every((f) => item.includes(f)))) missing.push(`${name}: ${flags.join(', ')}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('every option a page documents exists (no page keeps a removed or renamed option)', () => {
    const stale: string[] = [];
    for (const { cmd, words } of [{ cmd: program, words: [] as string[] }, ...all]) {
      const name = pageName(words);
      if (!fs.existsSync(path.join(manDir, `${name}.1.md`))) continue;
      const known = new Set(['-h', '--help', ...visibleOptions(cmd).flatMap((o) => [o.short, o.long].filter((f): f is string => !!f))]);
      for (const item of optionItems(read(name))) for (const f of item) if (!known.has(f)) stale.push(`${name}: ${f}`);
    }
    expect(stale).toEqual([]);
  });

  it('every page is of a command that exists', () => {
    const names = new Set(['barepod', ...all.map(({ words }) => pageName(words))]);
    const pages = fs.readdirSync(manDir).filter((f) => f.endsWith('.md'));
    expect(pages.filter((f) => !names.has(f.replace(/\.1\.md$/, '')))).toEqual([]);
  });
});

describe('barepod help COMMAND prints the page', () => {
  const written: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    written.length = 0;
  });
  const run = async (...args: string[]) => {
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (written.push(String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (written.push(String(s)), true));
    const code = await main(['node', 'barepod', ...args]);
    return { code, out: written.join('') };
  };

  it('prints pod create as text: its name, its sections and every option', async () => {
    const { code, out } = await run('help', 'pod', 'create');
    expect(code).toBe(0);
    expect(out).toMatch(/^BAREPOD-POD-CREATE\(1\)\n/);
    for (const s of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'EXAMPLES', 'SEE ALSO']) expect(out).toMatch(new RegExp(`^${s}$`, 'm'));
    for (const f of ['--share', '--publish', '-p', '--add-host', '--explain']) expect(out).toContain(f);
    expect(out).not.toMatch(/\*\*|\]\(|`/); // no Markdown left
  });

  it('takes the page name too, and barepod(1) without a command', async () => {
    expect((await run('help', 'barepod-pod-create')).out).toMatch(/^BAREPOD-POD-CREATE\(1\)/);
    written.length = 0;
    expect((await run('help')).out).toMatch(/^BAREPOD\(1\)\n[\s\S]*EXIT STATUS/);
  });

  it('a command without a page is a usage error (exit 2) naming the pages', async () => {
    const { code, out } = await run('help', 'nope');
    expect(code).toBe(2);
    expect(out).toContain('no manual page for "nope"');
    expect(out).toContain('pod create');
  });

  it('the renderer is not on the start-up path: only `barepod help` imports it', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^import (?!type )[^;]*? from '(\.[^']+)'/gm))
        visit(path.resolve(path.dirname(file), (m[1] ?? '').replace(/\.js$/, '.ts')));
    };
    visit(path.join(repo, 'src/cli/main.ts'));
    expect(seen.has(path.join(repo, 'src/cli/commands/help.ts'))).toBe(true);
    expect(seen.has(path.join(repo, 'src/cli/man-page.ts'))).toBe(false);
  });
});

describe('the roff of every page', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-man-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const man = spawnSync('sh', ['-c', 'command -v man'], { encoding: 'utf8' }).stdout.trim();

  it('is roff: a .TH line, no Markdown left', () => {
    for (const f of fs.readdirSync(manDir)) {
      const roff = renderRoff(fs.readFileSync(path.join(manDir, f), 'utf8'), VERSION);
      expect(roff, f).toMatch(/^\.TH "BAREPOD[-\\A-Z]*" "1" /);
      expect(roff, f).not.toMatch(/\*\*|\]\(/);
    }
  });

  it.skipIf(!man)('man -l reads every page without a warning and shows its name and every option, as typed (ASCII hyphens)', () => {
    const program = buildProgram();
    for (const { cmd, words } of [{ cmd: program, words: [] as string[] }, ...commands(program)]) {
      const name = pageFor(words.length ? words : [], manDir);
      const file = path.join(tmp, `${name}.1`);
      fs.writeFileSync(file, renderRoff(fs.readFileSync(path.join(manDir, `${name}.1.md`), 'utf8'), VERSION));
      const r = spawnSync('man', ['--warnings', '-l', file], {
        encoding: 'utf8',
        env: { ...process.env, MANWIDTH: '100', MANPAGER: 'cat', PAGER: 'cat', LANG: 'C.UTF-8' },
      });
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stderr, name).toBe('');
      expect(r.stdout, name).toContain(`${name} - `);
      for (const o of visibleOptions(cmd)) expect(r.stdout, `${name}: ${o.long}`).toContain(o.long);
    }
  });

  it('renders text and roff from the same blocks (options as items, code kept verbatim)', () => {
    const md =
      '% barepod-x 1\n\n## NAME\nbarepod\\-x - a test\n\n## OPTIONS\n\n#### **-a**, **--all**=*n*\n\nEvery `thing`.\n\n```sh\n.starts with a dot\n```\n';
    expect(renderText(md)).toContain('       -a, --all=n\n           Every thing.');
    const roff = renderRoff(md, '0');
    expect(roff).toContain('.TP\n\\fB\\-a\\fR, \\fB\\-\\-all\\fR=\\fIn\\fR\nEvery \\fBthing\\fR.');
    expect(roff).toContain('\n\\&.starts with a dot\n');
    expect(roff).toContain('.SH NAME\nbarepod\\-x \\- a test');
  });
});
