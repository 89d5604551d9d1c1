/**
 * --explain's pure parts: the words (a config.json's namespaces section,
 * argv quoting, conmon's folded exit command, step titles) and the layout
 * (step numbering, indentation, parallel steps printed whole in order,
 * colour only when asked), against a fake writer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NO_NETWORK, type ContainerDefinition, type PodDefinition } from '../../src/model.js';
import { bundleLines, conmonWords, containerTitle, namespaceRows, namespaceSummary, networkTitle, sandboxTitle, shellWords } from '../../src/plan/narration.js';
import { planContainerSpec, planSandboxSpec, type PlanContext } from '../../src/plan/pod-plan.js';
import { disableExplain, enableExplain, explain, explainResult, explainRun, explainStep, Narrator } from '../../src/runtime/explain.js';

const V1: PlanContext = { cgroupVersion: 1, cgroupRoot: 'barepod' };
const V2: PlanContext = { cgroupVersion: 2, cgroupRoot: 'barepod' };

const pod = (extra: Partial<PodDefinition> = {}): PodDefinition =>
  ({ name: 'web', hostname: 'web', share: ['net', 'ipc', 'uts'], limits: {}, network: NO_NETWORK, ...extra }) as PodDefinition;
const ctr = (extra: Partial<ContainerDefinition> = {}): ContainerDefinition =>
  ({
    name: 'app',
    kind: 'app',
    image: 'busybox',
    rootfs: null,
    args: ['sleep', '3600'],
    env: [],
    workdir: '/',
    user: { uid: 0, gid: 0 },
    limits: {},
    pidMode: 'pod',
    seccomp: 'unconfined',
    ...extra,
  }) as ContainerDefinition;

describe('the namespaces section of a config.json', () => {
  it("a container of a pod sharing net, ipc, uts: joins the pause's three by path, gets its own pid and mnt", () => {
    const spec = planContainerSpec(pod(), ctr(), 4242, V1, '/r');
    expect(namespaceRows(spec)).toEqual([
      { type: 'network', path: '/proc/4242/ns/net' },
      { type: 'ipc', path: '/proc/4242/ns/ipc' },
      { type: 'uts', path: '/proc/4242/ns/uts' },
      { type: 'pid', path: undefined },
      { type: 'mount', path: undefined },
    ]);
    expect(namespaceSummary(namespaceRows(spec))).toBe('joins /proc/4242/ns/net, /proc/4242/ns/ipc, /proc/4242/ns/uts; own pid, mnt');
  });

  it('shared pid is joined too; cgroup v2 adds an own cgroup namespace', () => {
    const spec = planContainerSpec(pod({ share: ['net', 'ipc', 'uts', 'pid'] }), ctr(), 7, V2, '/r');
    expect(namespaceSummary(namespaceRows(spec))).toBe('joins /proc/7/ns/net, /proc/7/ns/ipc, /proc/7/ns/uts, /proc/7/ns/pid; own mnt, cgroup');
  });

  it('the sandbox creates every one; a host namespace is not listed at all', () => {
    expect(namespaceSummary(namespaceRows(planSandboxSpec(pod(), V1, '/p')))).toBe('own pid, net, ipc, uts, mnt');
    expect(namespaceSummary(namespaceRows(planSandboxSpec(pod({ host: ['net'] }), V1, '/p')))).toBe('own pid, ipc, uts, mnt');
    expect(namespaceSummary([])).toBe("no namespaces of its own: the host's");
  });

  it('bundleLines: the path to cat, one line per namespace (join PATH or new), the cgroup, the hostname, binds, limits, process', () => {
    const spec = planContainerSpec(pod(), ctr({ limits: { memoryBytes: 64 << 20, cpuMillis: 500, pids: 32 } }), 4242, V1, '/r', '/pod/shm', {}, '/pod/etc');
    expect(bundleLines(spec, '/b/app/config.json')).toEqual([
      'wrote /b/app/config.json: joins /proc/4242/ns/net, /proc/4242/ns/ipc, /proc/4242/ns/uts; own pid, mnt',
      '  linux.namespaces:',
      '    network  join /proc/4242/ns/net',
      '    ipc      join /proc/4242/ns/ipc',
      '    uts      join /proc/4242/ns/uts',
      '    pid      new',
      '    mount    new',
      '  linux.cgroupsPath: /barepod/web/app',
      "  hostname: (none: it joins the pod's uts namespace, whose hostname the pause set)",
      '  bind mounts: /pod/shm → /dev/shm, /pod/etc/hosts → /etc/hosts, /pod/etc/resolv.conf → /etc/resolv.conf, /pod/etc/hostname → /etc/hostname',
      '  linux.resources: memory 64Mi, cpu 50000/100000 µs, pids 32 (runc writes them into the cgroup)',
      '  process: sleep 3600 as uid 0, root /r',
    ]);
  });

  it("bundleLines: a container with its own uts namespace has its own hostname; the pause's root is read-only", () => {
    const own = bundleLines(planContainerSpec(pod({ share: ['net'] }), ctr(), 1, V1, '/r'), '/c');
    expect(own).toContain('  hostname: app');
    expect(own).toContain('    uts      new');
    const pause = bundleLines(planSandboxSpec(pod(), V1, '/p'), '/c');
    expect(pause).toContain('  hostname: web');
    expect(pause[pause.length - 1]).toBe('  process: /pause as uid 0, root /p (read-only)');
  });
});

describe('words', () => {
  it('shellWords quotes only what a shell would split or expand', () => {
    expect(shellWords(['mount', '-t', 'overlay', '-o', 'lowerdir=/a:/b,upperdir=/u', '/x'])).toBe('mount -t overlay -o lowerdir=/a:/b,upperdir=/u /x');
    expect(shellWords(['sh', '-c', 'echo "hi" && it\'s'])).toBe(`sh -c 'echo "hi" && it'\\''s'`);
    expect(shellWords(['echo', ''])).toBe("echo ''");
    // a script of several lines stays on one line, as bash's $'…' quoting
    expect(shellWords(['sh', '-c', "n=0\nwhile :; do echo 'x'; done\n"])).toBe("sh -c $'n=0\\nwhile :; do echo \\'x\\'; done\\n'");
  });

  it("conmonWords folds the exit command's arguments, keeping their tail", () => {
    const argv = [
      'conmon',
      '-c',
      'web.app',
      '--exit-command',
      '/bin/sh',
      '--exit-command-arg',
      '-c',
      '--exit-command-arg',
      'test -e "$0" || exec "$@"',
      '--exit-command-arg',
      '_exited',
      '--exit-command-arg',
      'web',
      '--exit-command-arg',
      'app',
      '--exit-command-arg',
      'abc',
    ];
    expect(conmonWords(argv)).toBe('conmon -c web.app --exit-command /bin/sh --exit-command-arg … (6 arguments: _exited web app abc)');
    expect(conmonWords(['conmon', '-c', 'x'])).toBe('conmon -c x');
  });

  it('step titles say what a student should look for', () => {
    expect(sandboxTitle(planSandboxSpec(pod(), V1, '/p'))).toBe('Sandbox: start pause in new pid, net, ipc, uts, mnt namespaces (cgroup /barepod/web/_pause)');
    expect(containerTitle(ctr(), ['net', 'ipc', 'uts'], '/barepod/web/app')).toBe(
      "Container app: image busybox, joins the pod's net, ipc, uts namespaces, cgroup /barepod/web/app",
    );
    expect(containerTitle(ctr({ name: 'seed', kind: 'init' }), [], '/barepod/web/seed')).toBe(
      "Init container seed: image busybox, joins none of the pod's namespaces, cgroup /barepod/web/seed; runs to completion before the next one starts",
    );
    expect(networkTitle(pod({ network: { kind: 'cni', name: 'barepod', ports: [] } }), '/run/x/netns', ['bridge', 'portmap', 'firewall'])).toBe(
      'Network: CNI ADD barepod (bridge → portmap → firewall) for netns /run/x/netns',
    );
    expect(networkTitle(pod(), '/n')).toMatch(/^Network: none/);
  });
});

describe('the narrator', () => {
  const capture = (colour = false) => {
    const out: string[] = [];
    return { n: new Narrator((t) => out.push(t), colour), text: () => out.join('') };
  };

  it('numbers steps and indents their lines under them, with a mark for programs, results and failures', () => {
    const { n, text } = capture();
    const a = n.open('Sandbox: start pause');
    n.line(a, 'wrote config.json');
    n.line(a, 'runc --root /r start web._pause', 'run');
    n.line(a, 'pid 42', 'result');
    n.close(a);
    const b = n.open('Network: none');
    n.close(b, new Error('boom'));
    expect(text()).toBe(
      [
        '1. Sandbox: start pause',
        '   wrote config.json',
        '   $ runc --root /r start web._pause',
        '   → pid 42',
        '2. Network: none',
        '   ✗ failed: boom',
        '',
      ].join('\n'),
    );
  });

  it('steps running in parallel are printed whole, in the order they began', () => {
    const { n, text } = capture();
    const app = n.open('Container app');
    const side = n.open('Container side');
    n.line(side, 'side 1');
    n.line(app, 'app 1');
    n.line(side, 'side 2');
    expect(text()).toBe('1. Container app\n   app 1\n');
    n.close(side);
    n.line(app, 'app 2');
    n.close(app);
    expect(text()).toBe(['1. Container app', '   app 1', '   app 2', '2. Container side', '   side 1', '   side 2', ''].join('\n'));
  });

  it('a line without a step goes under the latest one, or stands alone before the first; step 10 indents by one more', () => {
    const { n, text } = capture();
    n.line(undefined, 'before');
    for (let i = 1; i <= 10; i++) n.close(n.open(`s${i}`));
    n.line(undefined, 'late');
    expect(text().split('\n').slice(0, 2)).toEqual(['   before', '1. s1']);
    expect(text().endsWith('10. s10\n    late\n')).toBe(true);
  });

  it('colours only when told to (a terminal)', () => {
    const plain = capture(false);
    plain.n.open('x');
    expect(plain.text()).not.toContain('\x1b[');
    const tty = capture(true);
    tty.n.line(tty.n.open('x'), 'runc start', 'run');
    expect(tty.text()).toContain('\x1b[1m');
    expect(tty.text()).toContain('\x1b[36m$ runc start\x1b[0m');
  });
});

describe('the sink', () => {
  afterEach(() => disableExplain());

  it('off: explainStep is just the function, and nothing is written or even formatted', async () => {
    let formatted = false;
    const value = await explainStep(
      () => {
        formatted = true;
        return 'title';
      },
      async () => 7,
    );
    explain(() => {
      formatted = true;
      return 'line';
    });
    expect(value).toBe(7);
    expect(formatted).toBe(false);
  });

  it('on: parallel steps keep their own lines (AsyncLocalStorage), a nested step is a sub-heading, a failure is said and rethrown', async () => {
    const out: string[] = [];
    enableExplain((t) => out.push(t), false);
    const tick = () => new Promise((r) => setTimeout(r, 1));
    const launch = (name: string) =>
      explainStep(`Container ${name}`, async () => {
        explainRun(`mount ${name}`);
        await tick();
        explain(`config ${name}`);
        await tick();
        explainResult(`started ${name}`);
      });
    await Promise.all([launch('a'), launch('b')]);
    await explainStep('Outer', async () => {
      await explainStep('inner', async () => explain('in'));
    });
    await expect(explainStep('Bad', async () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(out.join('')).toBe(
      [
        '1. Container a',
        '   $ mount a',
        '   config a',
        '   → started a',
        '2. Container b',
        '   $ mount b',
        '   config b',
        '   → started b',
        '3. Outer',
        '   » inner',
        '   in',
        '4. Bad',
        '   ✗ failed: no',
        '',
      ].join('\n'),
    );
  });
});
