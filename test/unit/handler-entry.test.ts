/**
 * The small entry conmon's exit command and the backoff timer run
 * (dist/handler.mjs): which argv it handles itself, how barepod points the
 * exit command at it, and how Node's extra-CA load is kept off its start.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { handlerCall } from '../../src/cli/handler.js';
import { HANDLER_PRELUDE_SH, handlerArgv, selfArgv, SNAPSHOT_FITS_SH } from '../../src/runtime/self.js';
import { CORE_WORDS } from '../../src/cli/core-groups.js';
import { commandWord } from '../../src/cli/program.js';
import { Runc } from '../../src/runtime/runc.js';

describe('handlerCall', () => {
  it('takes exactly the argv barepod writes for _exited and _restart', () => {
    expect(handlerCall(['--root', '/run/bp', '_exited', 'web', 'app', 'abc123'])).toEqual({
      kind: '_exited',
      root: '/run/bp',
      pod: 'web',
      member: 'app',
      token: 'abc123',
    });
    expect(handlerCall(['--root', '/r', '_exited', 'web', '_pause', 'x'])?.member).toBe('_pause');
    expect(handlerCall(['--root', '/r', '_restart', 'web', 'app', 'tok'])?.kind).toBe('_restart');
  });

  it.each([
    ['no --root', ['_exited', 'web', 'app', 'x']],
    ['another command', ['--root', '/r', 'ps', 'a', 'b', 'c']],
    ['--explain (the chaos suite narrates the handler)', ['--root', '/r', '_exited', 'web', 'app', 'x', '--explain']],
    ['an invalid pod name', ['--root', '/r', '_exited', '../etc', 'app', 'x']],
    ['an invalid container name', ['--root', '/r', '_exited', 'web', 'A_B', 'x']],
    ['an option as the token', ['--root', '/r', '_exited', 'web', 'app', '--help']],
    ['an option as the root', ['--root', '--debug', '_exited', 'web', 'app', 'x']],
    ['_prober (not on the critical path)', ['--root', '/r', '_prober', 'web', 'app', 'x']],
  ])('leaves anything else to the whole CLI: %s', (_what, args) => {
    expect(handlerCall(args)).toBeUndefined();
  });
});

describe('handlerArgv', () => {
  const argv1 = process.argv[1];
  const saved = process.env.BAREPOD_SELF;
  let dir: string | undefined;
  afterEach(() => {
    process.argv[1] = argv1!;
    if (saved === undefined) delete process.env.BAREPOD_SELF;
    else process.env.BAREPOD_SELF = saved;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const bundle = (withHandler: boolean) => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-handler-'));
    fs.mkdirSync(path.join(dir, 'dist'));
    fs.writeFileSync(path.join(dir, 'dist', 'barepod.mjs'), '');
    if (withHandler) fs.writeFileSync(path.join(dir, 'dist', 'handler.mjs'), '');
    process.argv[1] = path.join(dir, 'dist', 'barepod.mjs');
    delete process.env.BAREPOD_SELF;
    return dir;
  };

  it('is this Node on dist/handler.mjs beside the running bundle', () => {
    const d = bundle(true);
    expect(handlerArgv()).toEqual([process.execPath, path.join(d, 'dist', 'handler.mjs')]);
  });
  it('falls back to how barepod runs itself when the build has no handler entry (an older dist/)', () => {
    const d = bundle(false);
    expect(handlerArgv()).toEqual(selfArgv());
    expect(handlerArgv()).toEqual([process.execPath, path.join(d, 'dist', 'barepod.mjs')]);
  });
  it('is BAREPOD_SELF when set', () => {
    bundle(true);
    process.env.BAREPOD_SELF = '/opt/bp/bin/barepod';
    expect(handlerArgv()).toEqual(['/opt/bp/bin/barepod']);
  });
});

describe('HANDLER_PRELUDE_SH', () => {
  const envAfter = (env: NodeJS.ProcessEnv) =>
    execFileSync('/bin/sh', ['-c', `${HANDLER_PRELUDE_SH}exec env`], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' })
      .split('\n')
      .filter((l) => /EXTRA_CA_CERTS=/.test(l))
      .sort();
  it('moves NODE_EXTRA_CA_CERTS aside as bin/barepod does (the handler puts it back for what it runs)', () => {
    expect(envAfter({ NODE_EXTRA_CA_CERTS: '/etc/my ca.pem' })).toEqual(['BAREPOD_EXTRA_CA_CERTS=/etc/my ca.pem']);
  });
  it('changes nothing without it', () => {
    expect(envAfter({})).toEqual([]);
    expect(envAfter({ BAREPOD_EXTRA_CA_CERTS: '/x' })).toEqual(['BAREPOD_EXTRA_CA_CERTS=/x']);
  });
});

describe('HANDLER_PRELUDE_SH: the startup snapshot, chosen when the handler runs', () => {
  let dir: string | undefined;
  // every dir a test made (a test may set up several), removed after it
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
    dir = undefined;
  });
  const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  /**
   * A stand-in "node" that prints the argv it got (and logs the launchers' try of the blob, `… --version`, which
   * exits TRY_EXIT), a handler.mjs beside a handler.blob; the argv the prelude execs.
   */
  const setup = (blob: 'same-mtime' | 'other-mtime' | 'none', mark?: string) => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-prelude-'));
    made.push(dir);
    const node = path.join(dir, 'node');
    fs.writeFileSync(
      node,
      `#!/bin/sh\ncase "$*" in *" --version") echo "$*" >> ${dir}/tries; exit \${TRY_EXIT:-0};; esac\nfor a in "$@"; do echo "$a"; done\n`,
      { mode: 0o755 },
    );
    fs.utimesSync(node, new Date('2026-03-24T10:00:00Z'), new Date('2026-03-24T10:00:00Z'));
    fs.writeFileSync(path.join(dir, 'handler.mjs'), '');
    if (blob !== 'none') {
      fs.writeFileSync(path.join(dir, 'handler.blob'), '');
      if (blob === 'same-mtime') execFileSync('touch', ['-r', node, path.join(dir, 'handler.blob')]);
    }
    if (mark !== undefined) fs.writeFileSync(path.join(dir, 'handler.blob.ok'), `${mark}\n`);
    return node;
  };
  const argvExeced = (env: NodeJS.ProcessEnv = {}, entry = 'handler.mjs') =>
    execFileSync(
      '/bin/sh',
      ['-c', `${HANDLER_PRELUDE_SH}exec "$@"`, 'marker', path.join(dir!, 'node'), path.join(dir!, entry), '--root', '/run/x y', '_exited', 'p', 'c', 'l1'],
      {
        env: { PATH: process.env.PATH, ...env },
        encoding: 'utf8',
      },
    )
      .trimEnd()
      .split('\n')
      .map((a) => a.replace(dir!, 'DIR'));
  const tries = () => (fs.existsSync(path.join(dir!, 'tries')) ? fs.readFileSync(path.join(dir!, 'tries'), 'utf8').trimEnd().split('\n').length : 0);
  const mark = () => fs.readFileSync(path.join(dir!, 'handler.blob.ok'), 'utf8');
  const plain = ['DIR/handler.mjs', '--root', '/run/x y', '_exited', 'p', 'c', 'l1'];
  const snap = ['--snapshot-blob', 'DIR/handler.blob', ...plain];

  it("starts Node from dist/handler.blob when it carries that Node's mtime and loaded in this boot", () => {
    setup('same-mtime', `ok ${boot}`);
    expect(argvExeced()).toEqual(snap);
    expect(tries()).toBe(0);
  });
  it('tries a blob once per boot: it loads, so it is used, and the answer is kept for the next calls', () => {
    setup('same-mtime', 'ok 00000000-another-boot');
    expect(argvExeced()).toEqual(snap);
    expect(mark()).toBe(`ok ${boot}\n`);
    expect(argvExeced()).toEqual(snap);
    expect(tries()).toBe(1);
  });
  it("runs the plain bundle when this machine's Node refuses the blob (built where V8 differs), and tries it no more this boot", () => {
    setup('same-mtime');
    expect(argvExeced({ TRY_EXIT: '14' })).toEqual(plain);
    expect(mark()).toBe(`no ${boot}\n`);
    expect(argvExeced()).toEqual(plain);
    expect(tries()).toBe(1);
  });
  it('runs the plain bundle when the blob was built by another Node, is missing, or BAREPOD_NO_SNAPSHOT is set', () => {
    setup('other-mtime', `ok ${boot}`);
    expect(argvExeced()).toEqual(plain);
    setup('none');
    expect(argvExeced()).toEqual(plain);
    setup('same-mtime', `ok ${boot}`);
    expect(argvExeced({ BAREPOD_NO_SNAPSHOT: '1' })).toEqual(plain);
    expect(tries()).toBe(0);
  });
  it('leaves any other argv (BAREPOD_SELF, the launcher) as it is', () => {
    setup('same-mtime', `ok ${boot}`);
    expect(argvExeced({}, 'barepod')).toEqual(['DIR/barepod', ...plain.slice(1)]);
  });
});

describe('bin/barepod', () => {
  it('asks the same bp_snapshot_fits as the handler prelude (SNAPSHOT_FITS_SH)', () => {
    const launcher = fs.readFileSync(path.resolve(import.meta.dirname, '../../bin/barepod'), 'utf8');
    expect(launcher).toContain(SNAPSHOT_FITS_SH.trimEnd());
    expect(launcher).toMatch(/if bp_snapshot_fits "\$node" "\$blob" "\$dist\/barepod\.mjs"; then\n\s+exec "\$node" --snapshot-blob "\$blob"/);
  });

  it('starts the everyday commands (CORE_WORDS) and --version from dist/core.blob, every other call from dist/barepod.blob', () => {
    // a checkout with both blobs fitting a stand-in "node" (first on PATH) that prints the argv it got
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-launcher-'));
    try {
      fs.mkdirSync(path.join(dir, 'bin'));
      fs.mkdirSync(path.join(dir, 'dist'));
      fs.mkdirSync(path.join(dir, 'path'));
      fs.copyFileSync(path.resolve(import.meta.dirname, '../../bin/barepod'), path.join(dir, 'bin', 'barepod'));
      const node = path.join(dir, 'path', 'node');
      fs.writeFileSync(node, '#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n', { mode: 0o755 });
      const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      for (const blob of ['barepod.blob', 'core.blob']) {
        fs.writeFileSync(path.join(dir, 'dist', blob), '');
        execFileSync('touch', ['-r', node, path.join(dir, 'dist', blob)]);
        fs.writeFileSync(path.join(dir, 'dist', `${blob}.ok`), `ok ${boot}\n`);
      }
      const blobFor = (args: string[]) => {
        const out = execFileSync('/bin/sh', [path.join(dir, 'bin', 'barepod'), ...args], {
          env: { PATH: `${path.join(dir, 'path')}:/usr/bin:/bin` },
          encoding: 'utf8',
        }).split('\n');
        expect(out.slice(2, 2 + args.length + 1)).toEqual([`${dir}/bin/../dist/barepod.mjs`, ...args]);
        return path.basename(out[1]!);
      };
      const cases: string[][] = [
        ...CORE_WORDS.map((w) => [w, 'x']),
        ['--version'],
        ['-V'],
        ['--root', '/r', 'ps'],
        ['--root=/r', '--debug', 'logs', 'p', 'c'],
        ['--root', 'ps', 'network'],
        ['network', 'ls'],
        ['up', '-f', 'ps'],
        ['help', 'ps'],
        ['--help'],
        ['ps2'],
        ['--debug'],
        [],
      ];
      for (const args of cases) {
        const word = commandWord(['node', 'barepod', ...args]);
        const core = (word !== undefined && CORE_WORDS.includes(word)) || args[0] === '--version' || args[0] === '-V';
        expect(blobFor(args), args.join(' ')).toBe(core ? 'core.blob' : 'barepod.blob');
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("Runc.initProcess: runc's state file read without a runc process", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const runcWith = (id: string, state: string | undefined) => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-runc-'));
    if (state !== undefined) {
      fs.mkdirSync(path.join(dir, id));
      fs.writeFileSync(path.join(dir, id, 'state.json'), state);
    }
    return new Runc('/usr/sbin/runc', dir);
  };
  it('is the init pid and its start time', () => {
    const r = runcWith('p.app', JSON.stringify({ id: 'p.app', init_process_pid: 4242, init_process_start: 987654, created: 'x' }));
    expect(r.initProcess('p.app')).toEqual({ pid: 4242, startTime: '987654' });
  });
  it.each([
    ['no state', undefined],
    ['torn JSON', '{"init_process_pid": 12'],
    ['no start time', JSON.stringify({ init_process_pid: 12 })],
    ['a pid that is not one', JSON.stringify({ init_process_pid: 0, init_process_start: 5 })],
    ['a start time as a string', JSON.stringify({ init_process_pid: 12, init_process_start: '5' })],
  ])('is undefined for %s (the caller then asks runc state)', (_what, state) => {
    expect(runcWith('p.app', state).initProcess('p.app')).toBeUndefined();
  });
});
