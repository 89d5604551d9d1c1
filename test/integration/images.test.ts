/**
 * Images end to end, as root, against real tools: a real local registry
 * (Debian's docker-registry on 127.0.0.1), skopeo, overlayfs, runc. Every
 * image is built by the test itself from the built-in busybox rootfs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { execaSync } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pidOf, readInContainer, skipReason, eventually, useTestEnv } from '../helpers/harness.js';
import {
  digestOf,
  freePort,
  startAuthWall,
  startRegistry,
  tarBuffer,
  tarDir,
  writeOciIndex,
  writeOciLayout,
  type Registry,
  type TarEntry,
} from '../helpers/image-fixtures.js';

const BUSYBOX = '/var/lib/barepod/builtin/busybox/rootfs';
const status = (pid: number, field: string) => new RegExp(`^${field}:\\s*(\\S+)`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
const environ = (pid: number) => fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);

/** The three-layer test image: busybox; then data and opq dirs; then a deleted file, an opaque dir, a user of its own. */
function threeLayers(): Buffer[] {
  const passwd = fs.readFileSync(path.join(BUSYBOX, 'etc/passwd'), 'utf8') + 'app:x:1234:2345:app:/app:/bin/sh\n';
  const group = fs.readFileSync(path.join(BUSYBOX, 'etc/group'), 'utf8') + 'app:x:2345:\n';
  const l2: TarEntry[] = [
    { path: 'data/' },
    { path: 'data/old.txt', data: 'old' },
    { path: 'data/keep.txt', data: 'keep' },
    { path: 'opq/' },
    { path: 'opq/a', data: 'a' },
    { path: 'opq/b', data: 'b' },
  ];
  const l3: TarEntry[] = [
    { path: 'data/' },
    { path: 'data/.wh.old.txt' },
    { path: 'opq/' },
    { path: 'opq/.wh..wh..opq' },
    { path: 'opq/c', data: 'c' },
    { path: 'etc/' },
    { path: 'etc/passwd', data: passwd },
    { path: 'etc/group', data: group },
    { path: 'app/', mode: 0o755, uid: 1234, gid: 2345 },
  ];
  return [tarDir(BUSYBOX), tarBuffer(l2), tarBuffer(l3)];
}

const IMAGE_CONFIG = {
  Entrypoint: ['/bin/sh', '-c'],
  Cmd: ['echo "$GREETING" > /tmp/out; pwd > /tmp/pwd; ls /opq > /tmp/opq; ls /data > /tmp/data; exec sleep 3600'],
  Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'GREETING=hello from the image'],
  WorkingDir: '/app',
  User: 'app',
};

/** Runs skopeo; a failure throws with its argv and stderr (execa's error). */
function skopeo(args: string[]): void {
  execaSync('skopeo', args, { stdin: 'ignore' });
}

describe.skipIf(skipReason)('images', () => {
  const t = useTestEnv();
  let dir = '';
  let registry: Registry | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-it-img-'));
  });
  afterEach(async () => {
    await registry?.stop();
    registry = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('pulls a 3-layer image from a real local registry and runs it: deletion, opaque dir, entrypoint, env, workdir, user', async () => {
    registry = await startRegistry(path.join(dir, 'registry'));
    writeOciLayout(path.join(dir, 'layout'), 'v1', { layers: threeLayers(), config: IMAGE_CONFIG });
    const ref = `${registry.host}/test/img:v1`;
    skopeo(['copy', '--quiet', '--dest-tls-verify=false', `oci:${path.join(dir, 'layout')}:v1`, `docker://${ref}`]);

    const pulled = JSON.parse(await t.ok(['pull', ref, '--tls-verify=false', '--json']));
    expect(pulled.name).toBe(ref);
    expect(pulled.layers).toHaveLength(3);
    const images = JSON.parse(await t.ok(['images', '--json'])) as { name: string; builtin: boolean; layers: unknown[] }[];
    expect(images.map((i) => [i.name, i.builtin])).toEqual([
      ['busybox', true],
      [ref, false],
    ]);

    const pod = t.pod('reg');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--image', ref, '--pull', 'never']);
    const app = await pidOf(t, pod, 'app');
    expect(await eventually(() => readInContainer(app, '/tmp/data'))).toBe('keep.txt\n'); // old.txt deleted by the top layer
    expect(readInContainer(app, '/tmp/opq')).toBe('c\n'); // a and b hidden by the opaque dir
    expect(readInContainer(app, '/data/old.txt')).toBeUndefined();
    expect(readInContainer(app, '/tmp/out')).toBe('hello from the image\n');
    expect(readInContainer(app, '/tmp/pwd')).toBe('/app\n');
    expect([status(app, 'Uid'), status(app, 'Gid')]).toEqual(['1234', '2345']);
    expect(environ(app)).toEqual(expect.arrayContaining(['GREETING=hello from the image', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', `HOSTNAME=${pod}`]));

    // Kubernetes semantics: --entrypoint replaces the entrypoint (and drops cmd), -- gives its args, -e wins over the image's env
    await t.ok([
      'run',
      '--pod',
      pod,
      '--name',
      'ep',
      '--image',
      ref,
      '-e',
      'GREETING=mine',
      '-u',
      '0',
      '--entrypoint',
      '/bin/sh',
      '--',
      '-c',
      'echo "$GREETING $(id -u) $(pwd)" > /tmp/out; exec sleep 3600',
    ]);
    const ep = await pidOf(t, pod, 'ep');
    expect(await eventually(() => readInContainer(ep, '/tmp/out'))).toBe('mine 0 /app\n');

    // refused while a container uses it
    const busy = await t.bp(['rmi', ref]);
    expect(busy.code).toBe(4);
    expect(busy.stderr).toMatch(new RegExp(`used by ${pod}/app, ${pod}/ep`));
    await t.ok(['pod', 'rm', '-f', pod]);
    await t.ok(['rmi', ref]);
    expect(fs.readdirSync(path.join(t.root, 'images', 'layers'))).toEqual([]);
    expect(fs.readdirSync(path.join(t.root, 'images', 'blobs', 'sha256'))).toEqual([]);

    // run pulls a missing image itself (unless --pull never)
    const pod2 = t.pod('reg2');
    await t.ok(['pod', 'create', pod2]);
    const never = await t.bp(['run', '--pod', pod2, '--name', 'x', '--image', ref, '--pull', 'never']);
    expect(never.code).toBe(3);
    expect(never.stderr).toMatch(/is not in the image store[\s\S]*hint: pull it first/);
    await t.ok(['run', '--pod', pod2, '--name', 'x', '--image', ref, '--tls-verify=false']);
    expect(await eventually(() => readInContainer(pidOfSyncLess(t.root, pod2), '/tmp/out'))).toBe('hello from the image\n');
    await t.ok(['pod', 'rm', '-f', pod2]);
  });

  it("picks the host's architecture from a manifest list, or the one --arch names", async () => {
    registry = await startRegistry(path.join(dir, 'registry'));
    const layer = (arch: string) => tarBuffer([{ path: 'arch', data: arch }]);
    writeOciIndex(path.join(dir, 'multi'), 'v1', [
      { architecture: 'arm64', layers: [layer('arm64')] },
      { architecture: 'amd64', layers: [layer('amd64')] },
    ]);
    const ref = `${registry.host}/test/multi:v1`;
    skopeo(['copy', '--quiet', '--all', '--dest-tls-verify=false', `oci:${path.join(dir, 'multi')}:v1`, `docker://${ref}`]);
    const host = JSON.parse(await t.ok(['pull', ref, '--tls-verify=false', '--json']));
    expect(host.layers.map((l: { diffId: string }) => l.diffId)).toEqual([digestOf(layer(process.arch === 'arm64' ? 'arm64' : 'amd64'))]);
    const other = process.arch === 'arm64' ? 'amd64' : 'arm64';
    const picked = JSON.parse(await t.ok(['pull', ref, '--tls-verify=false', '--arch', other, '--name', `multi:${other}`, '--json']));
    expect(picked.layers.map((l: { diffId: string }) => l.diffId)).toEqual([digestOf(layer(other))]);
  });

  it('up -f runs a stored image with its entrypoint, cmd, env and workingDir; a missing one is named, nothing made', async () => {
    const layout = path.join(dir, 'app');
    writeOciLayout(layout, 'v1', {
      layers: [tarDir(BUSYBOX)],
      config: {
        Entrypoint: ['/bin/sh', '-c'],
        Cmd: ['echo "$GREETING $MINE" > /tmp/out; pwd > /tmp/pwd; exec sleep 3600'],
        Env: ['GREETING=from-image', 'MINE=image'],
        WorkingDir: '/tmp',
      },
    });
    await t.ok(['pull', `oci:${layout}:v1`, '--name', 'app:v1']);
    const pod = t.pod('up');
    const file = path.join(dir, 'pod.yaml');
    const yaml = (image: string) =>
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${pod}\nspec:\n  containers:\n  - name: app\n    image: ${image}\n    env:\n    - name: MINE\n      value: manifest\n`;
    fs.writeFileSync(file, yaml('app:v1'));
    await t.ok(['up', '-f', file]);
    const app = await pidOf(t, pod, 'app');
    expect(await eventually(() => readInContainer(app, '/tmp/pwd'))).toBe('/tmp\n');
    expect(readInContainer(app, '/tmp/out')).toBe('from-image manifest\n');
    await t.ok(['down', '-f', file]);
    // imagePullPolicy Never: nothing is pulled (the default, IfNotPresent, would pull nope:1 from Docker Hub)
    fs.writeFileSync(file, `${yaml('nope:1')}    imagePullPolicy: Never\n`);
    const missing = await t.bp(['up', '-f', file]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(new RegExp(`pod "${pod}", containers "app": image nope:1 is not in the image store`));
    expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(false);
  });

  it('up -f pins the image digest: after the name is pulled anew (and removed), a restarted container still runs the original image', async () => {
    const image = (which: string) => {
      const layout = path.join(dir, `pin-${which}`);
      writeOciLayout(layout, 'v1', {
        layers: [tarDir(BUSYBOX), tarBuffer([{ path: 'which', data: which }])],
        config: { Cmd: ['sh', '-c', 'exec sleep 3600'] },
      });
      return `oci:${layout}:v1`;
    };
    await t.ok(['pull', image('first'), '--name', 'pin:1']);
    const pod = t.pod('pin');
    const file = path.join(dir, 'pin.yaml');
    fs.writeFileSync(
      file,
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${pod}\nspec:\n  containers:\n  - name: app\n    image: pin:1\n    imagePullPolicy: Never\n`,
    );
    await t.ok(['up', '-f', file]);
    const first = await pidOf(t, pod, 'app');
    expect(await eventually(() => readInContainer(first, '/which'))).toBe('first');
    const restarted = async (before: number) => {
      process.kill(before, 'SIGKILL');
      return eventually(
        async () => {
          const pid = await pidOf(t, pod, 'app').catch(() => 0);
          return pid !== before && pid !== 0 && readInContainer(pid, '/which') !== undefined ? pid : 0;
        },
        40_000,
        'the restarted container',
      );
    };
    // the name now means another image: the container made from the first keeps it
    await t.ok(['pull', image('second'), '--name', 'pin:1']);
    const second = await restarted(first);
    expect(readInContainer(second, '/which')).toBe('first');
    // the name (now the second image, which no container uses) can be removed; the first image's layers stay for the pod
    await t.ok(['rmi', 'pin:1']);
    const third = await restarted(second);
    expect(readInContainer(third, '/which')).toBe('first');
    await t.ok(['down', '-f', file]);
  });

  it("up -f pulls a missing image from a local registry (IfNotPresent), runs its cmd as the image's USER by name; runAsUser wins", async () => {
    registry = await startRegistry(path.join(dir, 'registry'));
    writeOciLayout(path.join(dir, 'user'), 'v1', {
      layers: [tarDir(BUSYBOX)],
      config: { User: 'nobody', Cmd: ['sh', '-c', 'id -u > /tmp/uid; exec sleep 3600'] },
    });
    const ref = `${registry.host}/test/user:v1`;
    skopeo(['copy', '--quiet', '--dest-tls-verify=false', `oci:${path.join(dir, 'user')}:v1`, `docker://${ref}`]);
    const pod = t.pod('upull');
    const file = path.join(dir, 'pull.yaml');
    fs.writeFileSync(
      file,
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${pod}\nspec:\n  containers:\n  - name: app\n    image: ${ref}\n  - name: root\n    image: ${ref}\n    securityContext: {runAsUser: 0}\n`,
    );
    await t.ok(['up', '-f', file, '--tls-verify=false']);
    expect(await eventually(() => readInContainer(pidOfSyncLess(t.root, pod), '/tmp/uid'))).toBe('65534\n');
    const root = await pidOf(t, pod, 'root');
    expect(await eventually(() => readInContainer(root, '/tmp/uid'))).toBe('0\n');
    expect(JSON.parse(await t.ok(['images', '--json'])).map((i: { name: string }) => i.name)).toContain(ref);
    await t.ok(['down', pod]);
  });

  it('registry errors: unknown image, plain HTTP without --tls-verify=false, unreachable, credentials refused', async () => {
    registry = await startRegistry(path.join(dir, 'registry'));
    const unknown = await t.bp(['pull', `${registry.host}/test/none:v1`, '--tls-verify=false']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/image .*test\/none:v1 not found/);
    const https = await t.bp(['pull', `${registry.host}/test/none:v1`]);
    expect(https.code).toBe(1);
    expect(https.stderr).toMatch(/plain HTTP[\s\S]*--tls-verify=false/);
    const port = await freePort();
    const down = await t.bp(['pull', `127.0.0.1:${port}/test/img:v1`, '--tls-verify=false']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/is unreachable: .*connection refused/);
    const wall = await startAuthWall();
    try {
      const auth = await t.bp(['pull', `${wall.host}/private/img:v1`, '--tls-verify=false']);
      expect(auth.code).toBe(1);
      expect(auth.stderr).toMatch(/refused the credentials[\s\S]*skopeo login/);
    } finally {
      await wall.stop();
    }
    expect(fs.existsSync(path.join(t.root, 'images', 'index.json'))).toBe(false);
  });

  it('oci:, oci-archive: and docker-archive: sources; a corrupt blob is refused and nothing is stored', async () => {
    const layout = path.join(dir, 'layout');
    writeOciLayout(layout, 'v1', { layers: [tarDir(BUSYBOX), tarBuffer([{ path: 'hello', data: 'hi' }])], config: { Cmd: ['sh'] } });
    skopeo(['copy', '--quiet', `oci:${layout}:v1`, `oci-archive:${path.join(dir, 'img.tar')}:v1`]);
    skopeo(['copy', '--quiet', `oci:${layout}:v1`, `docker-archive:${path.join(dir, 'saved.tar')}:saved:v1`]);
    expect(JSON.parse(await t.ok(['pull', `oci:${layout}:v1`, '--json'])).name).toBe('localhost/layout:v1');
    expect(JSON.parse(await t.ok(['pull', `oci-archive:${path.join(dir, 'img.tar')}`, '--json'])).name).toBe('localhost/img:latest');
    expect(JSON.parse(await t.ok(['pull', `docker-archive:${path.join(dir, 'saved.tar')}`, '--name', 'saved:2', '--json'])).name).toBe('localhost/saved:2');
    // the same busybox layer is unpacked once, whatever the source
    const layers = fs.readdirSync(path.join(t.root, 'images', 'layers'));
    expect(layers).toHaveLength(2);

    const bad = path.join(dir, 'bad');
    writeOciLayout(bad, 'v1', { layers: [tarBuffer([{ path: 'x', data: 'x'.repeat(4096) }])] });
    const manifest = JSON.parse(
      fs.readFileSync(path.join(bad, 'blobs/sha256', JSON.parse(fs.readFileSync(path.join(bad, 'index.json'), 'utf8')).manifests[0].digest.slice(7)), 'utf8'),
    );
    const blob = path.join(bad, 'blobs/sha256', manifest.layers[0].digest.slice(7));
    fs.writeFileSync(blob, zlib.gzipSync(tarBuffer([{ path: 'x', data: 'y'.repeat(4096) }])));
    const r = await t.bp(['pull', `oci:${bad}:v1`, '--name', 'bad:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/corrupt|did not match/i);
    // intact blobs, but a config whose diffID does not match what the layer unpacks to
    const lie = path.join(dir, 'lie');
    writeOciLayout(lie, 'v1', { layers: [tarBuffer([{ path: 'y', data: 'y' }])], diffIds: [`sha256:${'0'.repeat(64)}`] });
    const lied = await t.bp(['pull', `oci:${lie}:v1`, '--name', 'lie:1']);
    expect(lied.code).toBe(1);
    expect(lied.stderr).toMatch(/unpacks to sha256:[0-9a-f]{64}, but its config says sha256:0{64}/);
    expect((JSON.parse(await t.ok(['images', '--json'])) as { name: string }[]).map((i) => i.name)).not.toContain('localhost/bad:1');
    expect(fs.readdirSync(path.join(t.root, 'images', 'layers'))).toEqual(layers);
  });

  it("two containers of one image share its unpacked layers (nothing copied) and do not see each other's writes; rmi keeps shared layers", async () => {
    const tgz = path.join(dir, 'rootfs.tgz');
    fs.writeFileSync(tgz, zlib.gzipSync(tarDir(BUSYBOX)));
    await t.ok(['import', tgz, 'bb:1']);
    const other = path.join(dir, 'other');
    writeOciLayout(other, 'v1', { layers: [tarDir(BUSYBOX), tarBuffer([{ path: 'extra', data: 'e' }])], config: { Cmd: ['sh'] } });
    await t.ok(['pull', `oci:${other}:v1`, '--name', 'other:1']);
    const store = path.join(t.root, 'images');
    expect(fs.readdirSync(path.join(store, 'layers'))).toHaveLength(2); // the busybox layer once, for both images

    const pod = t.pod('share');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'a', '--image', 'bb:1', '--', 'sh', '-c', 'echo a > /etc/who; exec sleep 3600']);
    await t.ok(['run', '--pod', pod, '--name', 'b', '--image', 'bb:1', '--', 'sleep', '3600']);
    const a = await pidOf(t, pod, 'a');
    const b = await pidOf(t, pod, 'b');
    expect(await eventually(() => readInContainer(a, '/etc/who'))).toBe('a\n');
    expect(readInContainer(b, '/etc/who')).toBeUndefined();
    const lower = (bundle: string) =>
      /lowerdir=([^,]+)/.exec(
        fs
          .readFileSync('/proc/self/mountinfo', 'utf8')
          .split('\n')
          .find((l) => l.includes(`${bundle}/rootfs `)) ?? '',
      )?.[1];
    const la = lower(path.join(t.root, 'pods', pod, 'containers', 'a'));
    expect(la).toMatch(new RegExp(`^${store}/layers/[0-9a-f]{64}$`));
    expect(lower(path.join(t.root, 'pods', pod, 'containers', 'b'))).toBe(la);
    // the very inode of the store's file: no copy
    expect(fs.statSync(`/proc/${b}/root/bin/busybox`).ino).toBe(fs.statSync(path.join(la!, 'bin/busybox')).ino);
    expect(fs.existsSync(path.join(la!, 'etc/who'))).toBe(false);

    await t.ok(['pod', 'rm', '-f', pod]);
    await t.ok(['rmi', 'other:1']);
    expect(fs.readdirSync(path.join(store, 'layers'))).toEqual([path.basename(la!)]);
    expect(JSON.parse(await t.ok(['images', '--json'])).map((i: { name: string }) => i.name)).toEqual(['busybox', 'localhost/bb:1']);
    await t.ok(['rmi', 'bb:1']); // a short name finds the local image
    expect((await t.bp(['rmi', 'busybox'])).code).toBe(2);
    expect((await t.bp(['rmi', 'nope:1'])).code).toBe(3);
  });
});

/** The single container's pid of a pod, read from its record. */
function pidOfSyncLess(root: string, pod: string): number {
  const rec = JSON.parse(fs.readFileSync(path.join(root, 'pods', pod, 'pod.json'), 'utf8')) as { containers: { process: { pid: number } }[] };
  return rec.containers[0]?.process.pid ?? -1;
}
