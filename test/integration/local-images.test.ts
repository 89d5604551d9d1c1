/**
 * Local images (issue 15 §4), as root, against real runc and a real local
 * registry: an image made by `import` or `pull --name` is used by `up` and
 * `run` without a pull (a `localhost/…` name is never pulled; a reference
 * the store has is used with IfNotPresent), `:latest` still means Always
 * for a registry name, and a failed pull of an image the store has says how
 * to use it. `import --change` sets the image config a container starts from.
 *
 * Whether a pull happened is told by skopeo itself: BAREPOD_SKOPEO points at
 * a wrapper that logs every call, then runs the real skopeo or (standing in
 * for a host with no registry reachable) fails as skopeo does offline.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execaSync } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually, pidOf, readInContainer, skipReason, useTestEnv } from '../helpers/harness.js';
import { freePort, startRegistry, tarBuffer, tarDir, writeOciLayout, type Registry } from '../helpers/image-fixtures.js';

const BUSYBOX = '/var/lib/barepod/builtin/busybox/rootfs';
const status = (pid: number, field: string) => new RegExp(`^${field}:\\s*(\\S+)`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
const environ = (pid: number) => fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
const SKOPEO = execaSync('sh', ['-c', 'command -v skopeo']).stdout.trim();

describe.skipIf(skipReason)('local images', () => {
  const t = useTestEnv();
  let dir = '';
  let registry: Registry | undefined;
  /** skopeo's calls, one line each (its arguments), as the wrapper logged them */
  const skopeoCalls = () =>
    fs.existsSync(path.join(dir, 'skopeo.log')) ? fs.readFileSync(path.join(dir, 'skopeo.log'), 'utf8').split('\n').filter(Boolean) : [];
  /** env for a CLI call whose skopeo is logged, then run for real (`real`) or failing as with no network */
  const skopeoEnv = (mode: 'real' | 'offline') => ({ BAREPOD_SKOPEO: path.join(dir, `skopeo-${mode}`) });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-it-local-'));
    const log = path.join(dir, 'skopeo.log');
    fs.writeFileSync(path.join(dir, 'skopeo-real'), `#!/bin/sh\necho "$*" >> '${log}'\nexec '${SKOPEO}' "$@"\n`, { mode: 0o755 });
    fs.writeFileSync(
      path.join(dir, 'skopeo-offline'),
      `#!/bin/sh\necho "$*" >> '${log}'\necho 'time="2026-01-01T00:00:00Z" level=fatal msg="initializing source: pinging container registry: Get \\"https://registry.example/v2/\\": dial tcp: lookup registry.example: no such host"' >&2\nexit 1\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(dir, 'rootfs.tar'), tarDir(BUSYBOX));
  });
  afterEach(async () => {
    await registry?.stop();
    registry = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const manifest = (pod: string, containers: string) =>
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${pod}\nspec:\n  restartPolicy: Never\n  containers:\n${containers}`;
  const container = (name: string, image: string, extra = '') => `  - name: ${name}\n    image: ${image}\n${extra}`;

  it('up -f runs images made by import and pull --name with no registry reachable: localhost/ names and stored references are never pulled', async () => {
    const imported = await t.ok(['import', path.join(dir, 'rootfs.tar'), 'loc', '--change', `CMD echo loc > /tmp/who; exec sleep 3600`]);
    expect(imported).toMatch(/^imported localhost\/loc:latest sha256:[0-9a-f]{64} \(1 layer, /);
    await t.ok(['import', path.join(dir, 'rootfs.tar'), 'loc:1', '--change', `CMD echo loc1 > /tmp/who; exec sleep 3600`]);
    writeOciLayout(path.join(dir, 'layout'), 'v1', { layers: [tarDir(BUSYBOX)], config: { Cmd: ['sh', '-c', 'echo pulled > /tmp/who; exec sleep 3600'] } });
    await t.ok(['pull', `oci:${path.join(dir, 'layout')}:v1`, '--name', 'pulled']); // localhost/pulled:latest
    expect(skopeoCalls()).toEqual([]); // (the oci: pull above used the real skopeo, not the logging one)

    const pod = t.pod('local');
    const file = path.join(dir, 'pod.yaml');
    fs.writeFileSync(
      file,
      manifest(
        pod,
        [
          container('latest', 'localhost/loc'), // no tag: Always by Kubernetes' default, but a localhost/ name is never pulled
          container('tagged', 'loc:1'), // IfNotPresent: the store has localhost/loc:1
          container('always', 'localhost/pulled:latest', '    imagePullPolicy: Always\n'), // even an explicit Always
        ].join(''),
      ),
    );
    const [plan] = JSON.parse(await t.ok(['up', '-f', file, '--dry-run', '--json'], skopeoEnv('offline'))) as { steps: string[] }[];
    expect(plan!.steps.slice(0, 3)).toEqual([
      expect.stringMatching(/^Image localhost\/loc: in the store .*; a localhost\/ name: a local image, never pulled$/),
      expect.stringMatching(/^Image loc:1: in the store .*; pull policy missing: no pull$/),
      expect.stringMatching(/^Image localhost\/pulled:latest: in the store .*; a localhost\/ name: a local image, never pulled$/),
    ]);
    await t.ok(['up', '-f', file], skopeoEnv('offline'));
    expect(skopeoCalls()).toEqual([]);
    for (const [c, who] of [
      ['latest', 'loc'],
      ['tagged', 'loc1'],
      ['always', 'pulled'],
    ] as const) {
      const pid = await pidOf(t, pod, c);
      expect(await eventually(() => readInContainer(pid, '/tmp/who'))).toBe(`${who}\n`);
    }

    // run follows the same rule, even with --pull always
    await t.ok(['run', '--pod', pod, '--name', 'run', '--image', 'localhost/loc', '--pull', 'always'], skopeoEnv('offline'));
    expect(await eventually(async () => readInContainer(await pidOf(t, pod, 'run'), '/tmp/who'))).toBe('loc\n');
    expect(skopeoCalls()).toEqual([]);
    await t.ok(['down', '-f', file]);

    // a localhost/ name the store lacks: not found, never pulled, nothing made
    const absent = t.pod('absent');
    fs.writeFileSync(file, manifest(absent, container('app', 'localhost/absent:1')));
    const missing = await t.bp(['up', '-f', file], skopeoEnv('offline'));
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/image localhost\/absent:1 is not in the image store/);
    expect(missing.stderr).toMatch(/hint: localhost\/absent:1 is a local name \(localhost\/\), never pulled: make it with barepod import/);
    expect(skopeoCalls()).toEqual([]);
    expect(fs.existsSync(path.join(t.root, 'pods', absent))).toBe(false);
  });

  it(':latest (or no tag) still pulls a registry name, as in Kubernetes, though the store has it', async () => {
    registry = await startRegistry(path.join(dir, 'registry'));
    const ref = `${registry.host}/test/lat`;
    const push = (which: string) => {
      const layout = path.join(dir, `lat-${which}`);
      writeOciLayout(layout, 'latest', {
        layers: [tarDir(BUSYBOX), tarBuffer([{ path: 'which', data: which }])],
        config: { Cmd: ['sh', '-c', 'exec sleep 3600'] },
      });
      execaSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${ref}:latest`], { stdin: 'ignore' });
    };
    push('first');
    await t.ok(['pull', ref, '--tls-verify=false']);
    push('second'); // the registry's :latest moves on
    const pod = t.pod('latest');
    const file = path.join(dir, 'pod.yaml');
    fs.writeFileSync(file, manifest(pod, container('app', ref)));
    await t.ok(['up', '-f', file, '--tls-verify=false'], skopeoEnv('real'));
    expect(skopeoCalls()).toEqual([expect.stringContaining(`docker://${ref}:latest`)]);
    const pid = await pidOf(t, pod, 'app');
    expect(await eventually(() => readInContainer(pid, '/which'))).toBe('second');
    await t.ok(['down', '-f', file]);
  });

  it('a failed Always pull of an image the store has says how to use it: imagePullPolicy IfNotPresent/Never or a localhost/ name', async () => {
    // a registry name stored by pull --name, its registry gone
    const port = await freePort();
    const gone = `127.0.0.1:${port}/test/gone`;
    writeOciLayout(path.join(dir, 'layout'), 'v1', { layers: [tarDir(BUSYBOX)], config: { Cmd: ['sh', '-c', 'echo gone > /tmp/who; exec sleep 3600'] } });
    await t.ok(['pull', `oci:${path.join(dir, 'layout')}:v1`, '--name', gone]);
    const pod = t.pod('hint');
    const file = path.join(dir, 'pod.yaml');
    fs.writeFileSync(file, manifest(pod, container('app', gone)));
    const failed = await t.bp(['up', '-f', file, '--tls-verify=false'], skopeoEnv('real'));
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(new RegExp(`pod "${pod}", containers "app": registry 127\\.0\\.0\\.1:${port} is unreachable`));
    expect(failed.stderr).toMatch(
      new RegExp(
        `hint: the image store has 127\\.0\\.0\\.1:${port}/test/gone:latest: to use it without a pull, set imagePullPolicy: IfNotPresent \\(or Never\\) on the container; an image with :latest or no tag is pulled Always by default`,
      ),
    );
    expect(skopeoCalls()).toHaveLength(1);
    expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(false);
    // run --pull always: the same, in run's words
    const runPod = t.pod('hintrun');
    await t.ok(['pod', 'create', runPod, '--network', 'none']);
    const runFailed = await t.bp(['run', '--pod', runPod, '--name', 'app', '--image', gone, '--pull', 'always', '--tls-verify=false'], skopeoEnv('real'));
    expect(runFailed.code).toBe(1);
    expect(runFailed.stderr).toMatch(/hint: the image store has .*: to use it without a pull, run with --pull missing \(the default\) or --pull never/);
    await t.ok(['pod', 'rm', '-f', runPod]);
    // the hint's way works, with no pull
    fs.writeFileSync(file, manifest(pod, container('app', gone, '    imagePullPolicy: IfNotPresent\n')));
    await t.ok(['up', '-f', file], skopeoEnv('offline'));
    expect(skopeoCalls()).toHaveLength(2); // the run above; up made none
    expect(await eventually(async () => readInContainer(await pidOf(t, pod, 'app'), '/tmp/who'))).toBe('gone\n');
    await t.ok(['down', '-f', file]);

    // a short name: Docker Hub's (Always: pulled, here failing as with no network), the local one named in the hint
    await t.ok(['import', path.join(dir, 'rootfs.tar'), 'mine']);
    fs.writeFileSync(file, manifest(pod, container('app', 'mine')));
    const hub = await t.bp(['up', '-f', file], skopeoEnv('offline'));
    expect(hub.code).toBe(1);
    expect(skopeoCalls()[2]).toContain('docker://docker.io/library/mine:latest');
    expect(hub.stderr).toMatch(
      /hint: the image store has localhost\/mine:latest: to use it without a pull, set imagePullPolicy: IfNotPresent \(or Never\) on the container, or name it localhost\/mine:latest \(a localhost\/ name is never pulled\)/,
    );
    expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(false);
  });

  it('import --change: the CMD runs by default, ENV is in the environment, WORKDIR the cwd, USER the uid; image inspect shows them', async () => {
    const out = await t.ok([
      'import',
      path.join(dir, 'rootfs.tar'),
      'chg:1',
      '--change',
      'ENTRYPOINT ["/bin/sh", "-c"]',
      '--change',
      'CMD ["pwd > /tmp/pwd; exec sleep 3600"]',
      '-c',
      'ENV GREETING="hello there" MODE=test',
      '-c',
      'env PATH /bin:/usr/bin',
      '-c',
      'WORKDIR /',
      '-c',
      'WORKDIR tmp',
      '-c',
      'USER 1234:2345',
    ]);
    expect(out).toMatch(/\(1 layer, /);
    const pod = t.pod('chg');
    const file = path.join(dir, 'pod.yaml');
    fs.writeFileSync(file, manifest(pod, container('app', 'chg:1')));
    await t.ok(['up', '-f', file]);
    const pid = await pidOf(t, pod, 'app');
    expect(await eventually(() => readInContainer(pid, '/tmp/pwd'))).toBe('/tmp\n');
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toEqual(['sleep', '3600', '']); // the CMD's exec
    expect(environ(pid)).toEqual(expect.arrayContaining(['GREETING=hello there', 'MODE=test', 'PATH=/bin:/usr/bin']));
    expect(fs.readlinkSync(`/proc/${pid}/cwd`)).toMatch(/\/tmp$/);
    expect([status(pid, 'Uid'), status(pid, 'Gid')]).toEqual(['1234', '2345']);

    // the shell form runs under /bin/sh -c, with the image's ENV
    await t.ok(['import', path.join(dir, 'rootfs.tar'), 'shell:1', '-c', 'ENV WHO=shell-form', '-c', 'CMD echo "$WHO $0" > /tmp/out; exec sleep 3600']);
    await t.ok(['run', '--pod', pod, '--name', 'sh', '--image', 'shell:1']);
    expect(await eventually(async () => readInContainer(await pidOf(t, pod, 'sh'), '/tmp/out'))).toBe('shell-form /bin/sh\n');
    await t.ok(['down', '-f', file]);

    const [view] = JSON.parse(await t.ok(['image', 'inspect', 'chg:1', '--json'])) as { name: string; layers: unknown[]; config: Record<string, unknown> }[];
    expect(view!.name).toBe('localhost/chg:1');
    expect(view!.layers).toHaveLength(1);
    expect(view!.config).toEqual({
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['pwd > /tmp/pwd; exec sleep 3600'],
      Env: ['GREETING=hello there', 'MODE=test', 'PATH=/bin:/usr/bin'],
      WorkingDir: '/tmp',
      User: '1234:2345',
    });
    const text = await t.ok(['image', 'inspect', 'shell:1']);
    expect(text).toMatch(/^Cmd: +\["\/bin\/sh","-c","echo \\"\$WHO \$0\\" > \/tmp\/out; exec sleep 3600"\]$/m);
    expect(text).toMatch(/^Env: +WHO=shell-form$/m);

    // a bad instruction: named, nothing stored
    const before = fs.readFileSync(path.join(t.root, 'images', 'index.json'), 'utf8');
    const bad = await t.bp(['import', path.join(dir, 'rootfs.tar'), 'bad:1', '-c', 'CMD ["ok"]', '-c', 'CMD [nginx]']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/error: --change "CMD \[nginx\]": CMD's exec form is not valid JSON/);
    expect(bad.stderr).toMatch(/hint: write it as CMD \["nginx", "-g", "daemon off;"\]/);
    const unsupported = await t.bp(['import', path.join(dir, 'rootfs.tar'), 'bad:1', '-c', 'EXPOSE 80']);
    expect(unsupported.code).toBe(2);
    expect(unsupported.stderr).toMatch(/EXPOSE is not supported by import --change/);
    expect(fs.readFileSync(path.join(t.root, 'images', 'index.json'), 'utf8')).toBe(before);
  });
});
