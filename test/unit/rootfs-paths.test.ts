/**
 * The rootfs path rules (src/plan/rootfs-paths.ts) on a fake tree: which
 * paths the runtime writes through, and when a symlink in them is refused.
 * The same rules on a real rootfs, judged on the host: test/security/rootfs.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { checkedPaths, checkPath, checkRootfsPaths, climbsOut, procWorkdir, runtimeOwned, type Lookup } from '../../src/plan/rootfs-paths.js';
import { defaultSpec } from '../../src/oci/default-spec.js';

/** A fake rootfs: directories end with "/", links are "name -> target", anything else is a file. */
function tree(entries: string[]): Lookup {
  const map = new Map<string, { kind: 'link'; target: string } | { kind: 'dir' | 'other' }>();
  for (const e of entries) {
    const [name, target] = e.split(' -> ');
    if (target !== undefined) map.set(name!, { kind: 'link', target });
    else if (name!.endsWith('/')) map.set(name!.slice(0, -1), { kind: 'dir' });
    else map.set(name!, { kind: 'other' });
  }
  return (parts) => map.get(parts.join('/')) ?? { kind: 'missing' };
}

const BASE = ['dev/', 'proc/', 'sys/', 'etc/', 'etc/hosts', 'tmp/', 'run/', 'var/'];
const spec = (cwd = '/', extra: string[] = []) => {
  const s = defaultSpec();
  s.process!.cwd = cwd;
  s.mounts!.push(...['/etc/hosts', '/etc/resolv.conf', '/etc/hostname', ...extra].map((destination) => ({ destination, type: 'bind', source: '/x' })));
  return s;
};

describe('rootfs paths', () => {
  it('checks every mount destination (strictly under /dev, /proc, /sys) and the working directory', () => {
    const paths = checkedPaths(spec('/app', ['/data']));
    expect(paths.filter((p) => p.strict).map((p) => p.path)).toEqual(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
    expect(paths.filter((p) => !p.strict).map((p) => p.path)).toEqual(['/etc/hosts', '/etc/resolv.conf', '/etc/hostname', '/data', '/app']);
    expect(paths.at(-1)).toMatchObject({ cwd: true, role: 'the working directory' });
    expect([runtimeOwned('/dev'), runtimeOwned('/dev/x/y'), runtimeOwned('/./proc'), runtimeOwned('/devices'), runtimeOwned('/')]).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it('a plain rootfs, and one with links that stay inside (absolute or relative), passes', () => {
    expect(checkRootfsPaths(spec('/srv/app', ['/var/run/secrets']), tree(BASE))).toEqual([]);
    const links = tree([
      ...BASE.filter((e) => e !== 'etc/hosts'),
      'etc/hosts -> /run/hosts',
      'etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf',
      'var/run -> /run',
      'srv -> var',
      'app -> ./srv/../tmp',
    ]);
    expect(checkRootfsPaths(spec('/app', ['/var/run/secrets', '/srv/data']), links)).toEqual([]);
    // nothing there yet: runc makes it, inside the rootfs
    expect(checkRootfsPaths(spec('/new/dir', ['/opt/a/b']), tree([]))).toEqual([]);
  });

  it.each([
    ['dev -> /tmp/canary', '/dev'],
    ['dev -> ../../../../tmp/canary', '/dev'],
    ['dev -> tmp', '/dev'],
    ['proc -> /host/proc', '/proc'],
    ['sys -> /', '/sys'],
  ])('the runtime mount point %s is refused, whatever the link points at', (link, at) => {
    const [r] = checkRootfsPaths(spec(), tree([...BASE.filter((e) => `/${e}` !== `${at}/`), link]));
    expect(r).toMatchObject({ at, path: at });
    expect(r!.why).toMatch(/^is a symbolic link \(to .+\): a mount point of the runtime's own must be a plain directory/);
  });

  it.each([
    ['dev/pts', '/dev/pts'],
    ['dev/shm', '/dev/shm'],
    ['dev/mqueue', '/dev/mqueue'],
    ['sys/fs', '/sys/fs/cgroup'],
  ])('a link at %s (below a runtime mount point) is refused too', (name, path) => {
    const [r] = checkRootfsPaths(spec(), tree([...BASE, 'sys/fs/', `${name} -> /tmp/canary`]));
    expect(r).toMatchObject({ at: `/${name}`, path });
  });

  it.each([
    ['etc/hosts -> ../../../../tmp/canary/hosts', '/etc/hosts', '/etc/hosts'],
    ['etc -> ../..', '/etc/hosts', '/etc'],
    ['data -> ../../tmp', '/data', '/data'],
    ['data -> /a/../../../x', '/data', '/data'],
  ])('a link that climbs above the root (%s) is refused for %s', (link, path, at) => {
    const entries = [
      ...BASE.filter((e) => !(link.startsWith('etc ') && e.startsWith('etc'))).filter((e) => !(link.startsWith('etc/hosts') && e === 'etc/hosts')),
      link,
    ];
    const r = checkRootfsPaths(spec('/', ['/data']), tree(entries)).find((x) => x.path === path);
    expect(r).toMatchObject({ at });
    expect(r!.why).toMatch(/^is a symbolic link \(to .+\) that climbs above the root of the container with "\.\."/);
  });

  it('a path that climbs by itself, and a loop of links, are refused', () => {
    expect(checkPath({ path: '/../../tmp', role: 'x', strict: false }, tree(BASE))).toMatchObject({
      at: '/../../tmp',
      why: expect.stringMatching(/climbs above/),
    });
    expect(checkPath({ path: '/new/../../x', role: 'x', strict: false }, tree(BASE))).toMatchObject({ why: expect.stringMatching(/climbs above/) });
    expect(checkPath({ path: '/a', role: 'x', strict: false }, tree(['a -> b', 'b -> a']))).toMatchObject({
      why: 'leads through too many levels of symbolic links',
    });
  });

  it('a file where a directory is needed is refused (not a crash later in runc); a file at a mount point below /dev is not (the tmpfs hides it)', () => {
    const noDev = BASE.filter((e) => e !== 'dev/');
    expect(checkRootfsPaths(spec(), tree([...noDev, 'dev']))[0]).toMatchObject({ at: '/dev', why: expect.stringContaining('is not a directory') });
    expect(checkRootfsPaths(spec(), tree([...BASE.filter((e) => e !== 'proc/'), 'proc']))[0]).toMatchObject({
      at: '/proc',
      why: expect.stringContaining('is not a directory'),
    });
    expect(checkRootfsPaths(spec(), tree([...BASE.filter((e) => !e.startsWith('etc')), 'etc']))[0]).toMatchObject({
      path: '/etc/hosts',
      at: '/etc',
      why: 'is not a directory',
    });
    expect(checkRootfsPaths(spec('/app/x'), tree([...BASE, 'app']))[0]).toMatchObject({ at: '/app', why: 'is not a directory' });
    // through a link: the file it names is where the directory is needed
    expect(checkRootfsPaths(spec('/w/x'), tree([...BASE, 'w -> /etc/hosts']))[0]).toMatchObject({ at: '/etc/hosts', why: 'is not a directory' });
    expect(checkRootfsPaths(spec(), tree([...BASE, 'dev/shm', 'dev/pts']))).toEqual([]);
    expect(checkRootfsPaths(spec('/etc/hosts'), tree(BASE))).toEqual([]);
  });

  it("a link (into /dev, /proc, /sys) carries no volume or pod file onto a mount point of the runtime's own", () => {
    expect(checkRootfsPaths(spec('/', ['/data']), tree([...BASE, 'data -> /dev']))[0]).toMatchObject({
      path: '/data',
      at: '/data',
      why: expect.stringContaining('leads into /dev'),
    });
    expect(checkRootfsPaths(spec('/', ['/data']), tree([...BASE, 'data -> sys/fs']))[0]).toMatchObject({
      at: '/data',
      why: expect.stringContaining('leads into /sys/fs'),
    });
    expect(checkRootfsPaths(spec(), tree([...BASE.filter((e) => e !== 'etc/hosts'), 'etc/hosts -> /dev/ptmx']))[0]).toMatchObject({
      path: '/etc/hosts',
      why: expect.stringContaining('leads into /dev/ptmx'),
    });
    // a working directory may sit in /dev (only /dev/fd & co. are refused), and /devices is not /dev
    expect(checkRootfsPaths(spec('/w', ['/data']), tree([...BASE, 'w -> /dev', 'data -> /devices']))).toEqual([]);
  });

  it('a mount below a volume is never carried through a link inside that volume (a container may have made it); the working directory may be', () => {
    const vol = new Map<string, { kind: 'link'; target: string } | { kind: 'dir' }>([
      ['config', { kind: 'link', target: '/dev' }],
      ['real', { kind: 'dir' }],
      ['cur', { kind: 'link', target: 'real' }],
    ]);
    const volumes = {
      isVolume: (m: { destination: string }) => m.destination === '/a',
      through: (mounted: readonly { at: string[]; source: string }[]) => {
        const image = tree([...BASE, 'srv/', 'a -> /srv']);
        return (parts: readonly string[]) => {
          const v = mounted.find((x) => x.at.every((c, i) => parts[i] === c));
          if (!v) return image(parts);
          const rest = parts.slice(v.at.length).join('/');
          if (rest === '') return { kind: 'dir' as const };
          const st = vol.get(rest);
          return st?.kind === 'link' ? { ...st, volume: `/${v.at.join('/')}` } : (st ?? { kind: 'missing' as const });
        };
      },
    };
    const base = tree([...BASE, 'srv/', 'a -> /srv']);
    // the volume landed at /srv (through the image's link); its link is refused, wherever it points
    expect(checkRootfsPaths(spec('/', ['/a', '/a/config']), base, volumes)[0]).toMatchObject({
      path: '/a/config',
      at: '/srv/config',
      why: expect.stringContaining('inside the volume mounted at /srv'),
    });
    expect(checkRootfsPaths(spec('/', ['/a', '/a/cur/x']), base, volumes)[0]).toMatchObject({ at: '/srv/cur' });
    // real directories in the volume, missing ones, and the working directory through a link in it are fine
    expect(checkRootfsPaths(spec('/a/cur', ['/a', '/a/real/x', '/a/new/y']), base, volumes)).toEqual([]);
    // without the volumes (or before the volume is mounted) the image alone is asked
    expect(checkRootfsPaths(spec('/', ['/a/config', '/a']), base, volumes)).toEqual([]);
  });

  it('a working directory that lands in /proc or /dev/fd, directly or through a link, is refused (CVE-2024-21626)', () => {
    expect(checkRootfsPaths(spec('/proc/self/fd/7'), tree(BASE))[0]).toMatchObject({ at: '/proc/self/fd/7', role: 'the working directory' });
    const [r] = checkRootfsPaths(spec('/app'), tree([...BASE, 'app -> /proc/self/fd/7']));
    expect(r).toMatchObject({ path: '/app', at: '/proc/self/fd/7' });
    expect(r!.why).toMatch(/^is inside \/proc, where runc's own file descriptors can be reached \(CVE-2024-21626\)/);
    expect(checkRootfsPaths(spec('/w'), tree([...BASE, 'w -> dev/fd/8']))[0]).toMatchObject({ at: '/dev/fd/8' });
    expect(checkRootfsPaths(spec('/devices/x'), tree(BASE))).toEqual([]);
  });

  it.each([
    ['/proc/self/fd/7', true],
    ['/proc/1/fd/3', true],
    ['/proc', true],
    ['/tmp/../proc/thread-self/fd/9', true],
    ['/dev/fd/7', true],
    ['/dev/stdin', true],
    ['/dev/shm', false],
    ['/procx', false],
    ['/srv/proc/self/fd/7', false],
  ])('procWorkdir(%j) refuses: %s', (p, refused) => {
    expect(procWorkdir(p) !== undefined).toBe(refused);
  });

  it.each([
    ['../../..', true],
    ['/../x', true],
    ['/a/../../b', true],
    ['/a/../b', false],
    ['/a/./b/..', false],
    ['/', false],
  ])('climbsOut(%j) is %s', (p, climbs) => {
    expect(climbsOut(p)).toBe(climbs);
  });
});
