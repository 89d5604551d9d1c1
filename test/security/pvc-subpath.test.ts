/**
 * A named volume outlives its pods, so what one pod plants in it is there
 * when the next pod starts: a symlink a pod made in a PersistentVolumeClaim's
 * volume must not let a later pod's subPath mount a host path. Judged on the
 * host: a canary directory outside the volume is not read, written or grown.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, skipReason, useTestEnv } from '../helpers/harness.js';
import { podManifest, snapshot } from '../helpers/security.js';

describe.skipIf(skipReason)('security: subPath into a PersistentVolumeClaim', () => {
  const t = useTestEnv();
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it.each([
    ['an absolute symlink to a host directory', (canary: string) => canary],
    ['a relative symlink climbing out of the volume', (canary: string) => `../../../../../../../../../../../../../..${canary}`],
  ])('one pod plants %s in the claim; a later pod that mounts it by subPath is refused and the host directory is untouched', async (_what, target) => {
    const canary = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-canary-'));
    made.push(canary, path.join('/var/lib/barepod/volumes', t.cgroupRoot));
    const secret = `canary-${Math.random().toString(36).slice(2)}`;
    fs.writeFileSync(path.join(canary, 'secret'), `${secret}\n`, { mode: 0o600 });
    const before = snapshot(canary);
    const out = path.join(t.root, 'out');
    fs.mkdirSync(out);
    const claim = `${t.prefix}-data`;

    // the first pod plants the link in the claim's volume and is taken down: the volume (and the link) stay
    const planter = t.pod('planter');
    const plant = podManifest(
      t,
      planter,
      `  restartPolicy: Never
  volumes: [{name: data, persistentVolumeClaim: {claimName: ${claim}}}]
  containers:
    - name: plant
      image: busybox
      command: [sh, -c, "ln -s '${target(canary)}' /data/config && exec sleep 3600"]
      volumeMounts: [{name: data, mountPath: /data}]
`,
    );
    await t.ok(['up', '-f', plant]);
    const link = path.join('/var/lib/barepod/volumes', t.cgroupRoot, claim, '_data', 'config');
    await eventually(() => fs.lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink(), 15_000, 'the link to be planted');
    await t.ok(['down', '-f', plant]);

    // the next pod mounts the claim by subPath "config": the link must not lead it to the host's directory
    const victim = t.pod('victim');
    const file = podManifest(
      t,
      victim,
      `  restartPolicy: Never
  volumes:
    - {name: data, persistentVolumeClaim: {claimName: ${claim}}}
    - {name: out, hostPath: {path: ${out}, type: Directory}}
  containers:
    - name: app
      image: busybox
      command: [sh, -c, "cat /etc/app/secret > /out/read; echo pwned > /etc/app/pwned; exec sleep 3600"]
      volumeMounts: [{name: data, mountPath: /etc/app, subPath: config}, {name: out, mountPath: /out}]
`,
    );
    const r = await t.bp(['up', '-f', file]);
    if (r.code === 0) await eventually(() => fs.readdirSync(out).length > 0, 15_000, 'the app to run').catch(() => undefined);
    // on the host: the canary is as it was (nothing written, nothing added), nothing of it was read out
    expect(snapshot(canary)).toEqual(before);
    expect(fs.readdirSync(out)).toEqual([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`container "app": subPath "config" of volume "data"`);
    expect(r.stderr).toContain('outside the volume; the container was not started');
    expect(fs.existsSync(path.join(t.root, 'pods', victim))).toBe(false);
    // the volume (and its data) is still the user's to remove
    await t.ok(['volume', 'rm', claim]);
  });
});
