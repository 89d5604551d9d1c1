/**
 * Resolving a subPath inside its volume (runtime/subpath.ts), on real
 * directories (no root needed: only opens, never mounts): symlinks inside
 * the volume are followed by barepod's own rules, any way out is refused.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { volumeMount } from '../../src/plan/pod-plan.js';
import { insideRoot, MAX_SYMLINKS, openSubPath, SubPathError } from '../../src/runtime/subpath.js';

let tmp = '';
let vol = '';
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-subpath-'));
  vol = path.join(tmp, 'vol');
  fs.mkdirSync(path.join(vol, 'a', 'b'), { recursive: true });
  fs.writeFileSync(path.join(vol, 'a', 'b', 'f'), 'f\n');
  fs.mkdirSync(path.join(tmp, 'outside'));
  fs.writeFileSync(path.join(tmp, 'outside', 'secret'), 's\n');
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Resolves and returns [resolved path, is a directory, inode], closing the fd. */
function resolve(subPath: string, root = vol): [string, boolean, number] {
  const o = openSubPath(root, subPath);
  try {
    return [o.resolved, o.isDirectory, fs.fstatSync(o.fd).ino];
  } finally {
    fs.closeSync(o.fd);
  }
}
function refusal(subPath: string): SubPathError {
  try {
    resolve(subPath);
  } catch (e) {
    expect(e).toBeInstanceOf(SubPathError);
    return e as SubPathError;
  }
  throw new Error(`${subPath} was resolved`);
}
const ino = (p: string) => fs.statSync(p).ino;
const link = (target: string, at: string) => fs.symlinkSync(target, path.join(vol, at));

describe('openSubPath', () => {
  it('opens plain directories and files of the volume, "." and empty components included', () => {
    expect(resolve('a/b')).toEqual(['a/b', true, ino(path.join(vol, 'a/b'))]);
    expect(resolve('./a//b/f')).toEqual(['a/b/f', false, ino(path.join(vol, 'a/b/f'))]);
    expect(resolve('.')).toEqual(['', true, ino(vol)]);
  });

  it('follows symlinks that stay inside: relative, through "..", chained, and absolute to the volume\'s own path', () => {
    link('a/b', 'rel');
    link('../b/f', 'a/up-file'); // a/../b/f: b does not exist at the root
    link('../a/b/f', 'a/up');
    link('rel', 'chain');
    link(path.join(vol, 'a'), 'abs');
    link(`${vol}//a/b/`, 'abs2');
    expect(resolve('rel')).toEqual(['a/b', true, ino(path.join(vol, 'a/b'))]);
    expect(resolve('rel/f')[0]).toBe('a/b/f');
    expect(resolve('a/up')[0]).toBe('a/b/f');
    expect(resolve('chain/f')[0]).toBe('a/b/f');
    expect(resolve('abs/b')[0]).toBe('a/b');
    expect(resolve('abs2')[0]).toBe('a/b');
    expect(refusal('a/up-file').kind).toBe('missing');
  });

  it('".." after a symlink steps back to the real parent of its target, as the kernel does, not to the lexical one', () => {
    link('a/b', 'x');
    link('x/../b', 'y'); // x/.. is a (the parent of a/b): a/b, where a lexical x/../b = b does not exist
    link('../b', 'a/b/self');
    expect(resolve('x/../b/f')[0]).toBe('a/b/f');
    expect(resolve('y')[0]).toBe('a/b');
    expect(resolve('a/b/self/self/f')[0]).toBe('a/b/f');
  });

  it("refuses every way out: an absolute link elsewhere, the host's /, a relative climb, a sibling with the same prefix", () => {
    link(path.join(tmp, 'outside'), 'abs');
    link('/', 'root');
    link('../outside', 'climb');
    link('../../../../../../../../..', 'a/deep');
    fs.mkdirSync(`${vol}-evil`);
    link(`${vol}-evil`, 'prefix');
    link(`${vol}/../outside`, 'dotdot');
    for (const [sub, msg] of [
      ['abs', `abs is a symlink to ${path.join(tmp, 'outside')}, outside the volume`],
      ['abs/secret', `abs is a symlink to ${path.join(tmp, 'outside')}, outside the volume`],
      ['root', 'root is a symlink to /, outside the volume'],
      ['climb/secret', 'climb is a symlink to ../outside, outside the volume'],
      ['a/deep', 'a/deep is a symlink to ../../../../../../../../.., outside the volume'],
      ['prefix', `prefix is a symlink to ${vol}-evil, outside the volume`],
      ['dotdot', `dotdot is a symlink to ${vol}/../outside, outside the volume`],
    ]) {
      const e = refusal(sub!);
      expect([sub, e.kind, e.message]).toEqual([sub, 'escape', msg]);
    }
  });

  it('a link chain that leaves the volume in its last hop is refused too', () => {
    link('b2', 'b1');
    link('/etc', 'b2');
    expect(refusal('b1/passwd').message).toBe('b2 is a symlink to /etc, outside the volume');
  });

  it('a missing component, a file in the middle, a symlink loop: clear refusals, never a throw of another kind', () => {
    expect(refusal('nope').message).toBe('nope does not exist in the volume');
    expect(refusal('a/nope/x').kind).toBe('missing');
    expect(refusal('a/b/f/x').message).toBe('a/b/f is not a directory');
    link('loop2', 'loop1');
    link('loop1', 'loop2');
    expect(refusal('loop1').message).toBe(`more than ${MAX_SYMLINKS} symlinks (a loop?) at loop1`);
  });

  it('a volume root reached through a symlink of the host: absolute links to either spelling are inside', () => {
    const alias = path.join(tmp, 'alias');
    fs.symlinkSync(vol, alias);
    link(path.join(alias, 'a'), 'via-alias');
    link(path.join(vol, 'a'), 'via-real');
    expect(resolve('via-alias/b', alias)[0]).toBe('a/b');
    expect(resolve('via-real/b', alias)[0]).toBe('a/b');
  });

  it('a path swapped back and forth under it (a directory, then a symlink out) never yields the outside object', async () => {
    fs.mkdirSync(path.join(vol, 'd'));
    fs.writeFileSync(path.join(vol, 'd', 'secret'), 'inside\n');
    const inside = ino(path.join(vol, 'd', 'secret'));
    const outside = ino(path.join(tmp, 'outside', 'secret'));
    // its own process group: killed whole, the mv or ln running at that moment included
    const swapper = spawn('sh', ['-c', `cd ${vol} && while :; do mv d d.real; ln -s ${tmp}/outside d; rm d; mv d.real d; done`], {
      stdio: 'ignore',
      detached: true,
    });
    const seen = new Set<string>();
    try {
      for (let i = 0; i < 3000; i++) {
        try {
          const got = resolve('d/secret')[2];
          seen.add(got === inside ? 'inside' : got === outside ? 'OUTSIDE' : `other ${got}`);
        } catch (e) {
          seen.add((e as SubPathError).kind ?? String(e));
        }
        if (i % 100 === 0) await new Promise((r) => setImmediate(r));
      }
    } finally {
      const exited = new Promise((r) => swapper.once('exit', r));
      process.kill(-swapper.pid!, 'SIGKILL');
      await exited;
      // until the group is empty: nothing changes the tree under afterEach's rm
      for (;;) {
        try {
          process.kill(-swapper.pid!, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    expect(seen.has('OUTSIDE')).toBe(false);
    // caught mid-swap: refused as an escape, as missing, or as changed while it was resolved; never another kind of throw
    expect([...seen].filter((k) => !['inside', 'escape', 'missing', 'invalid'].includes(k))).toEqual([]);
    expect(seen.has('inside')).toBe(true);
  });

  it('never leaves an fd open', () => {
    link('/', 'root');
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 20; i++) {
      resolve('a/b/f');
      refusal('root');
      refusal('nope');
    }
    expect(fds()).toBe(before);
  });
});

describe('insideRoot', () => {
  it('maps an absolute path inside a root to its components, and nothing else', () => {
    expect(insideRoot('/v/a/b', ['/v'])).toEqual(['a', 'b']);
    expect(insideRoot('/v', ['/v'])).toEqual([]);
    expect(insideRoot('/v/', ['/v/'])).toEqual([]);
    expect(insideRoot('/vx/a', ['/v'])).toBeUndefined();
    expect(insideRoot('/etc', ['/v', '/real/v'])).toBeUndefined();
    expect(insideRoot('/real/v/a', ['/v', '/real/v'])).toEqual(['a']);
    expect(insideRoot('/v/../etc', ['/v'])).toEqual(['..', 'etc']); // the walk refuses the ".." above the root
  });
});

describe('volumeMount', () => {
  const sources = { vol: '/run/barepod/pods/p/volumes/vol' };
  it('hands runc the staged object for a subPath, never the string <volume>/<subPath> a container can turn into a symlink', () => {
    const m = volumeMount({ name: 'vol', mountPath: '/www', readOnly: true, subPath: 'escape' }, sources, '/run/barepod/pods/p/subpaths/app/0');
    expect(m).toEqual({ destination: '/www', type: 'bind', source: '/run/barepod/pods/p/subpaths/app/0', options: ['rbind', 'ro', 'nosuid', 'nodev'] });
    expect(() => volumeMount({ name: 'vol', mountPath: '/www', readOnly: false, subPath: 'escape' }, sources)).toThrow('subPath "escape" was not staged');
  });
  it('a whole volume is its own directory, as before', () => {
    expect(volumeMount({ name: 'vol', mountPath: '/v', readOnly: false }, sources).source).toBe(sources.vol);
  });
});
