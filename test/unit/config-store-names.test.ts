/**
 * A ConfigMap's or Secret's name is a DNS-1123 subdomain (up to 253
 * characters), but it names a store file (`<name>.json`, written through a
 * `.<name>.json.<16 hex>.tmp` file) that must fit in 255 bytes: a longer
 * name is a clear invalid-name error before anything is written, not a raw
 * ENAMETOOLONG.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BarepodError } from '../../src/errors.js';
import { configDir, writeConfig } from '../../src/pod/config-store.js';

describe('config store file names', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const settings = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-cfgname-'));
    dirs.push(d);
    return { dataDir: d, cgroupRoot: 'barepod' };
  };
  const cm = (name: string) => ({ apiVersion: 'v1' as const, kind: 'ConfigMap' as const, metadata: { name }, data: { a: '1' } });

  it('the longest name whose store file fits is stored; a longer valid subdomain is an invalid-name error and nothing is written', () => {
    const s = settings();
    const longest = 'a'.repeat(228);
    expect(writeConfig(s, cm(longest), 'cli')).toBe('created');
    expect(fs.existsSync(path.join(configDir(s, 'ConfigMap'), `${longest}.json`))).toBe(true);
    const tooLong = 'b'.repeat(229);
    let err: unknown;
    try {
      writeConfig(s, cm(tooLong), 'cli');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BarepodError);
    expect((err as BarepodError).code).toBe('invalid-name');
    expect(fs.readdirSync(configDir(s, 'ConfigMap'))).toEqual([`${longest}.json`]);
  });
});
