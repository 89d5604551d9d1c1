import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BarepodError } from '../../src/errors.js';
import { ensurePrivateDir, requireTrustedDir } from '../../src/runtime/private-fs.js';
import { writeFileAtomic } from '../../src/runtime/state.js';
import { thrown } from '../helpers/thrown.js';

const err = (fn: () => unknown) => thrown(fn) as BarepodError;
const isRoot = process.getuid?.() === 0;
const mode = (p: string) => fs.statSync(p).mode & 0o7777;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-pfs-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('never writes through a symlink planted at the old predictable temp names, nor at the file itself', () => {
    const canary = path.join(dir, 'canary');
    fs.writeFileSync(canary, 'canary\n', { mode: 0o600 });
    fs.chmodSync(canary, 0o600);
    const file = path.join(dir, 'web.yaml');
    // what another user could plant: <file>.<pid>.tmp for this pid and its neighbours
    for (let pid = process.pid - 50; pid <= process.pid + 50; pid++) fs.symlinkSync(canary, `${file}.${pid}.tmp`);
    writeFileAtomic(file, 'secret: 1\n');
    expect(fs.readFileSync(canary, 'utf8')).toBe('canary\n');
    expect(mode(canary)).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toBe('secret: 1\n');
    // a symlink at the name itself is replaced, not written through
    fs.rmSync(file);
    fs.symlinkSync(canary, file);
    writeFileAtomic(file, 'again\n');
    expect(fs.lstatSync(file).isSymbolicLink()).toBe(false);
    expect(fs.readFileSync(canary, 'utf8')).toBe('canary\n');
    // nothing else left behind: only the planted links, the canary and the file
    expect(
      fs
        .readdirSync(dir)
        .filter((n) => !/\.\d+\.tmp$/.test(n))
        .sort(),
    ).toEqual(['canary', 'web.yaml']);
  });

  it('creates the file 0600 whatever the umask (or the mode asked), replacing a looser old one', () => {
    const file = path.join(dir, 'pod.json');
    fs.writeFileSync(file, 'old', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const old = process.umask(0);
    try {
      writeFileAtomic(file, 'new');
    } finally {
      process.umask(old);
    }
    expect(mode(file)).toBe(0o600);
    writeFileAtomic(path.join(dir, 'hosts'), 'x', 0o644);
    expect(mode(path.join(dir, 'hosts'))).toBe(0o644);
  });
});

describe('requireTrustedDir (as OpenSSH StrictModes)', () => {
  it('refuses a group- or world-writable dir with the chmod in the hint; its missing children are judged by it', () => {
    for (const m of [0o777, 0o770, 0o1777]) {
      fs.chmodSync(dir, m);
      const e = err(() => requireTrustedDir(dir, 'manifest dir'));
      expect(e.code).toBe('unsafe-dir');
      expect(e.message).toContain(`the manifest dir ${dir} is writable by`);
      expect(e.hint).toContain(`chmod 0700 ${dir}`);
      // a dir still to be made inside it is judged by it: refused, but a sticky root-owned one is /tmp's case
      if (!(m & 0o1000)) expect(err(() => requireTrustedDir(path.join(dir, 'a', 'b'), 'state root')).hint).toContain(`chmod go-w ${dir}`);
    }
    fs.chmodSync(dir, 0o755);
    expect(() => requireTrustedDir(dir, 'manifest dir')).not.toThrow();
    expect(() => requireTrustedDir(path.join(dir, 'missing', 'deeper'), 'manifest dir')).not.toThrow();
  });

  it('refuses a dir under a writable (non-sticky) ancestor; a sticky root-owned ancestor such as /tmp is fine', () => {
    const sub = path.join(dir, 'sub');
    fs.mkdirSync(sub, { mode: 0o700 });
    fs.chmodSync(dir, 0o777);
    const e = err(() => requireTrustedDir(sub, 'state root'));
    expect(e.message).toContain(`its ancestor ${dir} is writable by every local user`);
    expect(e.hint).toContain(`chmod go-w ${dir}`);
    fs.chmodSync(dir, 0o1777);
    if (fs.statSync(dir).uid === 0) expect(() => requireTrustedDir(sub, 'state root')).not.toThrow();
  });

  it.skipIf(!isRoot)('refuses a dir (or an ancestor) owned by another user, with chown in the hint; a symlink is judged where it leads', () => {
    const sub = path.join(dir, 'sub');
    fs.mkdirSync(sub, { mode: 0o700 });
    fs.chownSync(sub, 65534, 65534);
    const e = err(() => requireTrustedDir(sub, 'image store'));
    expect(e.message).toContain('owned by uid 65534');
    expect(e.hint).toContain(`chown root:root ${sub}`);
    expect(err(() => requireTrustedDir(path.join(sub, 'x'), 'image store')).message).toContain(`its ancestor ${sub}`);
    const link = path.join(dir, 'link');
    fs.symlinkSync(sub, link);
    expect(err(() => requireTrustedDir(link, 'state root')).message).toContain(`its real path ${sub}`);
    // a symlink another user could have planted (in a world-writable dir, sticky or not) is refused whatever it leads to
    fs.chownSync(sub, 0, 0);
    fs.chmodSync(dir, 0o1777);
    expect(() => requireTrustedDir(sub, 'state root')).not.toThrow();
    expect(() => requireTrustedDir(link, 'state root')).not.toThrow(); // root's own link in a sticky dir: only root can replace it
    fs.lchownSync(link, 65534, 65534);
    const e2 = err(() => requireTrustedDir(link, 'state root'));
    expect(e2.message).toContain(`${link} is a symlink in ${dir}, which others can write to`);
    fs.lchownSync(link, 0, 0);
    fs.chmodSync(dir, 0o777); // not sticky: anyone may swap even root's link
    expect(err(() => requireTrustedDir(link, 'state root')).message).toContain(`${link} is a symlink in ${dir}`);
  });
});

describe('ensurePrivateDir', () => {
  it('creates missing dirs 0700 and tightens an existing readable one to 0700', () => {
    const deep = path.join(dir, 'a', 'b');
    ensurePrivateDir(deep, 'manifest dir');
    expect(mode(path.join(dir, 'a'))).toBe(0o700);
    expect(mode(deep)).toBe(0o700);
    fs.chmodSync(deep, 0o755);
    ensurePrivateDir(deep, 'manifest dir');
    expect(mode(deep)).toBe(0o700);
  });

  it('refuses (and makes nothing) when the dir is writable by others', () => {
    fs.chmodSync(dir, 0o777);
    expect(err(() => ensurePrivateDir(path.join(dir, 'm'), 'manifest dir')).code).toBe('unsafe-dir');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('judges a dir that appeared between its check and the mkdir again (another user made it, or a symlink there)', () => {
    fs.chmodSync(dir, 0o1777); // /tmp-like: anyone may make an entry
    const target = path.join(dir, 'state');
    const real = fs.mkdirSync.bind(fs);
    // someone else's dir, made just before barepod's mkdir (which then finds it there and makes nothing)
    const spy = vi.spyOn(fs, 'mkdirSync').mockImplementation(((p: fs.PathLike, o?: fs.MakeDirectoryOptions) => {
      if (!fs.existsSync(target)) {
        real(target, { mode: 0o777 });
        fs.chmodSync(target, 0o777);
      }
      return real(p, o);
    }) as typeof fs.mkdirSync);
    try {
      expect(err(() => ensurePrivateDir(target, 'state root')).code).toBe('unsafe-dir');
    } finally {
      spy.mockRestore();
    }
    expect(mode(target)).toBe(0o777); // refused, not made private as if it were barepod's
  });

  it('an existing trusted dir is checked once and not made again; a missing one is made, then checked where it stands', () => {
    const target = path.join(dir, 'state');
    const mkdir = vi.spyOn(fs, 'mkdirSync');
    try {
      ensurePrivateDir(target, 'state root');
      expect(mkdir).toHaveBeenCalledTimes(1);
      fs.chmodSync(target, 0o750);
      mkdir.mockClear();
      ensurePrivateDir(target, 'state root');
      expect(mkdir).not.toHaveBeenCalled();
      expect(mode(target)).toBe(0o700);
    } finally {
      mkdir.mockRestore();
    }
  });
});

describe('requireTrustedDir: whether the dir itself was judged', () => {
  it('true for an existing dir (and a symlink to one), false for a missing one judged by its nearest ancestor', () => {
    const sub = path.join(dir, 'sub');
    expect(requireTrustedDir(sub, 'state root')).toBe(false);
    fs.mkdirSync(sub, { mode: 0o700 });
    expect(requireTrustedDir(sub, 'state root')).toBe(true);
    fs.symlinkSync(sub, path.join(dir, 'link'));
    expect(requireTrustedDir(path.join(dir, 'link'), 'state root')).toBe(true);
  });

  it('a dir with no symlink on the way is judged with one realpath, no lstat walk; the verdicts are the same', () => {
    const sub = path.join(dir, 'sub');
    fs.mkdirSync(sub, { mode: 0o700 });
    fs.symlinkSync(sub, path.join(dir, 'link'));
    const lstat = vi.spyOn(fs, 'lstatSync');
    try {
      requireTrustedDir(sub, 'state root');
      expect(lstat).not.toHaveBeenCalled();
      requireTrustedDir(path.join(dir, 'link'), 'state root');
      expect(lstat).toHaveBeenCalled();
      fs.chmodSync(sub, 0o770);
      expect(err(() => requireTrustedDir(sub, 'state root')).message).toBe(
        `the state root ${sub} is writable by its group (mode 0770): another user could plant files or symlinks there`,
      );
      expect(err(() => requireTrustedDir(path.join(dir, 'link'), 'state root')).message).toContain(`its real path ${sub} is writable by its group`);
    } finally {
      lstat.mockRestore();
    }
  });
});
