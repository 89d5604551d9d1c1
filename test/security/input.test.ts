/**
 * Standing attack suite, input class: names with `..`, YAML bombs and
 * oversized manifests, and what containers write to their logs. Each test is
 * judged on the host (a planted file that must not be read, a canary that must
 * not be deleted, a path that must not appear), not by barepod's word alone.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonLines, CLI, eventually, run, skipReason, useTestEnv } from '../helpers/harness.js';
import { podPaths } from '../../src/plan/paths.js';

/** Fingerprint of a file or directory tree: names, types, modes, sizes, mtimes and contents. */
function fingerprint(p: string): string {
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!st) return 'absent';
  const head = `${st.mode.toString(8)} ${st.size} ${st.mtimeMs}`;
  if (st.isDirectory())
    return `${head} {${fs
      .readdirSync(p)
      .sort()
      .map((n) => `${n}: ${fingerprint(path.join(p, n))}`)
      .join(', ')}}`;
  if (st.isFile()) return `${head} ${fs.readFileSync(p, 'base64')}`;
  return head;
}

describe.skipIf(skipReason)('security: pod and container names never leave the state root', () => {
  const t = useTestEnv();
  /** host paths outside every state root, made fresh per test */
  let outside: string;
  let planted: string;
  let canary: string;
  let absent: string;
  beforeEach(() => {
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-outside-'));
    // a pod directory with a record barepod would read (and act on) if a name could climb out
    planted = path.join(outside, 'planted');
    fs.mkdirSync(path.join(planted, 'containers', 'app'), { recursive: true });
    fs.writeFileSync(path.join(planted, 'pod.json'), JSON.stringify({ def: { name: 'planted' }, phase: 'Running', containers: [] }));
    fs.writeFileSync(path.join(planted, 'containers', 'app', 'ctr.log'), '2026-01-01T00:00:00.000000000Z stdout F planted secret\n');
    // a host file that a stale-lock takeover or a pod removal would delete
    canary = path.join(outside, 'canary');
    fs.writeFileSync(canary, 'must survive\n');
    const old = new Date(Date.now() - 3600_000);
    fs.utimesSync(canary, old, old);
    // a path nothing may create
    absent = path.join(outside, 'absent');
  });
  afterEach(() => fs.rmSync(outside, { recursive: true, force: true }));

  /** `name` as seen from the pods dir (and, the same depth, the locks dir): pods/<rel> is `target` */
  const podRel = (target: string) => path.relative(path.join(t.root, 'pods'), target);

  type Case = [string, (bad: string) => string[]];
  const podCommands: Case[] = [
    ['pod rm', (b) => ['pod', 'rm', b]],
    ['pod rm -f', (b) => ['pod', 'rm', '-f', b]],
    ['pod create', (b) => ['pod', 'create', b, '--network', 'none']],
    ['run --pod', (b) => ['run', '--pod', b, '--name', 'app', '--', 'true']],
    ['ps', (b) => ['ps', b]],
    ['inspect', (b) => ['inspect', b]],
    ['ns', (b) => ['ns', b]],
    ['cgroups', (b) => ['cgroups', b]],
    ['top', (b) => ['top', b]],
    ['stats', (b) => ['stats', b, '--interval', '100ms']],
    ['spec', (b) => ['spec', b]],
    ['stop', (b) => ['stop', b, 'app']],
    ['start', (b) => ['start', b, 'app']],
    ['rm', (b) => ['rm', '-f', b, 'app']],
    ['logs', (b) => ['logs', b]],
    ['logs -f', (b) => ['logs', '-f', b]],
    ['exec', (b) => ['exec', b, 'app', '--', 'true']],
    ['events', (b) => ['events', b]],
    ['generate systemd', (b) => ['generate', 'systemd', b, '--manifest-dir', path.join(t.root, 'manifests')]],
    ['export', (b) => ['export', b]],
    ['down', (b) => ['down', b]],
    ['wait', (b) => ['wait', b, '--for', 'delete', '--timeout', '1s']],
    ['_exited', (b) => ['_exited', b, 'app', '1']],
    ['_unhealthy', (b) => ['_unhealthy', b, 'app', '1', 'why']],
    ['_restart', (b) => ['_restart', b, 'app', 'x']],
  ];

  it.each(podCommands)(
    '%s: a pod name with .. is a usage error (exit 2) and nothing outside the state root is read, created or removed',
    async (_what, args) => {
      const before = { planted: fingerprint(planted), canary: fingerprint(canary) };
      for (const target of [planted, canary, absent]) {
        const r = await t.bp(args(podRel(target)));
        expect(r.code, `${args(podRel(target)).join(' ')}\n${r.stderr}${r.stdout}`).toBe(2);
        expect(r.stderr).toMatch(/invalid pod name "(\.\.\/)+.*": must be a DNS-1123 label/);
        expect(r.stdout).not.toContain('planted');
        expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
      }
      expect(fingerprint(planted)).toBe(before.planted);
      expect(fingerprint(canary)).toBe(before.canary);
      expect(fs.existsSync(absent)).toBe(false);
      expect(fs.readdirSync(outside).sort()).toEqual(['canary', 'planted']);
    },
  );

  const containerCommands: Case[] = [
    ['run --name', (b) => ['run', '--pod', 'ok', '--name', b, '--', 'true']],
    ['spec', (b) => ['spec', 'ok', b]],
    ['stop', (b) => ['stop', 'ok', b]],
    ['start', (b) => ['start', 'ok', b]],
    ['rm', (b) => ['rm', '-f', 'ok', b]],
    ['logs', (b) => ['logs', 'ok', b]],
    ['logs -c', (b) => ['logs', 'ok', '-c', b]],
    ['exec', (b) => ['exec', 'ok', b, '--', 'true']],
    ['_exited', (b) => ['_exited', 'ok', b, '1']],
    ['_restart', (b) => ['_restart', 'ok', b, 'x']],
    ['_unhealthy', (b) => ['_unhealthy', 'ok', b, '1', 'why']],
  ];

  it.each(containerCommands)('%s: a container name with .. is a usage error (exit 2) and the planted files stay untouched', async (_what, args) => {
    // an existing pod directory, so the container name is the only way out
    fs.mkdirSync(path.join(t.root, 'pods', 'ok', 'containers'), { recursive: true });
    const containersDir = path.join(t.root, 'pods', 'ok', 'containers');
    const before = { planted: fingerprint(planted), canary: fingerprint(canary) };
    for (const target of [path.join(planted, 'containers', 'app'), canary, absent]) {
      const bad = path.relative(containersDir, target);
      const r = await t.bp(args(bad));
      expect(r.code, `${args(bad).join(' ')}\n${r.stderr}${r.stdout}`).toBe(2);
      expect(r.stderr).toMatch(/invalid container name "(\.\.\/)+.*": must be a DNS-1123 label/);
      expect(r.stdout + r.stderr).not.toContain('planted secret');
    }
    expect(fingerprint(planted)).toBe(before.planted);
    expect(fingerprint(canary)).toBe(before.canary);
    expect(fs.existsSync(absent)).toBe(false);
    fs.rmSync(path.join(t.root, 'pods', 'ok'), { recursive: true, force: true });
  });
});

describe.skipIf(skipReason)('security: YAML bombs, deep nesting and oversized manifests are usage errors', () => {
  const t = useTestEnv();
  const pod = (extra: { meta?: string; spec?: string; containers?: string } = {}) =>
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${t.pod('y')}\n${extra.meta ?? ''}spec:\n${extra.spec ?? ''}  containers:\n${extra.containers ?? '    - {name: app, image: busybox, command: [sleep, "60"]}\n'}`;
  const write = (text: string) => {
    const file = path.join(t.root, 'pod.yaml');
    fs.writeFileSync(file, text);
    return file;
  };
  /** exit 2 with the message, no stack trace, and no pod made */
  const refused = async (args: string[], message: RegExp) => {
    const r = await t.bp(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
    expect(fs.existsSync(path.join(t.root, 'pods'))).toBe(false);
  };

  it('an alias bomb ("billion laughs") is refused with the line of its first alias', async () => {
    const lol = ['    a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++)
      lol.push(
        `    a${i}: &a${i} [${Array(9)
          .fill(`*a${i - 1}`)
          .join(',')}]`,
      );
    const text = pod({ meta: `  labels:\n${lol.join('\n')}\n` });
    const line = text.split('\n').findIndex((l) => l.includes('*a0')) + 1;
    for (const args of [
      ['up', '-f', write(text)],
      ['up', '--dry-run', '-f', write(text)],
      ['down', '-f', write(text)],
    ]) {
      await refused(args, new RegExp(`aliases expand too much .*alias bomb.* at line ${line}, column \\d+`));
    }
  });

  it('deep nesting is refused with its line and the limit', async () => {
    const text = pod({ spec: `  x: ${'['.repeat(200_000)}${']'.repeat(200_000)}\n` });
    await refused(['up', '-f', write(text)], /\(yaml\): nests deeper than 100 levels at line 6, column \d+/);
  });

  it('a 20 MB annotation is refused by size before it is parsed, from a file and from stdin', async () => {
    const text = pod({ meta: `  annotations:\n    a: "${'x'.repeat(20 * 1024 * 1024)}"\n` });
    await refused(['up', '-f', write(text)], /\(file\): is \d+ bytes: more than the limit of 3 MiB \(3145728 bytes\) for a manifest/);
    const file = write(text);
    for (const [shell, size] of [
      [`"${CLI}" up -f - < "${file}"`, String(Buffer.byteLength(text))],
      [`cat "${file}" | "${CLI}" up -f -`, 'at least \\d+'],
    ]) {
      const r = await run('sh', ['-c', shell!], t.env);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`\\(stdin\\): invalid manifest:\n\\s+\\(file\\): is ${size} bytes: more than the limit of 3 MiB`));
    }
  });

  it('annotations over 256 KiB and more than 100 containers are refused, naming the limit', async () => {
    await refused(
      ['up', '-f', write(pod({ meta: `  annotations:\n    a: "${'x'.repeat(300 * 1024)}"\n` }))],
      /metadata\.annotations: \d+ bytes in total \(keys and values\): more than the limit of 256 KiB/,
    );
    const many = Array.from({ length: 101 }, (_, i) => `    - {name: c${i}, image: busybox}\n`).join('');
    await refused(['up', '-f', write(pod({ containers: many }))], /spec\.containers: 101 containers and init containers: more than the limit of 100 in a pod/);
  });

  it('a hostAliases hostname or ip with a newline is refused, naming the field (no extra /etc/hosts line)', async () => {
    await refused(
      ['up', '-f', write(pod({ spec: '  hostAliases:\n    - ip: 10.0.0.1\n      hostnames: [ok, "db\\n6.6.6.6 bank.example"]\n' }))],
      /spec\.hostAliases\[0\]\.hostnames\[1\]: "db\\n6\.6\.6\.6 bank\.example" is not a host name/,
    );
    await refused(
      ['up', '-f', write(pod({ spec: '  hostAliases:\n    - ip: "10.0.0.1\\n6.6.6.6"\n      hostnames: [ok]\n' }))],
      /spec\.hostAliases\[0\]\.ip: "10\.0\.0\.1\\n6\.6\.6\.6" is not an IP address/,
    );
  });
});

describe.skipIf(skipReason)('security: logs show every byte a container writes, and a terminal is not taken over', () => {
  const t = useTestEnv();
  // CRLF, U+2028 and U+2029, control and invalid UTF-8 bytes, a title (OSC 0), a clipboard write (OSC 52),
  // screen clears (CSI 2J, CSI 3J, ESC c) and a colour (SGR), which a terminal keeps
  const printed = Buffer.concat([
    Buffer.from('a\r\nb\u2028c\u2029d\n'),
    Buffer.from([0x01, 0x00, 0xff, 0xfe, 0x20, 0x62, 0x69, 0x6e, 0x0a]),
    Buffer.from('\x1b]0;pwned\x07 title\n\x1b]52;c;cHduZWQ=\x07 clip\n\x1b[31mred\x1b[0m\n\x1b[2J\x1b[3J\x1bcend\n'),
  ]);
  const octal = [...printed].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');

  it('`logs` gives the exact bytes, `logs --json` every line, and a terminal gets them without the takeover sequences (`--raw` keeps them)', async () => {
    const pod = t.pod('bytes');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sh', '-c', `printf '${octal}'; printf 'e\\r\\n' >&2; exec sleep 3600`]);
    const raw = () => spawnSync(CLI, ['logs', pod, 'app'], { env: t.env, encoding: 'buffer' });
    const out = await eventually(() => {
      const r = raw();
      return r.stdout.includes(Buffer.from('end\n')) && r;
    });
    // a pipe: byte for byte what the container wrote
    expect(out.stdout.toString('hex')).toBe(printed.toString('hex'));
    expect(out.stderr.toString()).toBe('e\r\n');

    interface Line {
      stream: string;
      text: string;
      bytes?: string;
    }
    const json = jsonLines(await t.ok(['logs', pod, '--json'])) as Line[];
    expect(json.filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual([
      'a\r',
      'b\u2028c\u2029d',
      '\x01\x00\ufffd\ufffd bin',
      '\x1b]0;pwned\x07 title',
      '\x1b]52;c;cHduZWQ=\x07 clip',
      '\x1b[31mred\x1b[0m',
      '\x1b[2J\x1b[3J\x1bcend',
    ]);
    expect(json.filter((l) => l.stream === 'stderr').map((l) => l.text)).toEqual(['e\r']);
    // every line is there; the one that is not UTF-8 also comes as its exact bytes
    const bin = json.find((l) => l.text.endsWith(' bin'))!;
    expect(Buffer.from(bin.bytes!, 'base64')).toEqual(Buffer.from([0x01, 0x00, 0xff, 0xfe, 0x20, 0x62, 0x69, 0x6e]));
    expect(json.filter((l) => l.bytes !== undefined)).toEqual([bin]);

    // a terminal (script(1) gives one): no title, clipboard or clearing sequence reaches it; the colour does
    const tty = spawnSync('script', ['-qec', `${CLI} logs ${pod} app`, '/dev/null'], { env: t.env, encoding: 'buffer' }).stdout.toString('latin1');
    for (const takeover of ['\x1b]0;', '\x1b]52;', '\x1b[2J', '\x1b[3J', '\x1bc', '\x00', '\x01'])
      expect(tty.includes(takeover), JSON.stringify(takeover)).toBe(false);
    expect(tty).toContain('\x1b[31mred\x1b[0m');
    expect(tty).toContain('^[]0;pwned^G title');
    expect(tty).toContain('^[[2J^[[3J^[cend');
    // --raw on a terminal: as written
    const rawTty = spawnSync('script', ['-qec', `${CLI} logs --raw ${pod} app`, '/dev/null'], { env: t.env, encoding: 'buffer' }).stdout.toString('latin1');
    expect(rawTty).toContain('\x1b]0;pwned\x07 title');
    expect(rawTty).toContain('\x1b[2J\x1b[3J\x1bcend');

    // followed (-f reads the file as it grows, by byte offset): the same lines, to the end of a container that exits
    await t.ok(['run', '--pod', pod, '--name', 'job', '--', 'sh', '-c', `printf '${octal}'`]);
    const followed = JSON.parse(`[${(await t.ok(['logs', '-f', '--json', pod, 'job'])).trim().split('\n').join(',')}]`) as Line[];
    expect(followed.map((l) => l.text)).toEqual(json.filter((l) => l.stream === 'stdout').map((l) => l.text));
    expect(followed.find((l) => l.bytes)?.bytes).toBe(bin.bytes);
    await t.ok(['pod', 'rm', '-f', pod]);
  });
});

describe.skipIf(skipReason)("security: a container's environment never passes for a program a dead command left running", () => {
  const t = useTestEnv();

  it("gc taking over a dead holder's lock leaves alone a container whose env carries that holder's BAREPOD_CALLER mark", async () => {
    const pod = t.pod('mark');
    const dead = { pid: 4_194_000, startTime: '424242' }; // no such process: the lock's holder is dead
    await t.ok(['pod', 'create', pod]);
    // an image's ENV or a manifest's env can say anything: here the mark of the dead holder
    await t.ok(['run', '--pod', pod, '--name', 'app', '-e', `BAREPOD_CALLER=${dead.pid}:${dead.startTime}`, '--', 'sleep', '3600']);
    const view = JSON.parse(await t.ok(['inspect', pod, '--json'])) as { containers: { pid: number }[] };
    const pid = view.containers[0]!.pid;
    fs.symlinkSync(JSON.stringify(dead), podPaths(t.root, pod).lock);
    t.env.BAREPOD_TIMEOUT_ORPHANS = '1s';
    await t.ok(['gc']);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    expect(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3), `the container's sleep (pid ${pid}) lives`).not.toBe('Z');
    expect(fs.existsSync(podPaths(t.root, pod).lock), 'the stale lock was taken over and released').toBe(false);
    await t.ok(['pod', 'rm', pod]);
  });
});
