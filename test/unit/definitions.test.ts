import { afterEach, describe, it, expect, vi } from 'vitest';
import { BarepodError } from '../../src/errors.js';
import { POD_DEFAULTS } from '../../src/model.js';
import { containerDefinition, parseEnv, parseLimits, parseShare, parseUser, podDefinition, type ContainerInput } from '../../src/cli/definitions.js';

/** Calls `fn` and returns the BarepodError it threw, failing the test otherwise. */
function thrown(fn: () => unknown): BarepodError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BarepodError);
    return e as BarepodError;
  }
  throw new Error('expected a throw');
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('parseShare', () => {
  it.each<[string | undefined, string[]]>([
    [undefined, ['net', 'ipc', 'uts']],
    ['net,ipc,uts', ['net', 'ipc', 'uts']],
    ['pid,uts,ipc,net', ['net', 'ipc', 'uts', 'pid']],
    ['network', ['net']],
    ['network,pid', ['net', 'pid']],
    ['uts,net', ['net', 'uts']],
    ['net,net,network', ['net']],
    [' net , ipc ', ['net', 'ipc']],
    ['net,,ipc,', ['net', 'ipc']],
    ['', []],
    // podman's rule: a list led by + adds to the default, a plain list replaces it
    ['+pid', ['net', 'ipc', 'uts', 'pid']],
    ['+pid,uts', ['net', 'ipc', 'uts', 'pid']],
    ['+pid,+ipc', ['net', 'ipc', 'uts', 'pid']],
    ['pid', ['pid']],
  ])('%j → %j', (text, share) => {
    expect(parseShare(text)).toEqual(share);
  });

  it('refuses a + inside a list that does not start with one', () => {
    const e = thrown(() => parseShare('net,+pid'));
    expect(e.code).toBe('invalid-value');
    expect(e.message).toMatch(/a \+ leads the whole list \(--share \+net,pid\)/);
  });

  it('returns a fresh array for the default', () => {
    const a = parseShare(undefined);
    a.push('pid');
    expect(parseShare(undefined)).toEqual(['net', 'ipc', 'uts']);
  });

  it.each([['mnt'], ['net,user'], ['cgroup'], ['NET'], ['net;ipc']])('rejects %j naming the namespace and the choices', (text) => {
    const e = thrown(() => parseShare(text));
    expect(e.code).toBe('invalid-value');
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/^--share: unknown namespace ".+" \(choose from net, ipc, uts, pid\)$/);
  });
});

describe('parseLimits', () => {
  it('parses each flag as a Kubernetes quantity and leaves unset ones out', () => {
    expect(parseLimits({})).toEqual({});
    expect(parseLimits({ memory: '64Mi', cpus: '0.5', pidsLimit: '32' })).toEqual({ memoryBytes: 67108864, cpuMillis: 500, pids: 32 });
    expect(parseLimits({ memory: undefined, cpus: '2' })).toEqual({ cpuMillis: 2000 });
  });

  it.each([
    [{ memory: '1K' }, '--memory'],
    [{ cpus: 'lots' }, '--cpus'],
    [{ pidsLimit: '0' }, '--pids-limit'],
  ])('names the flag at fault: %j', (flags, flag) => {
    expect(thrown(() => parseLimits(flags)).message.startsWith(`${flag}: `)).toBe(true);
  });
});

describe('podDefinition', () => {
  it('defaults the hostname to the name and the share to net,ipc,uts', () => {
    expect(podDefinition({ name: 'web' })).toEqual({
      name: 'web',
      hostname: 'web',
      share: ['net', 'ipc', 'uts'],
      limits: {},
      ...POD_DEFAULTS,
      network: { kind: 'cni', name: 'barepod', ports: [] },
    });
  });

  it('takes the network, port mappings and host aliases', () => {
    const def = podDefinition({ name: 'web', network: 'barepod', publish: ['8080:80', '127.0.0.1:5353:53/udp'], addHost: ['db;db.local:10.88.0.7'] });
    expect(def.network).toEqual({
      kind: 'cni',
      name: 'barepod',
      ports: [
        { hostIP: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
        { hostIP: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp' },
      ],
    });
    expect(def.hostAliases).toEqual([{ ip: '10.88.0.7', hostnames: ['db', 'db.local'] }]);
    expect(podDefinition({ name: 'db', network: 'none' }).network).toEqual({ kind: 'none' });
    // --network host is hostNetwork: the host's namespace, not a shared one of the pod's
    const host = podDefinition({ name: 'mon', network: 'host' });
    expect([host.network, host.host, host.share]).toEqual([{ kind: 'host' }, ['net'], ['ipc', 'uts']]);
  });

  it.each([
    [{ network: 'host', publish: ['80:80'] }, '--publish needs a CNI network, not --network host'],
    [{ network: 'none', publish: ['80:80'] }, '--publish needs a CNI network, not --network none'],
    [{ publish: ['80:80', '80:81'] }, '--publish: host port 80/tcp is mapped twice'],
    [{ publish: ['80'] }, '--publish "80": needs hostPort:containerPort'],
    [{ publish: ['80:80/sctp'] }, '--publish "80:80/sctp": the protocol must be tcp or udp'],
    [{ publish: ['0:80'] }, '--publish "0:80": hostPort "0" must be a port number 1-65535'],
    [{ publish: ['x.y:1:2'] }, '--publish "x.y:1:2": "x.y" is not an IPv4 address'],
    [{ addHost: ['db'] }, '--add-host "db": needs NAME:IP'],
    [{ addHost: ['db:300.1.1.1'] }, '--add-host "db:300.1.1.1": "300.1.1.1" is not an IP address'],
    [{ network: '../x' }, '--network "../x": not a network name'],
    [
      { share: 'ipc,uts', publish: ['80:80'] },
      '--publish needs the pod to share its network namespace (--share with net): the containers would not be on the pod IP',
    ],
  ])('rejects network flags %j', (flags, message) => {
    const e = thrown(() => podDefinition({ name: 'web', ...flags }));
    expect(e.code).toBe('invalid-value');
    expect(e.message).toBe(message);
  });

  it('takes the restart policy, backoff, grace period and log cap', () => {
    const def = podDefinition({
      name: 'web',
      restart: 'on-failure',
      backoff: '500ms',
      backoffMax: '1m',
      backoffReset: '2m',
      gracePeriod: '5',
      logSizeMax: '1Mi',
    });
    expect(def.restartPolicy).toBe('OnFailure');
    expect(def.backoff).toEqual({ initialMs: 500, maxMs: 60_000, resetMs: 120_000 });
    expect(def.graceSeconds).toBe(5);
    expect(def.logSizeMax).toBe(1 << 20);
  });

  it.each([
    [{ restart: 'sometimes' }, '--restart "sometimes": must be always, on-failure or never'],
    [{ backoff: '10 parsecs' }, '--backoff "10 parsecs": not a duration (examples: 500ms, 10s, 5m, 1h30m)'],
    [{ backoff: '2m', backoffMax: '1m' }, '--backoff-max (60000 ms) must not be below --backoff (120000 ms)'],
    [{ gracePeriod: '-1' }, '--grace-period "-1": must be a whole number of seconds'],
    [{ logSizeMax: '1Ki' }, '--log-size-max "1Ki": must be at least 4Ki'],
  ])('rejects pod flags %j', (flags, message) => {
    const e = thrown(() => podDefinition({ name: 'web', ...flags }));
    expect(e.code).toBe('invalid-value');
    expect(e.message).toBe(message);
  });

  it('takes hostname, share and limits', () => {
    expect(podDefinition({ name: 'web', hostname: 'www.example.org', share: 'net,pid', memory: '1Gi' })).toEqual({
      name: 'web',
      hostname: 'www.example.org',
      share: ['net', 'pid'],
      limits: { memoryBytes: 1 << 30 },
      ...POD_DEFAULTS,
      network: { kind: 'cni', name: 'barepod', ports: [] },
    });
  });

  it.each([['Web'], ['../x'], ['a_b'], ['']])('rejects the pod name %j with invalid-name', (name) => {
    const e = thrown(() => podDefinition({ name }));
    expect(e.code).toBe('invalid-name');
    expect(e.message).toContain('invalid pod name');
  });

  it.each([['Web'], ['-web'], ['web.'], ['a..b'], ['a_b'], ['x'.repeat(64)], ['']])('rejects the hostname %j', (hostname) => {
    const e = thrown(() => podDefinition({ name: 'web', hostname }));
    expect(e.code).toBe('invalid-value');
    expect(e.message).toBe(`--hostname "${hostname}": must be a DNS name of at most 63 characters`);
  });

  it('accepts a 63-character hostname', () => {
    expect(podDefinition({ name: 'web', hostname: 'h'.repeat(63) }).hostname).toBe('h'.repeat(63));
  });

  it('rejects a bad --share or limit', () => {
    expect(thrown(() => podDefinition({ name: 'web', share: 'mnt' })).message).toMatch(/^--share/);
    expect(thrown(() => podDefinition({ name: 'web', cpus: '0' })).message).toMatch(/^--cpus/);
  });
});

describe('parseUser', () => {
  it.each<[string | undefined, { uid: number; gid: number }]>([
    [undefined, { uid: 0, gid: 0 }],
    ['0', { uid: 0, gid: 0 }],
    ['1000', { uid: 1000, gid: 1000 }],
    ['1000:100', { uid: 1000, gid: 100 }],
    ['65534:0', { uid: 65534, gid: 0 }],
  ])('%j → %j', (text, user) => {
    expect(parseUser(text)).toEqual(user);
  });

  it.each([['root'], ['1000:'], [':100'], ['-1'], ['1000:users'], ['1.5'], [''], ['1000:100:1']])('rejects %j', (text) => {
    const e = thrown(() => parseUser(text));
    expect(e.code).toBe('invalid-value');
    expect(e.message).toBe(`--user "${text}": must be UID or UID:GID (numbers)`);
  });
});

describe('parseEnv', () => {
  it.each<[string[], string[]]>([
    [[], []],
    [['A=1'], ['A=1']],
    [['A='], ['A=']],
    [['A=b=c'], ['A=b=c']],
    [['_x.y-z=1'], ['_x.y-z=1']],
    [
      ['lower=1', 'MiXeD9=2'],
      ['lower=1', 'MiXeD9=2'],
    ],
    [['A= spaced value '], ['A= spaced value ']],
    [
      ['A-B=1', 'a.b=2'],
      ['A-B=1', 'a.b=2'],
    ], // '-' and '.' after the first character, as Kubernetes allows
  ])('%j → %j', (items, env) => {
    expect(parseEnv(items)).toEqual(env);
  });

  it('takes a bare KEY from barepod’s own environment, and leaves it out when unset (as podman does)', () => {
    vi.stubEnv('BAREPOD_TEST_VAR', 'from-host');
    vi.stubEnv('BAREPOD_TEST_UNSET', undefined);
    expect(parseEnv(['BAREPOD_TEST_VAR', 'BAREPOD_TEST_UNSET'])).toEqual(['BAREPOD_TEST_VAR=from-host']);
  });

  it.each<[string, string]>([
    ['1A=x', '1A'],
    ['=x', ''],
    ['A B=1', 'A B'],
    ['$A=1', '$A'],
    ['', ''],
  ])('rejects %j: "%s" is not a valid variable name', (item, key) => {
    const e = thrown(() => parseEnv([item]));
    expect(e.code).toBe('invalid-value');
    expect(e.message).toBe(`--env "${item}": "${key}" is not a valid variable name`);
  });
});

describe('containerDefinition', () => {
  const base: ContainerInput = { name: 'app', command: [] };

  it('fills every default: busybox, sh, /, root, no limits, join the pod pid, default seccomp', () => {
    expect(containerDefinition(base)).toEqual({
      name: 'app',
      kind: 'app',
      image: 'busybox',
      rootfs: null,
      args: ['sh'],
      env: [],
      workdir: '/',
      user: { uid: 0, gid: 0 },
      limits: {},
      pidMode: 'pod',
      seccomp: 'default',
    });
  });

  it.each<[Partial<ContainerInput>, string[]]>([
    [{ command: ['httpd', '-f'] }, ['httpd', '-f']],
    [{ command: [], imageDefaults: { entrypoint: [], cmd: ['httpd', '-f', '-p', '8080'], env: [], workdir: '/', user: '' } }, ['httpd', '-f', '-p', '8080']],
    [{ command: ['sleep', '1'], imageDefaults: { entrypoint: [], cmd: ['httpd'], env: [], workdir: '/', user: '' } }, ['sleep', '1']],
    // Kubernetes semantics: the words after -- replace entrypoint and cmd; --entrypoint replaces the entrypoint and drops cmd
    [{ command: [], imageDefaults: { entrypoint: ['/ep', '-x'], cmd: ['a', 'b'], env: [], workdir: '/', user: '' } }, ['/ep', '-x', 'a', 'b']],
    [{ command: ['c'], imageDefaults: { entrypoint: ['/ep'], cmd: ['a'], env: [], workdir: '/', user: '' } }, ['c']],
    [{ command: [], entrypoint: '/bin/echo', imageDefaults: { entrypoint: ['/ep'], cmd: ['a'], env: [], workdir: '/', user: '' } }, ['/bin/echo']],
    [{ command: ['hi'], entrypoint: '/bin/echo', imageDefaults: { entrypoint: ['/ep'], cmd: ['a'], env: [], workdir: '/', user: '' } }, ['/bin/echo', 'hi']],
    [{ command: [] }, ['sh']],
  ])('command %j → args %j', (input, args) => {
    expect(containerDefinition({ ...base, ...input }).args).toEqual(args);
  });

  it.each<[Partial<ContainerInput>, string | null, string | null]>([
    [{}, 'busybox', null],
    [{ image: 'pause' }, 'pause', null],
    [{ rootfs: '/srv/rootfs' }, null, '/srv/rootfs'],
  ])('image/rootfs %j → image %j, rootfs %j', (input, image, rootfs) => {
    const d = containerDefinition({ ...base, ...input });
    expect(d.image).toBe(image);
    expect(d.rootfs).toBe(rootfs);
  });

  it('refuses --image with --rootfs as a usage error', () => {
    const e = thrown(() => containerDefinition({ ...base, image: 'busybox', rootfs: '/srv/rootfs' }));
    expect(e.code).toBe('usage');
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe('--image and --rootfs are mutually exclusive');
  });

  it.each<[string | undefined, 'pod' | 'private']>([
    [undefined, 'pod'],
    ['pod', 'pod'],
    ['private', 'private'],
  ])('--pid %j → %s', (pid, mode) => {
    expect(containerDefinition({ ...base, pid }).pidMode).toBe(mode);
  });

  it.each([['host'], ['container:x'], ['Pod'], ['']])('rejects --pid %j', (pid) => {
    const e = thrown(() => containerDefinition({ ...base, pid }));
    expect(e.code).toBe('invalid-value');
    expect(e.message).toMatch(new RegExp(`^--pid "${pid}": must be "pod"`));
  });

  it.each<[string[] | undefined, 'default' | 'unconfined']>([
    [undefined, 'default'],
    [[], 'default'],
    [['seccomp=unconfined'], 'unconfined'],
    [['seccomp=unconfined', 'seccomp=unconfined'], 'unconfined'],
  ])('--security-opt %j → seccomp %s', (securityOpt, seccomp) => {
    expect(containerDefinition({ ...base, securityOpt }).seccomp).toBe(seccomp);
  });

  it.each([['seccomp=/etc/profile.json'], ['apparmor=unconfined'], ['no-new-privileges'], ['label=disable']])('rejects --security-opt %j', (opt) => {
    const e = thrown(() => containerDefinition({ ...base, securityOpt: ['seccomp=unconfined', opt] }));
    expect(e.code).toBe('invalid-value');
    expect(e.message).toBe(`--security-opt "${opt}": only seccomp=unconfined is supported`);
  });

  it('parses --user, -e and limits', () => {
    const d = containerDefinition({ ...base, user: '1000:100', env: ['A=1'], memory: '64Mi', cpus: '500m', pidsLimit: '32' });
    expect(d.user).toEqual({ uid: 1000, gid: 100 });
    expect(d.env).toEqual(['A=1']);
    expect(d.limits).toEqual({ memoryBytes: 67108864, cpuMillis: 500, pids: 32 });
  });

  it('passes on invalid env, user and limits', () => {
    expect(thrown(() => containerDefinition({ ...base, env: ['9=x'] })).message).toMatch(/^--env "9=x"/);
    expect(thrown(() => containerDefinition({ ...base, user: 'no body' })).message).toMatch(/^--user "no body"/);
    expect(thrown(() => containerDefinition({ ...base, user: '99999999999' })).message).toMatch(
      /^--user "99999999999:99999999999": uid and gid must be at most/,
    );
    expect(thrown(() => containerDefinition({ ...base, memory: '-1Mi' })).message).toMatch(/^--memory: "-1Mi" must be greater than zero/);
  });

  it("takes a user name (resolved at launch through the rootfs's /etc/passwd), and the image's defaults under the user's", () => {
    const image = { entrypoint: ['/ep'], cmd: ['x'], env: ['PATH=/img', 'A=img'], workdir: '/app', user: 'app:staff' };
    const d = containerDefinition({ ...base, imageDefaults: image, env: ['A=mine'] });
    expect(d.userName).toBe('app:staff');
    expect(d.env).toEqual(['PATH=/img', 'A=mine']);
    expect(d.workdir).toBe('/app');
    expect(containerDefinition({ ...base, imageDefaults: image, user: '7', workdir: '/w' })).toMatchObject({ user: { uid: 7, gid: 7 }, workdir: '/w' });
    expect(containerDefinition({ ...base, imageDefaults: image, user: '7' }).userName).toBeUndefined();
    expect(thrown(() => containerDefinition({ ...base, imageDefaults: { ...image, entrypoint: [], cmd: [] } })).code).toBe('usage');
  });

  it.each([['/'], ['/srv/www'], ['/a/../b']])('accepts the absolute workdir %j', (workdir) => {
    expect(containerDefinition({ ...base, workdir }).workdir).toBe(workdir);
  });

  it.each([['srv'], ['./srv'], [''], ['~/x']])('rejects the relative workdir %j', (workdir) => {
    const e = thrown(() => containerDefinition({ ...base, workdir }));
    expect(e.code).toBe('invalid-value');
    expect(e.message).toBe(`--workdir "${workdir}": must be an absolute path`);
  });

  it.each([['_pause'], ['App'], ['a.b'], ['x'.repeat(64)]])('rejects the container name %j', (name) => {
    const e = thrown(() => containerDefinition({ ...base, name }));
    expect(e.code).toBe('invalid-name');
    expect(e.message).toContain('invalid container name');
  });
});
