/**
 * rt.pod(…): one pod's paths, cgroups and lock, the same values the pure
 * helpers give (podPaths, podCgroup, containerCgroup), a record's cgroup
 * root winning over the state root's; made without touching the disk and
 * without refusing anything until its paths are read.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LEGACY_CGROUP_ROOT, type PodDefinition } from '../../src/model.js';
import { podPaths } from '../../src/plan/paths.js';
import { containerCgroup, podCgroup } from '../../src/plan/pod-plan.js';
import { inspectLock } from '../../src/runtime/state.js';
import { identify } from '../../src/runtime/procfs.js';
import { podScopes } from '../../src/pod/scope.js';

describe('pod scope', () => {
  let dir = '';
  let settings = { stateRoot: '', cgroupRoot: 'barepod-t' };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-scope-'));
    settings = { stateRoot: path.join(dir, 'state'), cgroupRoot: 'barepod-t' };
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const def = (name: string) => ({ name }) as PodDefinition;

  it("gives podPaths' paths and the state root's cgroups for a name, and is one object per pod", () => {
    const pod = podScopes(settings);
    const web = pod('web');
    expect(web.paths).toEqual(podPaths(settings.stateRoot, 'web'));
    expect(web.cgroup).toBe(podCgroup(settings, 'web'));
    expect(web.cgroup).toBe('/barepod-t/web');
    expect(web.containerCgroup('app')).toBe(containerCgroup(settings, 'web', 'app'));
    expect(web.cgroupRoot).toBe('barepod-t');
    expect(pod('web')).toBe(web);
    expect(pod('db')).not.toBe(web);
  });

  it("takes a record's cgroup root, an older barepod's record (none) meaning /barepod", () => {
    const pod = podScopes(settings);
    expect(pod({ def: def('web'), cgroupRoot: 'barepod-t' })).toBe(pod('web'));
    const other = pod({ def: def('web'), cgroupRoot: 'barepod-0123abcd' });
    expect(other.cgroup).toBe('/barepod-0123abcd/web');
    expect(other.paths).toEqual(podPaths(settings.stateRoot, 'web'));
    expect(pod({ def: def('web') }).cgroup).toBe(`/${LEGACY_CGROUP_ROOT}/web`);
  });

  it('touches nothing when made, and refuses a bad name only when its paths are read', () => {
    const bad = podScopes(settings)('../../etc');
    expect(fs.existsSync(settings.stateRoot)).toBe(false);
    expect(() => bad.paths).toThrow(/pod/);
  });

  it("runs work under the pod's lock file", async () => {
    const web = podScopes(settings)('web');
    const seen = await web.withLock(async () => inspectLock(web.paths.lock).owner);
    expect(seen).toEqual(identify(process.pid));
    expect(fs.existsSync(web.paths.lock)).toBe(false);
    expect(await web.tryLock(async () => 7)).toEqual({ ran: true, value: 7 });
  });
});
