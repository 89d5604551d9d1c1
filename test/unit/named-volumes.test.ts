/**
 * Named volumes on disk (a temp data dir): made 0700/0755/0600 on first use
 * with their metadata beside the data, bound into a pod's definition, listed,
 * refused for removal while a pod uses them, and removed without following a
 * symlink a pod planted in them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PodDefinition, PodRecord } from '../../src/model.js';
import { bindClaims, ensureVolumeAt, listVolumes, readVolume, removeVolume, usersOf, volumePaths } from '../../src/pod/named-volumes.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function settings() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-volumes-'));
  dirs.push(dataDir);
  return { dataDir, cgroupRoot: 'barepod-0123abcd' };
}
/** A store holding pods whose definitions mount these claims. */
const storeOf = (pods: Record<string, string[]>) => ({
  list: () => Object.keys(pods),
  tryRead: (name: string) =>
    pods[name]
      ? ({
          def: { name, volumes: pods[name].map((c, i) => ({ kind: 'persistentVolumeClaim', name: `v${i}`, claimName: c, readOnly: false, path: '' })) },
        } as unknown as PodRecord)
      : undefined,
});

describe('named volumes', () => {
  it('are made on first use (0700 dir, 0755 data, 0600 metadata), per state root, and record the claim and the pods', async () => {
    const s = settings();
    const p = volumePaths(s, 'data');
    expect(p.dir).toBe(path.join(s.dataDir, 'volumes', 'barepod-0123abcd', 'data'));
    expect(await ensureVolumeAt(p.dir, { createdBy: 'pod', pod: 'web' })).toEqual({ created: true, changed: false });
    expect(fs.statSync(p.dir).mode & 0o7777).toBe(0o700);
    expect(fs.statSync(p.data).mode & 0o7777).toBe(0o755);
    expect(fs.statSync(p.meta).mode & 0o7777).toBe(0o600);
    expect(
      await ensureVolumeAt(p.dir, { createdBy: 'PersistentVolumeClaim', claim: { accessModes: ['ReadWriteOnce'], storageBytes: 1024 }, pod: 'db' }),
    ).toEqual({ created: false, changed: true }); // a volume a pod made gets the claim's request
    expect(readVolume(s, 'data')).toMatchObject({ name: 'data', createdBy: 'pod', claim: { storageBytes: 1024 }, pods: ['web', 'db'] });
    // the same request again: unchanged; a new one is recorded and said (kubectl apply's "configured")
    const claim = { accessModes: ['ReadWriteOnce'], storageBytes: 1024 };
    expect(await ensureVolumeAt(p.dir, { createdBy: 'PersistentVolumeClaim', claim })).toEqual({ created: false, changed: false });
    expect(await ensureVolumeAt(p.dir, { createdBy: 'PersistentVolumeClaim', claim: { ...claim, storageBytes: 2048 } })).toEqual({
      created: false,
      changed: true,
    });
    expect(readVolume(s, 'data')?.claim?.storageBytes).toBe(2048);
    expect(listVolumes(s)).toEqual(['data']);
    expect(readVolume(s, 'other')).toBeUndefined();
  });

  it('bindClaims gives each claim volume its data directory, and leaves other volumes alone', () => {
    const s = settings();
    const pod = {
      name: 'web',
      volumes: [
        { kind: 'emptyDir', name: 'e', medium: '' },
        { kind: 'persistentVolumeClaim', name: 'd', claimName: 'data', readOnly: false, path: '' },
      ],
    } as unknown as PodDefinition;
    const [bound] = bindClaims(s, [{ pod }]);
    expect(bound!.pod.volumes).toEqual([pod.volumes![0], { ...pod.volumes![1], path: volumePaths(s, 'data').data }]);
    expect(pod.volumes![1]).toMatchObject({ path: '' }); // the parsed pod is not changed
  });

  it('removal is refused while a pod uses the volume; it never follows a symlink out of the volume', async () => {
    const s = settings();
    const p = volumePaths(s, 'data');
    await ensureVolumeAt(p.dir, { createdBy: 'pod' });
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-canary-'));
    dirs.push(outside);
    fs.writeFileSync(path.join(outside, 'secret'), 'keep');
    fs.symlinkSync(outside, path.join(p.data, 'link'));
    fs.mkdirSync(path.join(p.data, 'sub'));
    fs.symlinkSync('../../../../../../../../..', path.join(p.data, 'sub', 'up'));
    expect(usersOf(storeOf({ web: ['data'], db: ['other'] }), 'data')).toEqual(['web']);
    await expect(removeVolume(s, storeOf({ web: ['data'] }), 'data')).rejects.toThrow('volume "data" is used by pod "web"');
    expect(fs.existsSync(p.data)).toBe(true);
    expect(await removeVolume(s, storeOf({}), 'data')).toBe('removed');
    expect(fs.existsSync(p.dir)).toBe(false);
    expect(fs.readFileSync(path.join(outside, 'secret'), 'utf8')).toBe('keep');
    expect(await removeVolume(s, storeOf({}), 'data')).toBe('not-found');
  });

  it("a name is a DNS-1123 label, and not a state root's tag", () => {
    const s = settings();
    expect(() => volumePaths(s, '../x')).toThrow(/invalid volume name/);
    expect(() => volumePaths(s, 'barepod-89abcdef')).toThrow(/reserved/);
  });
});
