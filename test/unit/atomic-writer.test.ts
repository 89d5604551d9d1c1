/**
 * The `..data` writer: a version directory per content, `..data` swapped
 * with rename(2), a link per top-level entry, stale versions and links
 * removed, nothing rewritten when the content is the same.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeAtomically, type Payload } from '../../src/runtime/atomic-writer.js';

const payload = (files: Record<string, [string, number]>): Payload =>
  new Map(Object.entries(files).map(([p, [d, mode]]) => [p, { data: Buffer.from(d), mode }]));

describe('atomic writer (..data)', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fresh = () => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-aw-')));
  const entries = () => fs.readdirSync(dir).sort();
  const versions = () => entries().filter((e) => e.startsWith('..') && e !== '..data');

  it('writes a version, points ..data at it and links each top-level entry into ..data', () => {
    fresh();
    expect(writeAtomically(dir, payload({ a: ['A', 0o644], 'sub/b': ['B', 0o600] }), new Date('2026-12-01T20:41:07Z'))).toBe(true);
    const [v] = versions();
    expect(v).toMatch(/^\.\.2026_12_01_20_41_07\.[0-9a-f]{10}$/);
    expect(fs.readlinkSync(path.join(dir, '..data'))).toBe(v);
    expect(fs.readlinkSync(path.join(dir, 'a'))).toBe('..data/a');
    expect(fs.readlinkSync(path.join(dir, 'sub'))).toBe('..data/sub');
    expect(fs.readFileSync(path.join(dir, 'sub/b'), 'utf8')).toBe('B');
    expect(fs.statSync(path.join(dir, 'sub/b')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dir, 'a')).mode & 0o777).toBe(0o644);
  });

  it('the same content is not written again; a change swaps ..data, removes the old version and the links of entries gone', () => {
    fresh();
    writeAtomically(dir, payload({ a: ['A', 0o644], b: ['B', 0o644] }));
    const [first] = versions();
    expect(writeAtomically(dir, payload({ a: ['A', 0o644], b: ['B', 0o644] }))).toBe(false);
    expect(versions()).toEqual([first]);
    // a reader holding the old version's file keeps reading it whole (it is never rewritten in place)
    const held = fs.openSync(path.join(dir, 'a'), 'r');
    expect(writeAtomically(dir, payload({ a: ['A2', 0o644], c: ['C', 0o640] }))).toBe(true);
    const [second] = versions();
    expect(second).not.toBe(first);
    expect(entries()).toEqual(['..data', second, 'a', 'c'].sort());
    expect(fs.readFileSync(path.join(dir, 'a'), 'utf8')).toBe('A2');
    expect(fs.readFileSync(held, 'utf8')).toBe('A');
    fs.closeSync(held);
    // a mode change alone is a change too
    expect(writeAtomically(dir, payload({ a: ['A2', 0o600], c: ['C', 0o640] }))).toBe(true);
    expect(fs.statSync(path.join(dir, 'a')).mode & 0o777).toBe(0o600);
  });

  it('a ..data that leads out of the volume is never read: a new version replaces it', () => {
    fresh();
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-aw-out-'));
    try {
      fs.writeFileSync(path.join(outside, 'a'), 'A');
      fs.chmodSync(path.join(outside, 'a'), 0o644);
      fs.symlinkSync(path.relative(dir, outside), path.join(dir, '..data'));
      // the same content as the outside dir holds: still written, as a version of its own
      expect(writeAtomically(dir, payload({ a: ['A', 0o644] }))).toBe(true);
      expect(fs.readlinkSync(path.join(dir, '..data'))).toMatch(/^\.\.\d{4}_/);
      expect(fs.readdirSync(outside)).toEqual(['a']);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('an empty payload is an empty version (an optional object that is missing); paths out of the volume are refused', () => {
    fresh();
    expect(writeAtomically(dir, new Map())).toBe(true);
    expect(entries()).toEqual(['..data', ...versions()].sort());
    for (const bad of ['../x', '/etc/x', '..data', 'a/../../x', 'a//b'])
      expect(() => writeAtomically(dir, payload({ [bad]: ['x', 0o644] }))).toThrow(/is not a relative path inside the volume/);
  });
});
