/**
 * What a read command (ps, pod ls, inspect) does before it reads a pod, kept to what it needs: the state root's
 * cgroup root (two realpaths and a sha256) is worked out only when read, and runc and conmon are looked up only
 * when used; a command that changes pods still finds a missing tool before it starts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PodDefinition } from '../../src/model.js';
import { cgroupRootFor, rootHash } from '../../src/plan/paths.js';
import { openRuntime } from '../../src/pod/runtime.js';
import { podScopes } from '../../src/pod/scope.js';
import { resolveSettings } from '../../src/runtime/host.js';
import type { BarepodError } from '../../src/errors.js';
import { thrown } from '../helpers/thrown.js';

const isRoot = process.getuid?.() === 0;

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-view-start-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("the state root's cgroup root", () => {
  it('is worked out when first read, once, with the value of before (the real path decides)', () => {
    const real = path.join(dir, 'real');
    fs.mkdirSync(real);
    fs.symlinkSync(real, path.join(dir, 'link'));
    const realpath = vi.spyOn(fs.realpathSync, 'native');
    const viaLink = resolveSettings({ root: path.join(dir, 'link') });
    expect(realpath).not.toHaveBeenCalled();
    expect(viaLink.cgroupRoot).toBe(`barepod-${rootHash(real)}`);
    const calls = realpath.mock.calls.length;
    expect(calls).toBeGreaterThan(0);
    expect(viaLink.cgroupRoot).toBe(cgroupRootFor(real));
    expect(realpath.mock.calls.length).toBe(calls);
    // a root not made yet: judged by its real parent, as before
    expect(resolveSettings({ root: path.join(dir, 'link', 'later') }).cgroupRoot).toBe(`barepod-${rootHash(path.join(real, 'later'))}`);
    expect(resolveSettings({ root: '/run/barepod' }).cgroupRoot).toBe('barepod');
    // copies (a spread) carry the value
    expect({ ...viaLink }.cgroupRoot).toBe(viaLink.cgroupRoot);
  });

  it("is not read for a pod scope made from a record (which names its own): reconcile's, in ps", () => {
    let reads = 0;
    const settings = {
      stateRoot: dir,
      get cgroupRoot() {
        reads++;
        return 'barepod-t';
      },
    };
    const pod = podScopes(settings);
    const scope = pod({ def: { name: 'web' } as PodDefinition, cgroupRoot: 'barepod-0123abcd' });
    expect(scope.cgroup).toBe('/barepod-0123abcd/web');
    expect(pod({ def: { name: 'db' } as PodDefinition }).cgroup).toBe('/barepod/db');
    expect(reads).toBe(0);
    expect(pod('web').cgroup).toBe('/barepod-t/web');
    expect(reads).toBe(1);
  });
});

describe.skipIf(!isRoot)('runc and conmon for a read command', () => {
  it("are looked up when used ('when-used'): a missing runc fails only the call that needs it", () => {
    vi.stubEnv('BAREPOD_RUNC', path.join(dir, 'no-runc'));
    const settings = resolveSettings({ root: path.join(dir, 'state') });
    const rt = openRuntime(settings, { tools: 'when-used' });
    expect(rt.store.list()).toEqual([]);
    const e = thrown(() => rt.runc) as BarepodError;
    expect(e.code).toBe('missing-tool');
    expect(e.message).toContain('runc not found');
    expect(typeof rt.conmon).toBe('string');
  });

  it('are required when the runtime opens for any other command (the default), runc first', () => {
    vi.stubEnv('BAREPOD_RUNC', path.join(dir, 'no-runc'));
    vi.stubEnv('BAREPOD_CONMON', path.join(dir, 'no-conmon'));
    const settings = resolveSettings({ root: path.join(dir, 'state') });
    const e = thrown(() => openRuntime(settings)) as BarepodError;
    expect(e.code).toBe('missing-tool');
    expect(e.message).toContain('runc not found');
    vi.unstubAllEnvs();
    const rt = openRuntime(settings);
    expect(rt.runc).toBe(rt.runc);
    expect(path.basename(rt.conmon)).toBe('conmon');
  });
});
