/**
 * The manual pages: docs/man/barepod-*.1.md (podman's layout: NAME, SYNOPSIS,
 * DESCRIPTION, OPTIONS, EXAMPLES, SEE ALSO), read from the checkout and
 * rendered as text (`barepod help COMMAND`) or as roff (`barepod help --roff
 * COMMAND`, which scripts/install-man writes to /usr/local/share/man/man1 so
 * `man barepod-run` works). Only `barepod help` loads this module.
 *
 * The Markdown is the small subset the pages use: a `% title section` line,
 * `##` sections, `###`/`####` items (an option's flags), paragraphs, `- `
 * lists, fenced code, pipe tables; inline `**bold**`, `*italic*`, `code` and
 * [links](url).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BarepodError } from '../errors.js';

/** One block of a page. */
export type Block =
  | { kind: 'title'; name: string; section: string }
  | { kind: 'section'; text: string }
  | { kind: 'item'; text: string }
  | { kind: 'para'; text: string }
  | { kind: 'bullet'; text: string }
  | { kind: 'code'; lines: string[] }
  | { kind: 'table'; rows: string[][] };

/** The directory of the pages: docs/man of the checkout this module is part of (src/cli, or dist/chunks in the bundle). */
export function manDir(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'docs', 'man');
    if (fs.existsSync(path.join(candidate, 'barepod.1.md'))) return candidate;
    if (path.dirname(dir) === dir) {
      throw new BarepodError('missing-tool', 'the manual pages (docs/man) are not beside this barepod', {
        hint: 'barepod reads its manual pages from the checkout it runs from; `barepod COMMAND --help` works without them',
      });
    }
  }
}

/** The page names there: barepod, barepod-run, barepod-pod-create, … */
export function pageNames(dir = manDir()): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^barepod(-[a-z]+)*\.1\.md$/.test(f))
    .map((f) => f.replace(/\.1\.md$/, ''))
    .sort();
}

/** The page of a command given as words (`pod create`), or as a page name (`pod-create`, `barepod-pod-create`); none: barepod(1). */
export function pageFor(words: string[], dir = manDir()): string {
  const joined = words.join('-').replace(/^barepod-?/, '');
  const name = joined ? `barepod-${joined}` : 'barepod';
  if (!/^barepod(-[a-z]+)*$/.test(name) || !fs.existsSync(path.join(dir, `${name}.1.md`))) {
    throw new BarepodError('usage', `no manual page for "${words.join(' ')}"`, {
      hint: `the commands with a page: ${pageNames(dir)
        .filter((p) => p !== 'barepod')
        .map((p) => p.replace(/^barepod-/, '').replace(/-/g, ' '))
        .join(', ')}; \`barepod help\` alone: barepod(1)`,
    });
  }
  return name;
}

export function readPage(name: string, dir = manDir()): string {
  return fs.readFileSync(path.join(dir, `${name}.1.md`), 'utf8');
}

/** Markdown (the pages' subset) to blocks. */
export function parsePage(md: string): Block[] {
  const lines = md.replace(/\r\n/g, '\n').split('\n');
  const ln = (k: number): string => lines[k] ?? '';
  const out: Block[] = [];
  let para: string[] = [];
  const flush = () => {
    if (para.length) out.push({ kind: 'para', text: para.join(' ') });
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = ln(i);
    let m: RegExpExecArray | null;
    if (i === 0 && (m = /^%\s+(\S+)\s+(\S+)/.exec(line))) {
      out.push({ kind: 'title', name: m[1] ?? '', section: m[2] ?? '' });
    } else if (line.startsWith('```')) {
      flush();
      const code: string[] = [];
      for (i++; i < lines.length && !ln(i).startsWith('```'); i++) code.push(ln(i));
      out.push({ kind: 'code', lines: code });
    } else if ((m = /^##\s+(.*)$/.exec(line))) {
      flush();
      out.push({ kind: 'section', text: (m[1] ?? '').trim() });
    } else if ((m = /^#{3,6}\s+(.*)$/.exec(line))) {
      flush();
      out.push({ kind: 'item', text: (m[1] ?? '').trim() });
    } else if (line.startsWith('|')) {
      flush();
      const rows: string[][] = [];
      for (; i < lines.length && ln(i).startsWith('|'); i++) {
        const cells = ln(i)
          .trim()
          .replace(/^\||\|$/g, '')
          .split(/(?<!\\)\|/)
          .map((c) => c.trim());
        // the header row (the one above the |---| line) names the columns: a page's text says what they are
        if (cells.every((c) => /^:?-+:?$/.test(c))) rows.pop();
        else rows.push(cells);
      }
      i--;
      out.push({ kind: 'table', rows });
    } else if ((m = /^[-*]\s+(.*)$/.exec(line))) {
      flush();
      const item = [m[1] ?? ''];
      for (; i + 1 < lines.length && /^\s{2,}\S/.test(ln(i + 1)); i++) item.push(ln(i + 1).trim());
      out.push({ kind: 'bullet', text: item.join(' ') });
    } else if (line.trim() === '') {
      flush();
    } else {
      para.push(line.trim());
    }
  }
  flush();
  return out;
}

/** Inline spans of a line: plain, bold (`**x**`, `code`) or italic (`*x*`); links keep their text; `\x` escapes x. */
export type Span = { style: 'plain' | 'bold' | 'italic'; text: string };

export function spans(text: string): Span[] {
  const out: Span[] = [];
  const push = (style: Span['style'], t: string) => {
    if (!t) return;
    const last = out[out.length - 1];
    if (last && last.style === style) last.text += t;
    else out.push({ style, text: t });
  };
  const unescape = (t: string) => t.replace(/\\([-\\*|_`[\]()#%])/g, '$1');
  const re = /`([^`]+)`|\*\*(.+?)\*\*|(?<![\\*\w])\*(?!\s)([^*]+?)\*(?!\w)|\[([^\]]+)\]\(([^)]+)\)/g;
  let at = 0;
  for (const m of text.matchAll(re)) {
    push('plain', unescape(text.slice(at, m.index)));
    if (m[1] !== undefined) push('bold', m[1]);
    else if (m[2] !== undefined) for (const s of spans(m[2])) push(s.style === 'plain' ? 'bold' : s.style, s.text);
    else if (m[3] !== undefined) push('italic', unescape(m[3]));
    else for (const s of spans(m[4] ?? '')) push(s.style, s.text);
    at = m.index + m[0].length;
  }
  push('plain', unescape(text.slice(at)));
  return out;
}

const plain = (text: string) =>
  spans(text)
    .map((s) => s.text)
    .join('');

// ---- text, for a terminal or a pipe (as man lays it out: sections flush left, text indented 7)

function wrap(words: string, width: number, indent: number, first = indent): string[] {
  const out: string[] = [];
  let line = ' '.repeat(first);
  let empty = true;
  for (const word of words.split(/\s+/).filter(Boolean)) {
    if (!empty && line.length + 1 + visible(word) > width) {
      out.push(line);
      line = ' '.repeat(indent);
      empty = true;
    }
    line += (empty ? '' : ' ') + word;
    empty = false;
  }
  if (!empty || !out.length) out.push(line);
  return out;
}

// eslint-disable-next-line no-control-regex
const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;

export function renderText(md: string, o: { width?: number; color?: boolean } = {}): string {
  const width = Math.max(40, Math.min(o.width ?? 80, 120));
  const style = (text: string) =>
    spans(text)
      .map((s) => (o.color && s.style === 'bold' ? `\x1b[1m${s.text}\x1b[22m` : o.color && s.style === 'italic' ? `\x1b[4m${s.text}\x1b[24m` : s.text))
      .join('');
  const out: string[] = [];
  let inItem = false;
  for (const b of parsePage(md)) {
    const body = inItem ? 11 : 7;
    switch (b.kind) {
      case 'title':
        out.push(`${b.name.toUpperCase()}(${b.section})`, '');
        break;
      case 'section':
        inItem = false;
        if (out.length && out[out.length - 1] !== '') out.push('');
        out.push(o.color ? `\x1b[1m${plain(b.text)}\x1b[22m` : plain(b.text));
        break;
      case 'item':
        inItem = true;
        if (out.length && out[out.length - 1] !== '') out.push('');
        out.push(...wrap(style(b.text), width, 7));
        break;
      case 'para':
        out.push(...wrap(style(b.text), width, body), '');
        break;
      case 'bullet':
        out.push(...wrap(style(b.text), width, body + 2, body).map((l, i) => (i === 0 ? `${' '.repeat(body)}• ${l.trimStart()}` : l)), '');
        break;
      case 'code':
        out.push(...b.lines.map((l) => ' '.repeat(body + 4) + l), '');
        break;
      case 'table':
        // each row as a tagged paragraph: its first cell, then the others below it
        for (const [first, ...rest] of b.rows) {
          out.push(...wrap(style(first ?? ''), width, body));
          const more = rest.filter(Boolean).join(' — ');
          if (more) out.push(...wrap(style(more), width, body + 4));
        }
        out.push('');
        break;
    }
  }
  while (out.length && out[out.length - 1] === '') out.pop();
  return out.join('\n') + '\n';
}

// ---- roff (man(7) macros), for man

/** Escapes text for roff: backslashes, hyphens (as \- so options copy as typed), and a line that would start with a control character. */
function roffEscape(s: string): string {
  return s
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/'/g, '\\(aq')
    .replace(/`/g, '\\(ga')
    .replace(/\u2014/g, '\\(em');
}

function roffInline(text: string): string {
  const r = spans(text)
    .map((s) => (s.style === 'bold' ? `\\fB${roffEscape(s.text)}\\fR` : s.style === 'italic' ? `\\fI${roffEscape(s.text)}\\fR` : roffEscape(s.text)))
    .join('');
  return r.replace(/^[.']/, '\\&$&');
}

const roffLine = (s: string) => roffEscape(s).replace(/^[.']/, '\\&$&');

export function renderRoff(md: string, version: string): string {
  const out: string[] = [];
  const th = (name: string, section: string) => `.TH "${roffEscape(name.toUpperCase())}" "${section}" "" "barepod ${version}" "barepod manual"`;
  // inside an option's item (.TP): its first block is the item's body, later ones indented paragraphs (.IP)
  let item: 'none' | 'first' | 'more' = 'none';
  const open = (plainMacro: string) => {
    if (item === 'first') {
      item = 'more';
      return [];
    }
    return [item === 'more' ? '.IP' : plainMacro];
  };
  for (const b of parsePage(md)) {
    switch (b.kind) {
      case 'title':
        out.push(th(b.name, b.section), '.nh', '.ad l');
        break;
      case 'section':
        item = 'none';
        out.push(`.SH ${roffEscape(plain(b.text).toUpperCase())}`);
        break;
      case 'item':
        item = 'first';
        out.push('.TP', roffInline(b.text));
        break;
      case 'para':
        // right after a section heading no .PP is needed (and NAME must be `name \- what` for mandb's whatis)
        out.push(...(out[out.length - 1]?.startsWith('.SH') ? [] : open('.PP')), roffInline(b.text));
        break;
      case 'bullet':
        if (item === 'first') item = 'more';
        out.push('.IP \\(bu 2', roffInline(b.text));
        break;
      case 'code':
        out.push(...open('.PP'), '.RS 4', '.nf', ...b.lines.map(roffLine), '.fi', '.RE');
        break;
      case 'table':
        if (item === 'first') item = 'more';
        for (const [first, ...rest] of b.rows) out.push('.TP', roffInline(first ?? ''), roffInline(rest.filter(Boolean).join(' \u2014 ') || ' '));
        out.push('.PP');
        break;
    }
  }
  if (!out[0]?.startsWith('.TH')) out.unshift(th('barepod', '1'));
  return out.join('\n') + '\n';
}
