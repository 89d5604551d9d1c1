/**
 * The documentation's relative links lead somewhere: each linked file exists
 * and each #anchor is a heading of its page (GitHub's slugs), so moving a
 * section out of the README (or renaming a heading) cannot leave a dead link.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');

function markdownFiles(): string[] {
  const out = ['README.md', 'bench/README.md'];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(repo, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith('.md')) out.push(rel);
    }
  };
  walk('docs');
  walk('labs');
  return out.filter((f) => fs.existsSync(path.join(repo, f)));
}

/** GitHub's anchor of a heading: lower case, punctuation but - and _ dropped, spaces to -. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');

function anchors(file: string): Set<string> {
  const text = fs.readFileSync(path.join(repo, file), 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#+\s+(.*)$/gm)].map((m) => slug(m[1] ?? '')));
}

describe('documentation links', () => {
  it('every relative link of README.md, docs/, labs/ and bench/README.md names a file that exists, and a heading of it', () => {
    const dead: string[] = [];
    for (const file of markdownFiles()) {
      const text = fs.readFileSync(path.join(repo, file), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const url = m[1] ?? '';
        if (/^[a-z]+:/.test(url)) continue;
        const [target = '', anchor] = url.split('#');
        const to = target ? path.normalize(path.join(path.dirname(file), target)) : file;
        if (!fs.existsSync(path.join(repo, to))) dead.push(`${file}: ${url} (no ${to})`);
        else if (anchor && to.endsWith('.md') && !anchors(to).has(anchor)) dead.push(`${file}: ${url} (no heading #${anchor} in ${to})`);
      }
    }
    expect(dead).toEqual([]);
  });
});
