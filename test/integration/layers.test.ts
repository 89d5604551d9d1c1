/**
 * Layer unpacking on a real filesystem, as root: what a layer may create
 * (whiteouts, opaque dirs, owners, modes, devices, hardlinks, xattrs, zstd),
 * and every attack refused with the entry named and the host untouched.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unpackLayer } from '../../src/runtime/layer-unpack.js';
import { skipReason, useTestEnv } from '../helpers/harness.js';
import { tarBuffer, type TarEntry } from '../helpers/image-fixtures.js';

const xattr = (file: string, name: string) => spawnSync('getfattr', ['-h', '--only-values', '-n', name, file], { encoding: 'utf8' }).stdout;

describe.skipIf(skipReason)('layer unpacking', () => {
  let dir = '';
  let outside = '';
  let victim = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-it-layer-'));
    outside = path.join(dir, 'outside');
    fs.mkdirSync(outside);
    victim = path.join(outside, 'victim');
    fs.writeFileSync(victim, 'original\n');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const layer = (entries: TarEntry[], compress: 'gzip' | 'none' | 'zstd' = 'gzip') => {
    const tar = tarBuffer(entries);
    const file = path.join(dir, `layer-${Math.random().toString(36).slice(2)}`);
    if (compress === 'zstd') {
      fs.writeFileSync(`${file}.tar`, tar);
      expect(spawnSync('zstd', ['-q', `${file}.tar`, '-o', file]).status).toBe(0);
    } else fs.writeFileSync(file, compress === 'gzip' ? zlib.gzipSync(tar) : tar);
    return file;
  };
  const dest = () => {
    const d = path.join(dir, `dest-${Math.random().toString(36).slice(2)}`);
    fs.mkdirSync(d);
    return d;
  };
  const untouched = () => {
    expect(fs.readFileSync(victim, 'utf8')).toBe('original\n');
    expect(fs.statSync(victim).nlink).toBe(1);
    expect(fs.readdirSync(outside)).toEqual(['victim']);
  };

  it('keeps owners, modes (setuid too), mtimes, symlink targets, hardlinks, devices, FIFOs, text xattrs; gzip, plain and zstd give one diffID', async () => {
    const entries: TarEntry[] = [
      { path: 'bin/', mode: 0o755 },
      { path: 'bin/tool', data: 'x', mode: 0o4755, uid: 0, gid: 0 },
      { path: 'home/', mode: 0o755 },
      { path: 'home/app/', mode: 0o700, uid: 1234, gid: 2345 },
      { path: 'home/app/f', data: 'data', mode: 0o640, uid: 1234, gid: 2345, pax: { 'SCHILY.xattr.user.note': 'hello' } },
      { path: 'home/app/hard', type: 'link', linkpath: 'home/app/f' },
      { path: 'etc/host', type: 'symlink', linkpath: '/etc/hostname' },
      { path: 'up', type: 'symlink', linkpath: '../../../../../etc/passwd' },
      { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
      { path: 'run/fifo', type: 'fifo', mode: 0o600 },
      { path: 'implicit/dir/file', data: 'i' },
    ];
    const results = [];
    for (const c of ['gzip', 'none', 'zstd'] as const) {
      const d = dest();
      results.push(await unpackLayer(layer(entries, c), d));
      expect(fs.statSync(path.join(d, 'bin/tool')).mode & 0o7777).toBe(0o4755);
      const f = fs.statSync(path.join(d, 'home/app/f'));
      expect([f.uid, f.gid, f.mode & 0o7777, f.nlink]).toEqual([1234, 2345, 0o640, 2]);
      expect(f.mtimeMs).toBe(1700000000 * 1000);
      expect(fs.statSync(path.join(d, 'home/app/hard')).ino).toBe(f.ino);
      expect(fs.statSync(path.join(d, 'home/app')).mode & 0o7777).toBe(0o700);
      expect(fs.readlinkSync(path.join(d, 'etc/host'))).toBe('/etc/hostname');
      expect(fs.readlinkSync(path.join(d, 'up'))).toBe('../../../../../etc/passwd');
      const dev = fs.statSync(path.join(d, 'dev/null'));
      expect([dev.isCharacterDevice(), dev.rdev, dev.mode & 0o777]).toEqual([true, fs.statSync('/dev/null').rdev, 0o666]);
      expect(fs.statSync(path.join(d, 'run/fifo')).isFIFO()).toBe(true);
      expect(xattr(path.join(d, 'home/app/f'), 'user.note')).toBe('hello');
      expect(fs.readFileSync(path.join(d, 'implicit/dir/file'), 'utf8')).toBe('i');
    }
    expect(new Set(results.map((r) => r.diffId)).size).toBe(1);
  });

  it('turns .wh.NAME into an overlay whiteout and .wh..wh..opq into an opaque dir', async () => {
    const d = dest();
    await unpackLayer(
      layer([
        { path: 'data/' },
        { path: 'data/.wh.old.txt' },
        { path: 'opq/' },
        { path: 'opq/.wh..wh..opq' },
        { path: 'opq/c', data: 'c' },
        { path: '.wh..wh.plnk/' },
      ]),
      d,
    );
    const wh = fs.lstatSync(path.join(d, 'data/old.txt'));
    expect([wh.isCharacterDevice(), wh.rdev]).toEqual([true, 0]);
    expect(fs.existsSync(path.join(d, 'data/.wh.old.txt'))).toBe(false);
    expect(xattr(path.join(d, 'opq'), 'trusted.overlay.opaque')).toBe('y');
    expect(fs.readdirSync(path.join(d, 'opq'))).toEqual(['c']);
  });

  it('a later entry replaces what was queued at its path; a file larger than a read chunk arrives whole; every byte is counted', async () => {
    const big = Buffer.alloc(3 * (1 << 20) + 12345);
    for (let i = 0; i + 4 <= big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    const entries: TarEntry[] = [
      { path: 'a/' },
      { path: 'a/.wh.x' },
      { path: 'a/x', data: 'new' },
      { path: 'dev/' },
      { path: 'dev/c', type: 'char', devmajor: 1, devminor: 3, pax: { 'SCHILY.xattr.user.k': 'v' } },
      { path: 'dev/c', data: 'file' },
      { path: 'big', data: big, mode: 0o600 },
      { path: 'after', data: 'tail' },
    ];
    const size = tarBuffer(entries).length;
    for (const c of ['gzip', 'none'] as const) {
      const d = dest();
      let seen = 0;
      const r = await unpackLayer(layer(entries, c), d, { onBytes: (n) => (seen = n) });
      expect([r.bytes, seen, r.entries]).toEqual([size, size, entries.length]);
      expect(fs.readFileSync(path.join(d, 'a/x'), 'utf8')).toBe('new');
      expect(fs.lstatSync(path.join(d, 'dev/c')).isFile()).toBe(true);
      expect(fs.readFileSync(path.join(d, 'dev/c'), 'utf8')).toBe('file');
      expect(xattr(path.join(d, 'dev/c'), 'user.k')).toBe('');
      expect(fs.readFileSync(path.join(d, 'big')).equals(big)).toBe(true);
      expect(fs.readFileSync(path.join(d, 'after'), 'utf8')).toBe('tail');
    }
  });

  it('a truncated layer is refused as corrupt (plain and gzip)', async () => {
    const tar = tarBuffer([{ path: 'f', data: Buffer.alloc(1 << 20, 7) }]);
    for (const body of [tar.subarray(0, 600_000), zlib.gzipSync(tar).subarray(0, 600)]) {
      const file = path.join(dir, `cut-${Math.random().toString(36).slice(2)}`);
      fs.writeFileSync(file, body);
      await expect(unpackLayer(file, dest())).rejects.toThrow(/is not a valid tar stream/);
    }
  });

  // One fixture per attack: each is refused, names its entry, writes nothing outside.
  const attacks: [string, (o: string) => TarEntry[], RegExp][] = [
    ['a ".." path', () => [{ path: '../../outside/victim', data: 'pwned' }], /"\.\.\/\.\.\/outside\/victim" refused: '\.\.' in the path/],
    ['a ".." path inside', () => [{ path: 'a/../../outside/new', data: 'pwned' }], /"a\/\.\.\/\.\.\/outside\/new" refused/],
    ['an absolute path', (o) => [{ path: `${o}/victim`, data: 'pwned' }], /refused: an absolute path/],
    [
      'symlink then write through it',
      (o) => [
        { path: 'etc', type: 'symlink', linkpath: o },
        { path: 'etc/victim', data: 'pwned' },
      ],
      /"etc\/victim" refused: it goes through the symbolic link "etc"/,
    ],
    [
      'symlink then a new file through it',
      (o) => [
        { path: 'etc', type: 'symlink', linkpath: o },
        { path: 'etc/passwd', data: 'pwned' },
      ],
      /"etc\/passwd" refused: it goes through the symbolic link "etc"/,
    ],
    [
      'a relative symlink then a dir through it',
      () => [
        { path: 'x', type: 'symlink', linkpath: '../outside' },
        { path: 'x/sub/', type: 'dir' },
      ],
      /"x\/sub\/" refused: it goes through the symbolic link "x"/,
    ],
    ['a hardlink with ".."', () => [{ path: 'h', type: 'link', linkpath: '../outside/victim' }], /"h" refused: '\.\.' in the path/],
    ['a hardlink to an absolute path', (o) => [{ path: 'h', type: 'link', linkpath: `${o}/victim` }], /"h" refused: an absolute path/],
    [
      'a hardlink through a symlink',
      (o) => [
        { path: 's', type: 'symlink', linkpath: o },
        { path: 'h', type: 'link', linkpath: 's/victim' },
      ],
      /"h" refused: it goes through the symbolic link "s"/,
    ],
    [
      'a hardlink to a symlink, then a write through it',
      (o) => [
        { path: 's', type: 'symlink', linkpath: o },
        { path: 'h', type: 'link', linkpath: 's' },
        { path: 'h/victim', data: 'pwned' },
      ],
      /"h\/victim" refused: it goes through the symbolic link "h"/,
    ],
    [
      'a whiteout through a symlink',
      (o) => [{ path: 's', type: 'symlink', linkpath: o }, { path: 's/.wh.victim' }],
      /"s\/\.wh\.victim" refused: it goes through the symbolic link "s"/,
    ],
    ['an opaque marker through a symlink', (o) => [{ path: 's', type: 'symlink', linkpath: o }, { path: 's/.wh..wh..opq' }], /"s\/\.wh\.\.wh\.\.opq" refused/],
    ['a whiteout of ".."', () => [{ path: 'a/' }, { path: 'a/.wh...' }], /"a\/\.wh\.\.\." refused: a whiteout of "\.\."/],
    [
      'an overlayfs xattr',
      () => [{ path: 'd/', pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/../outside' } }],
      /"d\/" refused: it carries the overlayfs xattr trusted\.overlay\.redirect/,
    ],
  ];
  it('a directory replaced by a symlink after a device node, an xattr and an mtime were queued in it: nothing lands through the symlink', async () => {
    const d = dest();
    await unpackLayer(
      layer([
        { path: 'd/' },
        { path: 'd/sub/', pax: { 'SCHILY.xattr.user.x': 'y' } },
        { path: 'd/victim', type: 'char', devmajor: 1, devminor: 3 },
        { path: 'd/.wh.gone' },
        { path: 'd', type: 'symlink', linkpath: outside },
      ]),
      d,
    );
    expect(fs.readlinkSync(path.join(d, 'd'))).toBe(outside);
    untouched();
  });

  it.each(attacks)('refuses %s', async (_what, make, message) => {
    const d = dest();
    await expect(unpackLayer(layer(make(outside)), d)).rejects.toThrow(message);
    untouched();
  });
});

describe.skipIf(skipReason)('barepod import', () => {
  const t = useTestEnv();

  it('a malicious tarball: exit 1, the entry named, nothing stored, nothing outside', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-it-evil-'));
    try {
      const target = path.join(dir, 'target');
      fs.mkdirSync(target);
      fs.writeFileSync(
        path.join(dir, 'evil.tar'),
        tarBuffer([
          { path: 'ok', data: 'fine' },
          { path: 'etc', type: 'symlink', linkpath: target },
          { path: 'etc/passwd', data: 'root::0:0::/:/bin/sh\n' },
        ]),
      );
      const r = await t.bp(['import', path.join(dir, 'evil.tar'), 'evil:1']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/layer entry "etc\/passwd" refused: it goes through the symbolic link "etc"/);
      expect(fs.readdirSync(target)).toEqual([]);
      const store = path.join(t.root, 'images');
      expect(fs.existsSync(path.join(store, 'layers')) ? fs.readdirSync(path.join(store, 'layers')) : []).toEqual([]);
      expect(fs.existsSync(path.join(store, 'index.json'))).toBe(false);
      expect(JSON.parse(await t.ok(['images', '--json'])).filter((i: { builtin: boolean }) => !i.builtin)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
