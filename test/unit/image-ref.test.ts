import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  isLocalName,
  localImageHint,
  shouldPull,
  candidateNames,
  imageDefaults,
  localImageName,
  mergeEnv,
  normalizeName,
  parseSource,
  resolveArgv,
  resolveUserSpec,
  shortName,
} from '../../src/plan/image-ref.js';
import { detectCompression, parseXattrs } from '../../src/runtime/layer-unpack.js';
import { readFileInRoot, resolveInRoot } from '../../src/runtime/rootfs-files.js';
import { classifyCopyError, copyArgv } from '../../src/runtime/skopeo.js';
import { thrown } from '../helpers/thrown.js';

describe('normalizeName', () => {
  it.each([
    ['nginx', 'docker.io/library/nginx:latest'],
    ['nginx:1.27', 'docker.io/library/nginx:1.27'],
    ['library/nginx:1.27', 'docker.io/library/nginx:1.27'],
    ['bitnami/redis', 'docker.io/bitnami/redis:latest'],
    ['docker.io/library/nginx:1.27', 'docker.io/library/nginx:1.27'],
    ['public.ecr.aws/eks-distro/kubernetes/pause:3.9', 'public.ecr.aws/eks-distro/kubernetes/pause:3.9'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['127.0.0.1:5000/test/img:v1', '127.0.0.1:5000/test/img:v1'],
    ['localhost/app:1', 'localhost/app:1'],
    [`app@sha256:${'a'.repeat(64)}`, `docker.io/library/app@sha256:${'a'.repeat(64)}`],
  ])('%s → %s', (ref, name) => {
    expect(normalizeName(ref)).toBe(name);
  });

  it.each([['Nginx'], ['nginx:'], ['nginx:bad tag'], ['a//b'], [`x@sha256:123`], ['']])('rejects %j', (ref) => {
    expect(thrown(() => normalizeName(ref)).code).toBe('invalid-value');
  });

  it('short names: Docker Hub first, then local; names with a registry only as they are', () => {
    expect(candidateNames('app:1')).toEqual(['docker.io/library/app:1', 'localhost/app:1']);
    expect(candidateNames('localhost:5000/app:1')).toEqual(['localhost:5000/app:1']);
    expect(localImageName('myimg:1')).toBe('localhost/myimg:1');
    expect(shortName('docker.io/library/nginx:1.27')).toBe('nginx:1.27');
  });
});

describe('parseSource', () => {
  it('registry references, with or without docker://', () => {
    expect(parseSource('nginx:1.27')).toEqual({
      transport: 'docker',
      skopeoRef: 'docker://docker.io/library/nginx:1.27',
      name: 'docker.io/library/nginx:1.27',
    });
    expect(parseSource('docker://127.0.0.1:5000/a/b:v1').name).toBe('127.0.0.1:5000/a/b:v1');
  });
  it('layouts and archives get a local name unless --name gives one', () => {
    expect(parseSource('oci:/srv/lay:v1')).toEqual({ transport: 'oci', skopeoRef: 'oci:/srv/lay:v1', name: 'localhost/lay:v1' });
    expect(parseSource('oci-archive:/x/App.tar').name).toBe('localhost/app:latest');
    expect(parseSource('docker-archive:/x/saved.tar', 'saved:2')).toMatchObject({ skopeoRef: 'docker-archive:/x/saved.tar', name: 'localhost/saved:2' });
    expect(parseSource('nginx:1.27', 'web:1').name).toBe('localhost/web:1');
  });
});

describe('image defaults (Kubernetes semantics)', () => {
  const img = { entrypoint: ['/docker-entrypoint.sh'], cmd: ['nginx', '-g', 'daemon off;'] };
  it.each<[string[] | undefined, string[] | undefined, string[]]>([
    [undefined, undefined, ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;']],
    [undefined, ['nginx', '-T'], ['/docker-entrypoint.sh', 'nginx', '-T']],
    [['/bin/sh'], undefined, ['/bin/sh']],
    [['/bin/sh'], ['-c', 'id'], ['/bin/sh', '-c', 'id']],
  ])('command %j args %j → %j', (command, args, argv) => {
    expect(resolveArgv(img, command, args)).toEqual(argv);
  });
  it("env: the user wins per name; the config's fields with defaults", () => {
    expect(mergeEnv(['PATH=/a', 'X=1'], ['X=2', 'Y=3'])).toEqual(['PATH=/a', 'X=2', 'Y=3']);
    expect(imageDefaults({ config: { Env: ['A=1'], WorkingDir: '/w', User: 'app', Cmd: ['x'] } })).toEqual({
      entrypoint: [],
      cmd: ['x'],
      env: ['A=1'],
      workdir: '/w',
      user: 'app',
    });
    expect(imageDefaults({})).toEqual({ entrypoint: [], cmd: [], env: [], workdir: '/', user: '' });
  });
  it('users by name or number through passwd and group', () => {
    const passwd = 'root:x:0:0::/root:/bin/sh\napp:x:1234:2345::/app:/bin/sh\n';
    const group = 'root:x:0:\nstaff:x:50:\napp:x:2345:\n';
    expect(resolveUserSpec('app', passwd, group)).toEqual({ uid: 1234, gid: 2345 });
    expect(resolveUserSpec('app:staff', passwd, group)).toEqual({ uid: 1234, gid: 50 });
    expect(resolveUserSpec('1234', passwd, group)).toEqual({ uid: 1234, gid: 2345 });
    expect(resolveUserSpec('99:7', passwd, group)).toEqual({ uid: 99, gid: 7 });
    expect(thrown(() => resolveUserSpec('ghost', passwd, group)).message).toMatch(/user "ghost" is not in the image's \/etc\/passwd/);
    expect(thrown(() => resolveUserSpec('app:ghosts', passwd, group)).message).toMatch(/group "ghosts"/);
  });
});

describe('rootfs files are read inside the rootfs', () => {
  it('follows symlinks within the root only (absolute targets restart at the root, .. stops there)', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-unit-root-'));
    try {
      fs.mkdirSync(path.join(root, 'real'));
      fs.writeFileSync(path.join(root, 'real', 'passwd'), 'inside\n');
      fs.symlinkSync('/real', path.join(root, 'etc'));
      fs.symlinkSync('../../../../etc/hostname', path.join(root, 'up'));
      fs.symlinkSync('/etc/passwd', path.join(root, 'real', 'host'));
      expect(readFileInRoot(root, '/etc/passwd')).toBe('inside\n');
      expect(resolveInRoot(root, '/up')).toBe(path.join(root, 'etc/hostname').replace('/etc/', '/real/'));
      expect(readFileInRoot(root, '/real/host')).toBe('inside\n'); // /etc/passwd of the root, i.e. real/passwd
      expect(readFileInRoot(root, '/missing')).toBeUndefined();
      fs.symlinkSync('loop', path.join(root, 'loop'));
      expect(readFileInRoot(root, '/loop')).toBeUndefined();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('skopeo', () => {
  it('argv: quiet unless showing progress, tls and creds passthrough for registries only', () => {
    expect(copyArgv('skopeo', 'docker://h:1/a:b', '/t', 'image', { tlsVerify: false, creds: 'u:p' })).toEqual([
      'skopeo',
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      '--src-creds',
      'u:p',
      'docker://h:1/a:b',
      'oci:/t:image',
    ]);
    expect(copyArgv('skopeo', 'oci:/x:y', '/t', 'image', { tlsVerify: false, arch: 'arm64', showProgress: true })).toEqual([
      'skopeo',
      '--override-arch',
      'arm64',
      '--override-os',
      'linux',
      'copy',
      'oci:/x:y',
      'oci:/t:image',
    ]);
  });
  it.each([
    [
      'time="x" level=fatal msg="initializing source docker://127.0.0.1:5/a:b: reading manifest b in 127.0.0.1:5/a: manifest unknown: manifest unknown"',
      'not-found',
    ],
    [
      'Error: initializing source docker://r/a:b: pinging container registry 127.0.0.1:1: Get "https://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused',
      'unreachable',
    ],
    ['reading manifest x in r/a: unauthorized: authentication required', 'unauthorized'],
    ['Get "https://127.0.0.1:5000/v2/": http: server gave HTTP response to HTTPS client', 'unreachable'],
    ['writing blob: write /x: no space left on device', 'disk-full'],
    ['reading blob sha256:ab: Digest did not match, expected sha256:ab, got sha256:cd', 'corrupt'],
    ['something else entirely', 'tool-failed'],
  ])('%s → %s', (stderr, code) => {
    expect(classifyCopyError(['skopeo', 'copy', 'docker://r/a:b', 'oci:/t:image'], stderr, 'r/a:b').code).toBe(code);
  });
});

describe('layer helpers', () => {
  it('detects compression from magic bytes', () => {
    expect(detectCompression(Buffer.from([0x1f, 0x8b, 8, 0]))).toBe('gzip');
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe('zstd');
    expect(detectCompression(Buffer.from('bin/'))).toBe('none');
  });
  it('reads SCHILY.xattr records from a pax header, reporting binary values', () => {
    const rec = (k: string, v: string) => {
      const body = ` ${k}=${v}\n`;
      let n = Buffer.byteLength(body) + 1;
      if (String(n).length + Buffer.byteLength(body) !== n) n += 1;
      return `${String(Buffer.byteLength(body) + String(n).length)}${body}`;
    };
    const warnings: string[] = [];
    const x = parseXattrs(rec('SCHILY.xattr.user.note', 'hello') + rec('path', 'a/b') + rec('SCHILY.xattr.security.capability', '\ufffd\u0001'), warnings);
    expect(x?.get('user.note')?.toString()).toBe('hello');
    expect(x?.has('security.capability')).toBe(false);
    expect(warnings).toEqual(['xattr security.capability: binary value not restored (node-tar passes pax headers as text)']);
  });
});

describe('local images: the pull rule of run and up', () => {
  it('a localhost/ name is local (never pulled); localhost:PORT is a registry', () => {
    expect(isLocalName('localhost/web')).toBe(true);
    expect(isLocalName('localhost/team/web:1')).toBe(true);
    expect(isLocalName('localhost:5000/web')).toBe(false);
    expect(isLocalName('web')).toBe(false);
    expect(isLocalName('docker.io/library/web')).toBe(false);
    expect(isLocalName('Not A Name')).toBe(false);
  });

  it('always pulls, missing pulls what the store lacks, never never; a local name never, whatever the policy', () => {
    const table: [string, 'always' | 'missing' | 'never', boolean, boolean][] = [
      ['web', 'always', true, true],
      ['web', 'missing', true, false],
      ['web', 'missing', false, true],
      ['web', 'never', false, false],
      ['localhost:5000/web', 'always', true, true],
      ['localhost/web', 'always', true, false],
      ['localhost/web', 'always', false, false],
      ['localhost/web:1', 'missing', false, false],
    ];
    for (const [ref, policy, have, pull] of table) expect(shouldPull(ref, policy, have), `${ref} ${policy} have=${have}`).toBe(pull);
  });

  it("the failed-pull hint says how to use the stored image, in a manifest's or run's words", () => {
    expect(localImageHint('localhost/web:latest', 'manifest')).toBe(
      'the image store has localhost/web:latest: to use it without a pull, set imagePullPolicy: IfNotPresent (or Never) on the container, or name it localhost/web:latest (a localhost/ name is never pulled); an image with :latest or no tag is pulled Always by default, as in Kubernetes',
    );
    expect(localImageHint('reg.example/web:latest', 'manifest')).not.toMatch(/localhost/);
    expect(localImageHint('reg.example/web:latest', 'cli')).toBe(
      'the image store has reg.example/web:latest: to use it without a pull, run with --pull missing (the default) or --pull never',
    );
  });
});
