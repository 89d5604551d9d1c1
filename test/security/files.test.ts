/**
 * Attack suite, files on the host: secrets at rest, temp files in dirs
 * others can write, unit injection. Judged by what a local user can read and
 * by canary files on the host, never by barepod's output alone.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { eventually, pidOf, readInContainer, skipReason, useTestEnv } from '../helpers/harness.js';
import { tarDir, writeOciLayout } from '../helpers/image-fixtures.js';
import { asNobody, filesHolding, NOBODY } from '../helpers/security.js';

const BUSYBOX = '/var/lib/barepod/builtin/busybox/rootfs';

const mode = (p: string) => fs.statSync(p).mode & 0o7777;
const octal = (m: number) => m.toString(8).padStart(4, '0');

/** A scratch dir of the running test (outside its state root), removed after it whatever happens. */
function scratchDir(m = 0o700): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-sec-'));
  onTestFinished(() => fs.rmSync(d, { recursive: true, force: true }));
  fs.chmodSync(d, m);
  return d;
}

/** The next pids the kernel hands out (from ns_last_pid), where a planted `<file>.<pid>.tmp` would catch barepod. */
function nextPids(n: number): number[] {
  const last = Number(fs.readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
  const max = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  const out: number[] = [];
  for (let i = 1, p = last; out.length < n; i++) {
    p = p + 1 >= max ? 300 : p + 1;
    out.push(p);
  }
  return out;
}

/** A canary file on the host: its content and mode must never change. */
function canary(): { file: string; check(): void } {
  const file = path.join(scratchDir(), 'canary');
  fs.writeFileSync(file, 'canary: untouched\n');
  fs.chmodSync(file, 0o600);
  return {
    file,
    check() {
      expect(fs.readFileSync(file, 'utf8')).toBe('canary: untouched\n');
      expect(octal(mode(file))).toBe('0600');
    },
  };
}

describe.skipIf(!!skipReason)('security: files on the host', () => {
  const t = useTestEnv();

  it('secrets at rest: an env value in the manifest, the image config, the logs and the stored unit manifest is never readable by nobody', async () => {
    const secret = `S3CRET${randomBytes(12).toString('hex')}`;
    const imageSecret = `IMGS3CRET${randomBytes(12).toString('hex')}`;
    // as a user's --root might be, or an older barepod left it: barepod must not rely on the state root being private already
    fs.chmodSync(t.root, 0o755);
    const src = scratchDir();
    writeOciLayout(path.join(src, 'layout'), 'v1', { layers: [tarDir(BUSYBOX)], config: { Env: [`IMAGE_TOKEN=${imageSecret}`, 'PATH=/bin:/usr/bin'] } });
    await t.ok(['pull', `oci:${path.join(src, 'layout')}:v1`, '--name', 'secret-app:v1']);
    const pod = t.pod('secret');
    const file = path.join(src, 'pod.yaml');
    fs.writeFileSync(
      file,
      `apiVersion: v1
kind: Pod
metadata:
  name: ${pod}
spec:
  volumes:
  - name: data
    emptyDir: {}
  containers:
  - name: app
    image: secret-app:v1
    command: [sh, -c, 'echo "pw=$PASSWORD token=$IMAGE_TOKEN"; echo "err=$PASSWORD" >&2; exec sleep 3600']
    env:
    - name: PASSWORD
      value: ${secret}
  - name: user
    image: secret-app:v1
    securityContext: {runAsUser: 1000, runAsGroup: 1000}
    command: [sh, -c, 'id -u > /data/uid && cat /etc/hosts > /dev/null && ls / > /dev/null && echo ok > /tmp/ok; exec sleep 3600']
    volumeMounts:
    - {name: data, mountPath: /data}
`,
    );
    fs.chmodSync(file, 0o600);
    await t.ok(['up', '-f', file]);
    // a non-root container still works under barepod's 0700 dirs: its overlay root, an emptyDir, /etc/hosts
    const user = await pidOf(t, pod, 'user');
    expect(await eventually(() => readInContainer(user, '/tmp/ok'), 15_000, 'the non-root container')).toBe('ok\n');
    expect(readInContainer(user, '/data/uid')).toBe('1000\n');
    const logs = await eventually(async () => {
      const r = await t.bp(['logs', pod, '-c', 'app']);
      const out = r.stdout + r.stderr;
      return out.includes('pw=') && out.includes('err=') && out;
    });
    expect(logs).toContain(`pw=${secret} token=${imageSecret}`);
    const managerRoot = scratchDir(0o755); // where a manifest dir lives: a dir nobody can traverse
    const manifests = path.join(managerRoot, 'manifests');
    await t.ok(['generate', 'systemd', pod, '--manifest-dir', manifests]);
    await t.ok(['stop', pod, 'app', '-t', '0']); // an event more (stopped)

    const dirs = [t.root, manifests, '/var/lib/barepod'];
    const events = path.join(t.root, 'events.jsonl');
    expect(fs.existsSync(events)).toBe(true);
    // barepod really wrote the secrets where we look (as root)
    const holding = [...filesHolding(t.root, secret), ...filesHolding(t.root, imageSecret), ...filesHolding(manifests, secret)];
    const rel = holding.map((p) => path.relative(t.root, p));
    expect(rel).toEqual(expect.arrayContaining([`pods/${pod}/pod.json`, `pods/${pod}/containers/app/config.json`, `pods/${pod}/containers/app/ctr.log`]));
    expect(rel.some((p) => p.startsWith('images/blobs/'))).toBe(true);
    expect(holding).toContain(path.join(manifests, `${pod}.yaml`));

    // what nobody finds: nothing
    for (const needle of [secret, imageSecret]) {
      const r = asNobody(['grep', '-r', '-l', '-s', '-F', needle, ...dirs]);
      expect(r.stdout, `nobody read ${needle} in`).toBe('');
    }
    // and no file holding one, nor a dir on its way, has a group/other bit
    for (const f of [...holding, events]) {
      expect(`${f} ${octal(mode(f) & 0o077)}`).toBe(`${f} 0000`);
      for (let d = path.dirname(f); d.startsWith(t.root) || d.startsWith(manifests); d = path.dirname(d)) {
        expect(`${d} ${octal(mode(d))}`).toMatch(/ 0700$/);
        if (d === t.root || d === manifests) break;
      }
    }
    await t.ok(['down', pod]);
  });

  it('temp-file symlinks planted in a world-writable manifest dir: the dir is refused, the canary is untouched; in a private dir nothing is followed', async () => {
    const c = canary();
    const pod = t.pod('tmp');
    await t.ok(['pod', 'create', pod]);
    const shared = scratchDir(0o1777); // like /tmp: any local user may create files here
    const plant = (dir: string, owner: number) => {
      for (const name of [`${pod}.yaml`, ...nextPids(2000).map((pid) => `${pod}.yaml.${pid}.tmp`)]) {
        fs.symlinkSync(c.file, path.join(dir, name));
        fs.lchownSync(path.join(dir, name), owner, owner);
      }
    };
    plant(shared, NOBODY);
    const r = await t.bp(['generate', 'systemd', pod, '--manifest-dir', shared]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`the manifest dir ${shared} is writable by every local user`);
    expect(r.stderr).toContain(`hint: chmod 0700 ${shared}`);
    expect(r.stdout).toBe('');
    c.check();
    // nothing written: only the planted links are there
    expect(fs.readdirSync(shared).every((n) => fs.lstatSync(path.join(shared, n)).isSymbolicLink())).toBe(true);

    // a group-writable dir too
    const group = scratchDir(0o770);
    expect((await t.bp(['generate', 'systemd', pod, '--manifest-dir', group])).stderr).toContain('is writable by its group');
    expect(fs.readdirSync(group)).toEqual([]);

    // a dir the fix asks for (root's, 0700) with links left at the old names: never followed, the copy is a fresh 0600 file
    const own = scratchDir(0o700);
    plant(own, 0);
    await t.ok(['generate', 'systemd', pod, '--manifest-dir', own]);
    c.check();
    const stored = path.join(own, `${pod}.yaml`);
    expect(fs.lstatSync(stored).isFile()).toBe(true);
    expect(octal(mode(stored))).toBe('0600');
    expect(fs.readFileSync(stored, 'utf8')).toContain(`name: ${pod}`);
    await t.ok(['pod', 'rm', pod]);
  });

  it('a state root or image store others can write to (or owned by another user) is refused with the fix in the hint, and nothing is written', async () => {
    const before = fs.readdirSync(t.root).sort();
    try {
      for (const [m, says] of [
        [0o777, 'writable by every local user'],
        [0o770, 'writable by its group'],
        [0o1777, 'writable by every local user'],
      ] as const) {
        fs.chmodSync(t.root, m);
        const r = await t.bp(['pod', 'create', t.pod('wr')]);
        expect(r.code).toBe(5);
        expect(r.stderr).toContain(`the state root ${t.root} is ${says}`);
        expect(r.stderr).toContain(`hint: chmod 0700 ${t.root}`);
        expect(fs.readdirSync(t.root).sort()).toEqual(before);
      }
      fs.chmodSync(t.root, 0o700);
      fs.chownSync(t.root, NOBODY, NOBODY);
      const r = await t.bp(['ps']);
      expect(r.code).toBe(5);
      expect(r.stderr).toContain(`is owned by uid ${NOBODY}, not root`);
      expect(r.stderr).toContain(`hint: chown root:root ${t.root}`);
      expect(fs.readdirSync(t.root).sort()).toEqual(before);
    } finally {
      fs.chownSync(t.root, 0, 0);
      fs.chmodSync(t.root, 0o700);
    }
    const store = scratchDir(0o777);
    const r = await t.bp(['images'], { BAREPOD_IMAGES: store });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`the image store ${store} is writable by every local user`);
    expect(fs.readdirSync(store)).toEqual([]);
  });

  it('unit injection: a manifest dir with a newline is refused before anything is written; % and $ in it are escaped, not expanded', async () => {
    const c = canary();
    const pod = t.pod('unit');
    await t.ok(['pod', 'create', pod]);
    const base = scratchDir();
    const evil = path.join(base, `m\nExecStartPost=/bin/sh -c "echo pwned > ${c.file}"\n`);
    const r = await t.bp(['generate', 'systemd', pod, '--manifest-dir', evil]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the manifest path .* holds a control character \(U\+000A\)/);
    expect(r.stdout).toBe('');
    expect(fs.readdirSync(base)).toEqual([]);
    c.check();

    const odd = path.join(base, '%h $HOME');
    const unit = await t.ok(['generate', 'systemd', pod, '--manifest-dir', odd]);
    expect(
      unit
        .split('\n')
        .filter((l) => /^Exec/.test(l))
        .map((l) => l.split('=')[0]),
    ).toEqual(['ExecStartPre', 'ExecStart', 'ExecStop']);
    expect(unit).toContain(`up -f "${path.join(base, '%%h $$HOME')}/${pod}.yaml"`);
    expect(fs.existsSync(path.join(odd, `${pod}.yaml`))).toBe(true);
    const unitFile = path.join(base, `barepod-${pod}.service`);
    fs.writeFileSync(unitFile, unit);
    const verify = spawnSync('systemd-analyze', ['verify', unitFile], { encoding: 'utf8' });
    if (!verify.error) expect(verify.stderr).toBe('');
    await t.ok(['pod', 'rm', pod]);
  });
});
