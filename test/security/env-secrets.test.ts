/**
 * Attack suite, Secret values in env: a value taken from a Secret
 * (secretKeyRef, envFrom secretRef) reaches the container's process and
 * nothing a local user or a pasted transcript can read: no world-readable
 * file barepod wrote (judged on the host, by grep as nobody), not the pod's
 * record, not --explain, a dry run, export, events, ps or inspect.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { it, pidOf, skipReason } from '../helpers/harness.js';
import { DATA_DIR, storeConfig } from '../helpers/config-store.js';

const NOBODY = 65534;
const octal = (m: number) => m.toString(8).padStart(4, '0');

function asNobody(argv: string[]): { code: number | null; stdout: string } {
  const r = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv], { cwd: '/', encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout };
}

/** Every regular file under `top` (as root) whose content holds `needle`; mounted dirs (a rootfs, /dev/shm) are the container's, skipped. */
function filesHolding(top: string, needle: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (!spawnSync('mountpoint', ['-q', p]).status) continue;
        walk(p);
      } else if (e.isFile()) {
        try {
          if (fs.readFileSync(p).includes(needle)) out.push(p);
        } catch {
          // vanished
        }
      }
    }
  };
  walk(top);
  return out;
}

describe.skipIf(!!skipReason)('security: Secret values in env', () => {
  it('a Secret env value is only in the container (and its 0600 config.json): never in a file nobody reads, the record, --explain, dry run, export, events, ps, inspect', async ({
    t,
  }) => {
    const secret = `ENVS3CRET${randomBytes(12).toString('hex')}`;
    const encoded = Buffer.from(secret).toString('base64');
    // as a user's --root might be: barepod must not rely on the state root being private already
    fs.chmodSync(t.root, 0o755);
    storeConfig(t, 'Secret', 'db', { password: secret });
    storeConfig(t, 'Secret', 'all', { TOKEN: secret });
    const pod = t.pod('secretenv');
    const file = path.join(t.root, 'pod.yaml');
    fs.writeFileSync(
      file,
      `apiVersion: v1
kind: Pod
metadata:
  name: ${pod}
spec:
  containers:
  - name: app
    image: busybox
    command: [sh, -c, 'exec sleep 3600', '$(PASSWORD)']
    env:
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}
    envFrom: [{secretRef: {name: all}, prefix: S_}]
`,
    );
    fs.chmodSync(file, 0o600);
    const dry = await t.ok(['up', '-f', file, '--dry-run']);
    const dryJson = await t.ok(['up', '-f', file, '--dry-run', '--json']);
    expect(dry).toContain('PASSWORD=<secret:db/password>');
    const up = await t.bp(['up', '-f', file, '--explain']);
    expect(up.code).toBe(0);
    expect(up.stderr).toContain('PASSWORD=<secret:db/password>');
    // the container really has the values
    const env = fs.readFileSync(`/proc/${await pidOf(t, pod, 'app')}/environ`, 'utf8').split('\0');
    expect(env).toEqual(expect.arrayContaining([`PASSWORD=${secret}`, `S_TOKEN=${secret}`]));
    // $(PASSWORD) in the args was expanded in the container's config.json, while --explain shows the reference
    const config = JSON.parse(fs.readFileSync(path.join(t.root, 'pods', pod, 'containers', 'app', 'config.json'), 'utf8')) as { process: { args: string[] } };
    expect(config.process.args).toEqual(['sh', '-c', 'exec sleep 3600', secret]);
    expect(up.stderr).toContain("exec sleep 3600' '$(PASSWORD)'");

    const outputs = {
      dry,
      dryJson,
      explain: up.stdout + up.stderr,
      export: await t.ok(['export', pod]),
      events: await t.ok(['events', pod, '--json']),
      ps: await t.ok(['ps', pod, '--json']),
      inspect: await t.ok(['inspect', pod, '--json']),
      logs: await t.ok(['logs', pod, 'app']),
    };
    for (const [what, text] of Object.entries(outputs)) {
      expect(text.includes(secret), `${what} holds the secret`).toBe(false);
      expect(text.includes(encoded), `${what} holds the secret (base64)`).toBe(false);
    }
    expect(outputs.export).toContain('secretKeyRef');

    // on the host: only the container's config.json (and runc's own state) hold it; the pod's record keeps the reference
    const holding = filesHolding(t.root, secret).map((p) => path.relative(t.root, p));
    expect(holding).toContain(`pods/${pod}/containers/app/config.json`);
    expect(holding).not.toContain(`pods/${pod}/pod.json`);
    expect(holding.filter((p) => !p.endsWith('/config.json') && !p.startsWith('runc/'))).toEqual([]);
    for (const f of holding) {
      const abs = path.join(t.root, f);
      expect(`${f} ${octal(fs.statSync(abs).mode & 0o077)}`).toBe(`${f} 0000`);
    }
    // nobody finds it anywhere barepod writes (the state root, the data dir with the store), plain or base64
    for (const needle of [secret, encoded]) {
      const r = asNobody(['grep', '-r', '-l', '-s', '-F', needle, t.root, DATA_DIR]);
      expect(r.stdout, `nobody read ${needle} in`).toBe('');
    }
    await t.ok(['down', pod]);
  });
});
