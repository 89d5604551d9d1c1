import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { buildProgram, main } from '../../src/cli/main.js';
import { fullName, nameKind } from '../../src/cli/name-args.js';
import { BarepodError } from '../../src/errors.js';
import { isValidName, SANDBOX_NAME, validateMemberName } from '../../src/names.js';
import { containerPaths, podPaths } from '../../src/plan/paths.js';
import { thrown } from '../helpers/thrown.js';

function commands(c: Command): Command[] {
  return [c, ...c.commands.flatMap(commands)];
}

/** Arguments and options that are not pod or container names, command by command. */
const NOT_NAMES: Record<string, string[]> = {
  'pod create': [
    'share',
    'hostname',
    'memory',
    'cpus',
    'pidsLimit',
    'restart',
    'backoff',
    'backoffMax',
    'backoffReset',
    'gracePeriod',
    'logSizeMax',
    'network',
    'publish',
    'addHost',
    'volume', // a pod volume's name: a DNS-1123 label checked by plan/mounts.ts, never a pod's or container's path
    'json',
    'explain',
  ],
  run: [
    'command',
    'image',
    'pull',
    'tlsVerify',
    'entrypoint',
    'rootfs',
    'env',
    'workdir',
    'user',
    'memory',
    'cpus',
    'pidsLimit',
    'pid',
    'securityOpt',
    'device',
    'capAdd',
    'capDrop',
    'privileged',
    'restart',
    'volume',
    'mount',
    'tmpfs',
    'readOnly',
    'hostname',
    'interactive',
    'tty',
    'detach',
    'detachKeys',
    'json',
    'explain',
  ],
  attach: ['detachKeys', 'stdin'],
  pull: ['source', 'tlsVerify', 'creds', 'arch', 'name', 'json'],
  rmi: ['image', 'json'],
  import: ['tarball', 'name', 'json', 'change'],
  'image inspect': ['image'],
  // the first word of container-and-command is a container in `exec POD CONTAINER -- CMD`: the action checks it once it knows
  exec: ['container-and-command', 'interactive', 'tty', 'env', 'workdir', 'user'],
  'pod ls': ['output'],
  ps: ['output'],
  'network inspect': ['name', 'json'],
  'lab run': ['lab', 'yes', 'prefix'],
  'lab check': ['lab', 'json', 'prefix'],
  help: ['command', 'roff'],
  // a named volume's name: a DNS-1123 label checked by pod/named-volumes.ts (volumePaths) before it names a path
  'volume inspect': ['names'],
  'volume rm': ['names'],
  // ConfigMap and Secret names are DNS-1123 subdomains, checked by config-store's validConfigName before they name a file
  'configmap inspect': ['names'],
  'configmap rm': ['names'],
  'secret inspect': ['names', 'showsecret'],
  'secret rm': ['names'],
  'secret create': ['name', 'fromLiteral', 'fromFile', 'type'],
  _exited: ['launch'],
  _restart: ['token'],
  '_job-deadline': ['token'],
  _unhealthy: ['launch', 'why'],
};
/** Flags every command may have that are never names. */
const COMMON = [
  'version',
  'root',
  'debug',
  'json',
  'raw',
  'explain',
  'time',
  'force',
  'watch',
  'interval',
  'follow',
  'tail',
  'since',
  'timestamps',
  'file',
  'dryRun',
  'replace',
  'lenient',
  'tlsVerify',
  'configmap',
  'wait',
  'timeout',
  'for',
  'manifestDir',
  'ignore',
  'volumes',
];

describe('every pod and container name on the command line is checked', () => {
  it('each argument and option of every command is either a checked name or known not to be one (a new one must be classified here)', () => {
    const unclassified: string[] = [];
    for (const cmd of commands(buildProgram())) {
      const known = new Set([...COMMON, ...(NOT_NAMES[fullName(cmd)] ?? [])]);
      for (const n of [...cmd.registeredArguments.map((a) => a.name()), ...cmd.options.map((o) => o.attributeName())]) {
        if (!nameKind(cmd, n) && !known.has(n)) unclassified.push(`${fullName(cmd) || 'barepod'}: ${n}`);
      }
    }
    expect(unclassified).toEqual([]);
  });

  it('classifies the pod and container arguments of the commands that name them differently', () => {
    const byName = new Map(commands(buildProgram()).map((c) => [fullName(c), c]));
    expect(nameKind(byName.get('pod create')!, 'name')).toBe('pod');
    expect(nameKind(byName.get('pod rm')!, 'names')).toBe('pod');
    expect(nameKind(byName.get('run')!, 'name')).toBe('container');
    expect(nameKind(byName.get('run')!, 'pod')).toBe('pod');
    expect(nameKind(byName.get('logs')!, 'container')).toBe('container');
    expect(nameKind(byName.get('_exited')!, 'member')).toBe('container');
    expect(nameKind(byName.get('import')!, 'name')).toBeUndefined();
    expect(nameKind(byName.get('network inspect')!, 'name')).toBeUndefined();
  });

  describe('main() refuses a name with .. before any command runs (exit 2, the rule in the message)', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-unit-names-'));
    afterEach(() => vi.restoreAllMocks());
    afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
    it.each([
      [['inspect', '../../etc'], 'pod'],
      [['pod', 'rm', '-f', 'ok', '../x'], 'pod'],
      [['down', 'a/b'], 'pod'],
      [['events', '..'], 'pod'],
      [['_unhealthy', '../x', 'app', '1', 'why'], 'pod'],
      [['_unhealthy', 'ok', '../x', '1', 'why'], 'container'],
      [['logs', 'ok', '-c', '../x'], 'container'],
      [['stop', 'ok', '../../x'], 'container'],
      [['_exited', 'ok', '../x', '1'], 'container'],
      [['run', '--pod', 'ok', '--name', '../x', '--', 'true'], 'container'],
      [['run', '--pod', '../ok', '--name', 'x', '--', 'true'], 'pod'],
    ])('%j', async (args, kind) => {
      let err = '';
      vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
      const code = await main(['node', 'barepod', '--root', root, ...args]);
      expect(code).toBe(2);
      expect(err).toMatch(new RegExp(`invalid ${kind} name ".*": must be a DNS-1123 label`));
      expect(fs.readdirSync(root)).toEqual([]);
    });
  });
});

describe('podPaths() and containerPaths(): the chokepoint from a name to a path', () => {
  it.each(['../x', '../../../tmp/x', 'a/b', '.', '..', '', 'A'])('podPaths refuses %j', (name) => {
    const e = thrown(() => podPaths('/run/barepod', name)) as BarepodError;
    expect(e).toBeInstanceOf(BarepodError);
    expect(e.code).toBe('invalid-name');
    expect(e.exitCode).toBe(2);
  });

  it.each(['../x', '../../../../tmp/x', 'a/b', '..', 'App'])('containerPaths refuses container %j (and a bad pod)', (name) => {
    expect((thrown(() => containerPaths('/run/barepod', 'web', name)) as BarepodError).code).toBe('invalid-name');
    expect((thrown(() => containerPaths('/run/barepod', name, 'app')) as BarepodError).code).toBe('invalid-name');
  });

  it('valid names and the sandbox stay under the state root', () => {
    expect(podPaths('/run/barepod', 'web').dir).toBe('/run/barepod/pods/web');
    expect(containerPaths('/run/barepod', 'web', 'app').bundle).toBe('/run/barepod/pods/web/containers/app');
    expect(containerPaths('/run/barepod', 'web', SANDBOX_NAME).bundle).toBe('/run/barepod/pods/web/containers/_pause');
    expect(thrown(() => podPaths('/run/barepod', SANDBOX_NAME))).toBeInstanceOf(BarepodError);
  });

  it("a pod's paths are made once per state root and pod (ps and gc ask for them several times a pod), frozen; a bad name is refused every time", () => {
    const first = podPaths('/tmp/bp-paths', 'web');
    expect(podPaths('/tmp/bp-paths', 'web')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(podPaths('/tmp/bp-paths-2', 'web').dir).toBe('/tmp/bp-paths-2/pods/web');
    expect(podPaths('/tmp/bp-paths', 'web-2').lock).toBe('/tmp/bp-paths/locks/web-2');
    for (let i = 0; i < 2; i++) expect((thrown(() => podPaths('/tmp/bp-paths', '../web')) as BarepodError).code).toBe('invalid-name');
  });

  it('isValidName and validateMemberName', () => {
    expect(isValidName('web-1')).toBe(true);
    expect(isValidName('..')).toBe(false);
    expect(isValidName('x'.repeat(64))).toBe(false);
    expect(validateMemberName(SANDBOX_NAME)).toBe(SANDBOX_NAME);
    expect((thrown(() => validateMemberName('../x')) as BarepodError).message).toMatch(/invalid container name "\.\.\/x"/);
  });
});
