import { describe, expect, it } from 'vitest';
import type { PodDefinition } from '../../src/model.js';
import {
  attachMounts,
  type HostPathFacts,
  nestedMountConflicts,
  parseMountFlag,
  parsePodVolumeFlag,
  parseTmpfsFlag,
  parseVolumeFlag,
} from '../../src/plan/mounts.js';
import { thrown } from '../helpers/thrown.js';

describe('run -v, --mount, --tmpfs', () => {
  it.each([
    ['/srv/data:/data', { source: { kind: 'host', path: '/srv/data' }, mountPath: '/data', readOnly: false }],
    ['/srv/data/:/data/:ro', { source: { kind: 'host', path: '/srv/data' }, mountPath: '/data', readOnly: true }],
    ['cache:/var/cache:rw', { source: { kind: 'volume', name: 'cache' }, mountPath: '/var/cache', readOnly: false }],
  ])('-v %s', (text, want) => {
    expect(parseVolumeFlag(text)).toMatchObject(want);
  });

  it.each([
    ['data', 'expected SOURCE:CTRDIR'],
    ['./data:/d', 'relative host path'],
    ['data/x:/d', 'relative host path'],
    ['/a:d', 'must be absolute'],
    ['/a:/d/../etc', 'must not contain ".."'],
    ['/a/../b:/d', 'must not contain ".."'],
    ['/a:/', 'cannot mount over'],
    ['/a:/d:z', 'option "z" is not supported'],
    ['Data:/d', 'neither an absolute host path nor a volume name'],
  ])('-v %s is refused: %s', (text, why) => {
    const e = thrown(() => parseVolumeFlag(text));
    expect(e.code).toBe('invalid-value');
    expect(e.message).toContain(`-v "${text}"`);
    expect(e.message).toContain(why);
  });

  it('--tmpfs sizes: Kubernetes quantities and docker suffixes', () => {
    expect(parseTmpfsFlag('/run')).toMatchObject({ source: { kind: 'tmpfs' }, mountPath: '/run', readOnly: false });
    expect(parseTmpfsFlag('/run:size=64Mi,ro').source).toEqual({ kind: 'tmpfs', sizeLimitBytes: 64 * 1024 * 1024 });
    expect(parseTmpfsFlag('/run:size=64m').source).toEqual({ kind: 'tmpfs', sizeLimitBytes: 64 * 1024 * 1024 });
    expect(thrown(() => parseTmpfsFlag('/run:mode=1777')).message).toContain('"mode=1777" is not supported');
    expect(thrown(() => parseTmpfsFlag('run')).message).toContain('must be absolute');
  });

  it('--mount: bind, volume with subpath, tmpfs; synonyms; mismatched sources refused', () => {
    expect(parseMountFlag('type=bind,src=/srv,dst=/d,ro=true')).toMatchObject({ source: { kind: 'host', path: '/srv' }, mountPath: '/d', readOnly: true });
    expect(parseMountFlag('type=volume,source=data,target=/d,subpath=a/b,readonly')).toMatchObject({
      source: { kind: 'volume', name: 'data' },
      subPath: 'a/b',
      readOnly: true,
    });
    expect(parseMountFlag('type=tmpfs,destination=/t,tmpfs-size=1g').source).toEqual({ kind: 'tmpfs', sizeLimitBytes: 1024 ** 3 });
    for (const [text, why] of [
      ['type=bind,source=data,target=/d', 'needs an absolute host path'],
      ['type=volume,source=/srv,target=/d', 'needs the name of a pod volume'],
      ['type=volume,source=data,target=/d,subpath=../x', 'relative path without ".."'],
      ['type=bind,source=/srv,target=/d,subpath=x', 'subpath is for type=volume'],
      ['type=tmpfs,source=/srv,target=/d', 'takes no source'],
      ['type=image,source=x,target=/d', 'type "image" is not supported'],
      ['type=bind,source=/srv', 'target= is required'],
      ['type=bind,source=/srv,target=/d,propagation=shared', '"propagation" is not supported'],
    ]) {
      expect(thrown(() => parseMountFlag(text!)).message, text).toContain(why);
    }
  });

  it('pod create -v NAME[:CTRDIR[:ro]]', () => {
    expect(parsePodVolumeFlag('data')).toEqual({ volume: { kind: 'emptyDir', name: 'data', medium: '' } });
    expect(parsePodVolumeFlag('cache:/cache:ro')).toEqual({
      volume: { kind: 'emptyDir', name: 'cache', medium: '' },
      mount: { name: 'cache', mountPath: '/cache', readOnly: true },
    });
    expect(thrown(() => parsePodVolumeFlag('/srv:/d')).message).toContain('a pod volume is named, not a host path');
    expect(parsePodVolumeFlag('mem:tmpfs')).toEqual({ volume: { kind: 'emptyDir', name: 'mem', medium: 'Memory' } });
    expect(parsePodVolumeFlag('mem:/m:size=8Mi,ro')).toEqual({
      volume: { kind: 'emptyDir', name: 'mem', medium: 'Memory', sizeLimitBytes: 8 * 1024 * 1024 },
      mount: { name: 'mem', mountPath: '/m', readOnly: true },
    });
    for (const [text, why] of [
      ['mem:m:ro', 'must be absolute'],
      ['mem:ro', 'ro needs the container path'],
      ['mem:/m:exec', 'option "exec" is not supported'],
      ['Mem', 'not a volume name'],
    ]) {
      expect(thrown(() => parsePodVolumeFlag(text!)).message, text).toContain(why);
    }
  });
});

describe('attachMounts: flags as a manifest writes them', () => {
  const pod: Pick<PodDefinition, 'name' | 'volumes' | 'podMounts'> = {
    name: 'web',
    volumes: [
      { kind: 'emptyDir', name: 'data', medium: '' },
      { kind: 'emptyDir', name: 'app-0', medium: '' },
    ],
    podMounts: [
      { name: 'data', mountPath: '/data', readOnly: false },
      { name: 'data', mountPath: '/shared', readOnly: true },
    ],
  };
  // /link is a symlink to /srv
  const real = (p: string) => p.replace(/^\/link(?=\/|$)/, '/srv').replace(/^\/srv\/planted(?=\/|$)/, '/etc');
  const ancestors = (p: string): string[] => (p === '/' ? ['/'] : [p, ...ancestors(p.slice(0, p.lastIndexOf('/')) || '/')]);
  const host = (p: string): HostPathFacts | undefined =>
    p === '/missing'
      ? undefined
      : { type: p.endsWith('.sock') ? 'Socket' : 'Directory', real: real(p), prefixes: ancestors(p).map((a) => ({ path: a, real: real(a) })) };

  it('host paths and tmpfs become new volumes of names the pod does not use; pod volumes are mounted by name; the pod mounts come first unless overridden', () => {
    const r = attachMounts(pod, 'app', [parseVolumeFlag('/srv:/srv:ro'), parseTmpfsFlag('/shared:size=1Mi'), parseVolumeFlag('data:/in')], host);
    expect(r.volumes).toEqual([
      { kind: 'hostPath', name: 'app-1', path: '/srv', type: 'Directory' },
      { kind: 'emptyDir', name: 'app-2', medium: 'Memory', sizeLimitBytes: 1024 * 1024 },
    ]);
    expect(r.mounts).toEqual([
      { name: 'data', mountPath: '/data', readOnly: false },
      { name: 'app-1', mountPath: '/srv', readOnly: true },
      { name: 'app-2', mountPath: '/shared', readOnly: false },
      { name: 'data', mountPath: '/in', readOnly: false },
    ]);
  });

  it('a host path inside a hostPath volume (of the pod, or of this run, whatever the order; through a symlink too) is a subPath of it', () => {
    const withHost = { ...pod, volumes: [...pod.volumes!, { kind: 'hostPath' as const, name: 'srv', path: '/srv', type: 'Directory' as const }] };
    const r = attachMounts(withHost, 'app', [parseVolumeFlag('/link/a/b:/b:ro'), parseVolumeFlag('/srv:/s2')], host);
    expect(r.volumes).toEqual([]);
    expect(r.mounts.slice(2)).toEqual([
      { name: 'srv', mountPath: '/b', readOnly: true, subPath: 'a/b' },
      { name: 'srv', mountPath: '/s2', readOnly: false },
    ]);
    // /srv/planted is a link a container made to /etc: still a subPath of srv (resolved inside it at the start, where the link is refused)
    expect(attachMounts(withHost, 'app', [parseVolumeFlag('/srv/planted/x:/p')], host).mounts.at(-1)).toEqual({
      name: 'srv',
      mountPath: '/p',
      readOnly: false,
      subPath: 'planted/x',
    });
    const fresh = attachMounts(pod, 'app', [parseVolumeFlag('/opt/x/run.sock:/run.sock'), parseVolumeFlag('/opt:/opt:ro')], host);
    expect(fresh.volumes).toEqual([{ kind: 'hostPath', name: 'app-1', path: '/opt', type: 'Directory' }]);
    expect(fresh.mounts.slice(2)).toEqual([
      { name: 'app-1', mountPath: '/run.sock', readOnly: false, subPath: 'x/run.sock' },
      { name: 'app-1', mountPath: '/opt', readOnly: true },
    ]);
  });

  it('a new read-write host path holding a hostPath volume of the pod is refused (read-only is not)', () => {
    const withHost = { ...pod, volumes: [...pod.volumes!, { kind: 'hostPath' as const, name: 'inner', path: '/srv/in', type: 'Directory' as const }] };
    const e = thrown(() => attachMounts(withHost, 'app', [parseVolumeFlag('/srv:/s')], host));
    expect(e.message).toContain('-v "/srv:/s": /srv holds /srv/in, the host path of volume "inner" of pod "web"');
    expect(attachMounts(withHost, 'app', [parseVolumeFlag('/srv:/s:ro')], host).volumes).toEqual([
      { kind: 'hostPath', name: 'app-1', path: '/srv', type: 'Directory' },
    ]);
  });

  it('refuses a missing host path, an unknown pod volume and a path mounted twice', () => {
    expect(thrown(() => attachMounts(pod, 'app', [parseVolumeFlag('/missing:/m')], host)).message).toContain('host path /missing does not exist');
    const e = thrown(() => attachMounts(pod, 'app', [parseVolumeFlag('nope:/m')], host));
    expect(e.message).toContain('pod "web" has no volume "nope" (it has data, app-0)');
    expect(thrown(() => attachMounts(pod, 'app', [parseVolumeFlag('/a:/m'), parseTmpfsFlag('/m')], host)).message).toContain('/m is already mounted');
  });

  it('a mount below a volume another running container writes is a conflict (the manifest rule)', () => {
    const writer = { name: 'w', kind: 'app' as const, mounts: [{ name: 'data', mountPath: '/d', readOnly: false }] };
    const nested = {
      name: 'n',
      kind: 'app' as const,
      mounts: [
        { name: 'data', mountPath: '/d', readOnly: true },
        { name: 'x', mountPath: '/d/x', readOnly: false },
      ],
    };
    expect(nestedMountConflicts([writer, nested], [nested])[0]?.message).toContain('"/d/x" lies below "/d" (volume "data"), which container "w" can write');
    expect(nestedMountConflicts([nested], [nested])).toEqual([]);
  });
});
