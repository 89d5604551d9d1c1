/**
 * scripts/install-man (run by scripts/setup) installs every page of docs/man
 * as roff, rendered by the built CLI, so `man barepod-run` works; pages of
 * commands that are gone are removed. Into a temporary MANDIR, not
 * /usr/local/share/man.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO } from '../helpers/harness.js';

const man = spawnSync('sh', ['-c', 'command -v man'], { encoding: 'utf8' }).stdout.trim();

describe('scripts/install-man', () => {
  // made when a test runs, not when the file is collected: a run that filters these tests out would leave it behind
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-mandir-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!man)('installs a roff page per docs/man page that man reads, and removes a page of a command that is gone', () => {
    fs.mkdirSync(path.join(dir, 'man1'));
    fs.writeFileSync(path.join(dir, 'man1', 'barepod-gone.1'), '.TH GONE 1\n');
    fs.writeFileSync(path.join(dir, 'man1', 'other.1'), '.TH OTHER 1\n');
    const r = spawnSync('bash', [path.join(REPO, 'scripts/install-man')], { encoding: 'utf8', env: { ...process.env, MANDIR: dir } });
    expect(r.status, r.stderr).toBe(0);
    const pages = fs.readdirSync(path.join(REPO, 'docs/man')).map((f) => f.replace(/\.md$/, ''));
    const installed = fs.readdirSync(path.join(dir, 'man1')).filter((f) => !f.startsWith('.'));
    expect(installed.filter((f) => f.startsWith('barepod')).sort()).toEqual(pages.sort());
    expect(installed).toContain('other.1'); // not barepod's: left alone
    expect(fs.statSync(path.join(dir, 'man1', 'barepod-run.1')).mode & 0o777).toBe(0o644);
    // the same roff the built CLI prints
    expect(fs.readFileSync(path.join(dir, 'man1', 'barepod-run.1'), 'utf8')).toBe(spawnSync(CLI, ['help', '--roff', 'run'], { encoding: 'utf8' }).stdout);
    const page = spawnSync('man', ['-M', dir, 'barepod-run'], { encoding: 'utf8', env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '100' } });
    expect(page.status, page.stderr).toBe(0);
    expect(page.stdout).toMatch(/^BAREPOD-RUN\(1\)/);
    expect(page.stdout).toContain('barepod-run - create and start a container in a pod');
    for (const flag of ['--pod', '--image', '--pids-limit', '--security-opt']) expect(page.stdout).toContain(flag);
  });

  it('barepod help prints the page from the built CLI (the lazily loaded chunk finds docs/man)', () => {
    const r = spawnSync(CLI, ['help', 'pod', 'create'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^BAREPOD-POD-CREATE\(1\)/);
    expect(r.stdout).toContain('--publish');
  });
});
