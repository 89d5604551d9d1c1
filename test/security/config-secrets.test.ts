/**
 * Attack suite, Secrets: a Secret's value (from a manifest's Secret
 * document and from `secret create --from-file`) never reaches a local user
 * or barepod's own output: not in any file nobody can read (the store, the
 * pod's secret volume, events, records), not in `--explain`, `up --dry-run`,
 * `export`, `inspect`, `ps`, `secret ls` or `secret inspect` without
 * --showsecret. Judged by grepping as nobody across everything barepod wrote.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventually, pidOf, readInContainer, skipReason, useTestEnv } from '../helpers/harness.js';
import { asNobody, filesHolding } from '../helpers/security.js';

describe.skipIf(!!skipReason)('security: Secrets never leak', () => {
  const t = useTestEnv();

  it('a Secret value is in the store and the pod volume (as root), and nowhere nobody or the CLI output shows it', async () => {
    const fromDoc = `DOCS3CRET${randomBytes(12).toString('hex')}`;
    const fromFile = `FILES3CRET${randomBytes(12).toString('hex')}`;
    const forms = (v: string) => [v, Buffer.from(v).toString('base64')];
    // as a user's --root might be: barepod must not rely on the state root being private
    fs.chmodSync(t.root, 0o755);
    const pod = t.pod('sec');
    const docSecret = `${t.prefix}-doc`;
    const fileSecret = `${t.prefix}-file`;
    const valueFile = path.join(t.root, 'value.txt');
    fs.writeFileSync(valueFile, fromFile, { mode: 0o600 });
    const createOut = await t.ok(['secret', 'create', fileSecret, '--from-file', `token=${valueFile}`]);
    fs.rmSync(valueFile);
    const manifest = path.join(t.root, 'pod.yaml');
    fs.writeFileSync(
      manifest,
      `apiVersion: v1
kind: Secret
metadata: {name: ${docSecret}}
stringData: {password: ${fromDoc}}
---
apiVersion: v1
kind: Pod
metadata: {name: ${pod}, annotations: {barepod.io/network: none}}
spec:
  restartPolicy: Never
  volumes:
  - {name: doc, secret: {secretName: ${docSecret}}}
  - {name: both, projected: {sources: [{secret: {name: ${fileSecret}}}, {secret: {name: ${docSecret}, items: [{key: password, path: pw}]}}]}}
  containers:
  - name: app
    image: busybox
    securityContext: {runAsUser: 1000, runAsGroup: 1000}
    command: [sh, -c, 'cat /doc/password > /tmp/seen && exec sleep 3600']
    volumeMounts:
    - {name: doc, mountPath: /doc}
    - {name: both, mountPath: /both}
`,
      { mode: 0o600 },
    );
    const dry = await t.bp(['up', '-f', manifest, '--dry-run']);
    const dryJson = await t.bp(['up', '-f', manifest, '--dry-run', '--json']);
    const up = await t.bp(['up', '-f', manifest, '--explain']);
    expect(up.code, up.stderr).toBe(0);
    // the container, a non-root user, reads it: defaultMode 0644 as in Kubernetes
    const pid = await pidOf(t, pod, 'app');
    expect(readInContainer(pid, '/both/token')).toBe(fromFile);
    expect(readInContainer(pid, '/both/pw')).toBe(fromDoc);
    expect(await eventually(() => readInContainer(pid, '/tmp/seen'), 15_000, 'the read')).toBe(fromDoc);
    const outputs = [
      createOut,
      dry.stdout + dry.stderr,
      dryJson.stdout + dryJson.stderr,
      up.stdout + up.stderr,
      await t.ok(['export', pod]),
      await t.ok(['export', pod, '--json']),
      await t.ok(['inspect', pod, '--json']),
      await t.ok(['ps', '--json']),
      await t.ok(['events', '--json']),
      await t.ok(['secret', 'ls', '--json']),
      await t.ok(['secret', 'inspect', docSecret, fileSecret]),
      (await t.bp(['logs', pod, 'app'])).stdout,
    ];
    for (const v of [fromDoc, fromFile]) for (const form of forms(v)) for (const o of outputs) expect(o).not.toContain(form);

    // as root: barepod really holds them where we look (the store as base64, the volumes as plain text)
    const dirs = [t.root, '/var/lib/barepod'];
    const holding = [fromDoc, fromFile].flatMap((v) => forms(v).flatMap((f) => dirs.flatMap((d) => filesHolding(d, f))));
    const store = (kind: string, name: string) => path.join('/var/lib/barepod', kind, t.cgroupRoot, `${name}.json`);
    expect(holding).toEqual(expect.arrayContaining([store('secrets', docSecret), store('secrets', fileSecret)]));
    expect(holding.filter((p) => p.startsWith(path.join(t.root, 'pods', pod, 'volumes', 'doc', '..')) && p.endsWith('/password'))).toHaveLength(1);
    // what nobody finds: nothing, in any form
    for (const v of [fromDoc, fromFile])
      for (const form of forms(v)) {
        const r = asNobody(['grep', '-r', '-l', '-s', '-F', form, ...dirs]);
        expect(r.stdout, `nobody read ${form} in`).toBe('');
      }
    // the barriers: the pod dir and the store dirs are 0700, the store files 0600
    expect((fs.statSync(path.join(t.root, 'pods', pod)).mode & 0o777).toString(8)).toBe('700');
    expect((fs.statSync(path.dirname(store('secrets', docSecret))).mode & 0o777).toString(8)).toBe('700');
    expect((fs.statSync(store('secrets', docSecret)).mode & 0o777).toString(8)).toBe('600');
    await t.ok(['down', '-f', manifest]);
    await t.ok(['secret', 'rm', fileSecret]);
  });
});
