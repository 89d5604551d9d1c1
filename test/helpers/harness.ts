/**
 * Integration-test harness: every test gets its own state root and pod-name
 * prefix, runs the real CLI against real runc/conmon, and proves afterwards
 * that it left nothing on the host (runc containers, cgroups, mounts,
 * processes, state).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, execaSync } from 'execa';
import { afterEach, beforeEach, expect, test as baseTest } from 'vitest';
import { firewallAddress, parseIptablesSave, ruleOwner, type SavedTable } from '../../src/plan/iptables-save.js';
import { chainNames, cniContainerId, cniIdPrefix } from '../../src/plan/network.js';
import { cgroupRootFor } from '../../src/plan/paths.js';
import { detectCgroupVersion, RESOURCE_FILES } from '../../src/runtime/cgroupfs.js';
import { checkJsonOutput, wantsJson } from './schemas.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(REPO, 'bin', 'barepod');
export const isRoot = process.getuid?.() === 0;
/** Why integration tests are skipped here, or '' when they can run. */
export const skipReason = !isRoot
  ? 'integration tests need root (run: sudo npm test)'
  : !fs.existsSync(path.join(REPO, 'dist', 'barepod.mjs'))
    ? 'barepod is not built (run: npm run build)'
    : '';
if (skipReason) console.warn(`skipping integration tests: ${skipReason}`);

/**
 * This host's cgroup version, as barepod (and runc) decide it: 2 when
 * /sys/fs/cgroup is cgroup2 (a unified host, or a private mount namespace
 * with cgroup2 mounted there), else 1. Tests derive what they expect from it.
 */
export const cgroupVersion: 1 | 2 = detectCgroupVersion();

/** A file of a cgroup path (relative to the hierarchy's root) in the hierarchy of `controller`, read where this host keeps it (v1 `/sys/fs/cgroup/<controller>/<rel>/<file>`, v2 `/sys/fs/cgroup/<rel>/<file>`). */
export function cgroupRead(rel: string, controller: string, file: string): string {
  const dir = cgroupVersion === 2 ? path.join('/sys/fs/cgroup', rel) : path.join('/sys/fs/cgroup', controller, rel);
  return fs.readFileSync(path.join(dir, file), 'utf8').trim();
}

/**
 * A limit file of a cgroup path (relative to the hierarchy's root), the file
 * name per version from barepod's own table (memoryLimit:
 * memory.limit_in_bytes or memory.max).
 */
export function cgroupLimit(rel: string, what: keyof (typeof RESOURCE_FILES)[1]): string {
  const { controller, file } = RESOURCE_FILES[cgroupVersion][what];
  return cgroupRead(rel, controller, file);
}

/** Writes a manifest of one pod (`body` is its spec, indented; `meta` more lines of its metadata) into the test's root; returns its path. */
export function podManifest(t: TestEnv, name: string, body: string, meta = ''): string {
  const file = path.join(t.root, `${name}.yaml`);
  fs.mkdirSync(t.root, { recursive: true });
  fs.writeFileSync(file, `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n${meta}spec:\n${body}`);
  return file;
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** One CLI call a test made through its env's bp/ok: the transcript printed when the test fails. */
export interface CliCall {
  argv: string[];
  /** the variables the call added to the test's env (names only: values may be long) */
  extraEnv: string[];
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestEnv {
  root: string;
  prefix: string;
  /** the top cgroup dir of this test's state root (`barepod-<hash>`): its pods live at /<cgroupRoot>/<pod> */
  cgroupRoot: string;
  env: NodeJS.ProcessEnv;
  /** a pod name unique to this test */
  pod(name: string): string;
  /** runs the CLI with this test's state root */
  bp(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<Result>;
  /** like bp, but throws with the output when the exit code is not 0 */
  ok(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<string>;
  /** every CLI call made through bp/ok so far, in order */
  calls: CliCall[];
  /** what this test left on the host; empty when clean */
  leaks(): string[];
  /** removes whatever is left (best effort) and the state root */
  cleanup(): Promise<void>;
}

/**
 * The end of a test's env: the leak check, then a best-effort cleanup (so a
 * failing test still leaves the host clean), then the assertion that
 * nothing had leaked.
 */
async function finishEnv(t: TestEnv): Promise<void> {
  // an exit handler conmon started may still be finishing (it exits on its own once it has the pod's lock): allow it a moment
  let leaks = t.leaks();
  for (let i = 0; i < 30 && leaks.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    leaks = t.leaks();
  }
  await t.cleanup();
  expect(leaks, 'the test left these on the host').toEqual([]);
}

const TAIL_LINES = 15;

/** The last lines of a program's output, indented under its call. */
function tail(label: string, text: string): string {
  if (!text.trim()) return '';
  const lines = text.replace(/\n$/, '').split('\n');
  const cut = lines.length > TAIL_LINES ? [`… ${lines.length - TAIL_LINES} lines before`, ...lines.slice(-TAIL_LINES)] : lines;
  return `    ${label}:\n${cut.map((l) => `      ${l}`).join('\n')}\n`;
}

const quoteArg = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/** Every CLI call of a test as a readable transcript: argv, exit code, the tails of stderr and stdout. */
export function transcript(calls: readonly CliCall[]): string {
  if (calls.length === 0) return 'no barepod calls';
  return calls
    .map((c, i) => {
      const env = c.extraEnv.length ? `${c.extraEnv.map((k) => `${k}=…`).join(' ')} ` : '';
      return `[${i + 1}] $ ${env}barepod ${c.argv.map(quoteArg).join(' ')}  → exit ${c.code}\n${tail('stderr', c.stderr)}${tail('stdout', c.stdout)}`;
    })
    .join('');
}

function printTranscript(t: TestEnv): void {
  console.error(`barepod calls of this failed test (state root ${t.root}):\n${transcript(t.calls)}`);
}

/**
 * Registers a fresh TestEnv before each test of the enclosing describe and,
 * after it, the leak check (asserted) and a best-effort cleanup (so a
 * failing test still leaves the host clean); a failing test prints the
 * transcript of its CLI calls. The returned object always stands for the
 * current test's env. New tests use the `test` below and its `t` fixture.
 */
export function useTestEnv(): TestEnv {
  let current: TestEnv | undefined;
  beforeEach(({ onTestFailed }) => {
    const t = newEnv();
    current = t;
    onTestFailed(() => printTranscript(t));
  });
  afterEach(async () => {
    await finishEnv(current!);
  });
  return new Proxy({} as TestEnv, {
    get: (_target, key) => {
      if (!current) throw new Error('useTestEnv: used outside a test');
      return current[key as keyof TestEnv];
    },
  });
}

/**
 * vitest's `test` with a `t` fixture: a fresh TestEnv (own state root, image
 * store and pod-name prefix) made for each test that asks for it, the leak
 * check (asserted) and cleanup after it, and the transcript of every CLI
 * call printed when the test fails.
 *
 *     test('…', async ({ t }) => { await t.ok(['pod', 'create', t.pod('a')]); });
 */
export const test = baseTest.extend<{ t: TestEnv }>({
  t: async ({ onTestFailed, onTestFinished }, use) => {
    const t = newEnv();
    // the leak check as the test's first-registered finish hook: it runs after any the test adds itself (they run in
    // reverse), and a leak is reported once (a throw in a fixture's own teardown is reported twice by vitest 4.1)
    onTestFinished(() => finishEnv(t));
    onTestFailed(() => printTranscript(t));
    await use(t);
  },
});
export const it = test;

/**
 * A copy of the built CLI that any local user can run, for the tests that run
 * barepod as another user: a checkout in a 0700 home (`/root/barepod`) is out
 * of reach of `nobody`. The copy is the launcher and the bundle (entry, its
 * chunks and the start-up snapshot), which is all the CLI loads; the returned
 * function removes it.
 */
export function cliForAnyUser(): { cli: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-cli-'));
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'bin'), { mode: 0o755 });
  fs.copyFileSync(CLI, path.join(dir, 'bin', 'barepod'));
  fs.chmodSync(path.join(dir, 'bin', 'barepod'), 0o755);
  fs.mkdirSync(path.join(dir, 'dist'), { mode: 0o755 });
  fs.copyFileSync(path.join(REPO, 'dist', 'barepod.mjs'), path.join(dir, 'dist', 'barepod.mjs'));
  fs.cpSync(path.join(REPO, 'dist', 'chunks'), path.join(dir, 'dist', 'chunks'), { recursive: true });
  // the start-up snapshots, with their mtime (bin/barepod uses one only while it carries that of the Node on PATH)
  for (const name of ['barepod.blob', 'core.blob']) {
    const blob = path.join(REPO, 'dist', name);
    if (fs.existsSync(blob)) fs.cpSync(blob, path.join(dir, 'dist', name), { preserveTimestamps: true });
    if (fs.existsSync(`${blob}.ok`)) fs.cpSync(`${blob}.ok`, path.join(dir, 'dist', `${name}.ok`));
  }
  for (const f of fs.readdirSync(path.join(dir, 'dist'), { recursive: true, withFileTypes: true })) {
    fs.chmodSync(path.join(f.parentPath, f.name), f.isDirectory() ? 0o755 : 0o644);
  }
  return { cli: path.join(dir, 'bin', 'barepod'), remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Runs a program and collects its output without throwing (execa, `reject:
 * false`): exactly `env` (not merged into the runner's), output as written
 * (final newline kept); a program that could not start or was killed by a
 * signal counts as exit 1.
 */
export async function run(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Result> {
  const r = await execa(file, args, { env: env ?? process.env, extendEnv: false, reject: false, stripFinalNewline: false, stdin: 'ignore' });
  return { code: typeof r.exitCode === 'number' ? r.exitCode : 1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a program to its end, synchronously, ignoring how it ended (cleanup's runc and umount). */
const runSync = (file: string, args: string[]) => execaSync(file, args, { reject: false, stdin: 'ignore' });

/** A fresh state root and name prefix for one test. */
export function newEnv(): TestEnv {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-it-'));
  const prefix = `it${Math.random().toString(36).slice(2, 8)}`;
  // each test has its own image store (inside its state root, removed with it): tests never touch /var/lib/barepod/images
  const env: NodeJS.ProcessEnv = { ...process.env, BAREPOD_ROOT: root, BAREPOD_IMAGES: path.join(root, 'images') };
  delete env.BAREPOD_DEBUG;
  const calls: CliCall[] = [];
  const bp = async (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const r = await run(CLI, args, { ...env, ...extraEnv });
    calls.push({ argv: [...args], extraEnv: Object.keys(extraEnv), ...r });
    // every --json output of every test is checked against its command's schema (docs/schemas)
    const wrong = wantsJson(args) ? checkJsonOutput(args, r) : undefined;
    if (wrong) throw new Error(`barepod ${args.join(' ')} (exit ${r.code}): its JSON does not match its schema: ${wrong}`);
    return r;
  };
  // cleanup's own calls stay out of the transcript (it runs before a failed test's transcript is printed)
  const quiet = (args: string[]) => run(CLI, args, env);
  const pods = new Set<string>();
  const cgroupRoot = cgroupRootOf(root);
  const t: TestEnv = {
    root,
    prefix,
    cgroupRoot,
    env,
    pod: (name) => {
      pods.add(`${prefix}-${name}`);
      return `${prefix}-${name}`;
    },
    bp,
    calls,
    async ok(args, extraEnv) {
      const r = await bp(args, extraEnv);
      if (r.code !== 0) throw new Error(`barepod ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    leaks: () => leaksOf(root, prefix, [...pods], cgroupRoot),
    async cleanup() {
      const pods = path.join(root, 'pods');
      for (const p of fs.existsSync(pods) ? fs.readdirSync(pods) : []) await quiet(['pod', 'rm', '-f', p]);
      // network leftovers of this root (reservations, rules, veths) go through barepod's own gc sweep
      await quiet(['gc']);
      // anything still left after barepod's own cleanup: remove by hand so the host stays clean
      const runcRoot = path.join(root, 'runc');
      if (fs.existsSync(runcRoot)) {
        for (const id of listRunc(runcRoot)) {
          runSync('runc', ['--root', runcRoot, 'kill', id, 'KILL']);
          runSync('runc', ['--root', runcRoot, 'delete', '-f', id]);
        }
      }
      for (const m of mountsUnder(root)) runSync('umount', ['-l', m]);
      for (const d of cgroupDirs(prefix)) removeCgroupTree(d);
      for (const d of cgroupTops(cgroupRoot)) removeCgroupTree(d);
      // what this root stored in the data dir (ownDataDir: <dataDir>/<kind>/<cgroup root>): its ConfigMaps and Secrets
      for (const kind of ['configmaps', 'secrets'])
        fs.rmSync(path.join(env.BAREPOD_DATA ?? '/var/lib/barepod', kind, cgroupRoot), { recursive: true, force: true });
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  return t;
}

function listRunc(runcRoot: string): string[] {
  const r = runSync('runc', ['--root', runcRoot, 'list', '-q']);
  return r.exitCode === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

/** Mount points at or below a directory, from this mount namespace's mountinfo. */
export function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
}

/** The cgroup top dir barepod uses for a state root (`barepod-<hash of its real path>`; `barepod` for /run/barepod). */
export const cgroupRootOf = (root: string): string => cgroupRootFor(fs.realpathSync(root));

/** Mount points of every cgroup hierarchy. */
function cgroupMounts(): string[] {
  const out: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (left && right && /^cgroup2? /.test(right)) out.push(left.split(' ')[4] ?? '');
  }
  return out;
}

/** A state root's top cgroup dir in every hierarchy where it exists. */
export function cgroupTops(cgroupRoot: string): string[] {
  return cgroupMounts()
    .map((m) => path.join(m, cgroupRoot))
    .filter((d) => fs.existsSync(d));
}

/**
 * Every cgroup directory of this test's pods in every mounted hierarchy,
 * under any state root's top dir (`barepod`, `barepod-<hash>`): the prefix
 * is the test's own, so a pod made under whichever root is found.
 */
export function cgroupDirs(prefix: string): string[] {
  const out: string[] = [];
  for (const m of cgroupMounts()) {
    let tops: string[] = [];
    try {
      tops = fs.readdirSync(m).filter((d) => /^barepod(-[0-9a-f]{8})?$/.test(d));
    } catch {
      continue;
    }
    for (const top of tops) {
      // the pods, and their monitors in <top>/_conmon
      for (const dir of [path.join(m, top), path.join(m, top, '_conmon')]) {
        try {
          for (const d of fs.readdirSync(dir)) if (d.startsWith(prefix)) out.push(path.join(dir, d));
        } catch {
          // removed meanwhile, or no monitors
        }
      }
    }
  }
  return out;
}

export function removeCgroupTree(dir: string): void {
  for (const e of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
    if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
  }
  try {
    fs.rmdirSync(dir);
  } catch {
    /* best effort */
  }
}

/** Processes whose command line mentions this test's prefix or state root (conmon, pause, containers). */
export function processesOf(root: string, prefix: string): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    let cmd = '';
    let stat = '';
    let cgroup = '';
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      cgroup = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    } catch {
      continue;
    }
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
    const mine = cmd.includes(root) || cmd.includes(` ${prefix}-`) || new RegExp(`/barepod(-[0-9a-f]{8})?/${prefix}-`).test(cgroup);
    if (mine && !cmd.includes('vitest')) out.push(`${pid}: ${cmd.trim()}`);
  }
  return out;
}

const IPAM = '/var/lib/cni/networks';

/** host-local reservations of every network: [network, ip, container id]. */
export function ipamReservations(): [string, string, string][] {
  const out: [string, string, string][] = [];
  for (const net of fs.existsSync(IPAM) ? fs.readdirSync(IPAM) : []) {
    for (const f of fs.readdirSync(path.join(IPAM, net))) {
      if (!/^[0-9a-f.:]+$/.test(f)) continue;
      try {
        out.push([
          net,
          f,
          fs
            .readFileSync(path.join(IPAM, net, f), 'utf8')
            .split(/\r?\n/)[0]!
            .trim(),
        ]);
      } catch {
        // released meanwhile
      }
    }
  }
  return out;
}

/** `iptables-save -t TABLE`, parsed by barepod's own reader; empty without iptables. */
function iptablesSave(table: string): SavedTable {
  const r = runSync('iptables-save', ['-t', table]);
  return parseIptablesSave(r.exitCode === 0 ? r.stdout : '');
}

/**
 * What the CNI plugins left of this test's pods: host-local reservations
 * and labelled host veths carrying this state root's container ids, rules
 * whose comment names them (bridge masquerade, portmap DNAT), the chains
 * named after them, and firewall rules of addresses no longer reserved.
 */
export function networkLeaks(root: string, pods: string[]): string[] {
  const leaks: string[] = [];
  const idPrefix = cniIdPrefix(root);
  for (const [net, ip, cid] of ipamReservations()) if (cid.startsWith(idPrefix)) leaks.push(`IPAM reservation ${net}/${ip} of ${cid}`);
  for (const dev of fs.existsSync('/sys/class/net') ? fs.readdirSync('/sys/class/net') : []) {
    let alias = '';
    try {
      alias = fs.readFileSync(`/sys/class/net/${dev}/ifalias`, 'utf8').trim();
    } catch {
      continue;
    }
    if (alias.startsWith(`barepod:${idPrefix}`)) leaks.push(`host link ${dev} (${alias})`);
  }
  const networks = ['barepod', ...(fs.existsSync(IPAM) ? fs.readdirSync(IPAM) : [])];
  const chains = new Set(pods.flatMap((p) => networks.flatMap((n) => Object.values(chainNames(n, cniContainerId(root, p))))));
  for (const table of ['nat', 'filter']) {
    const saved = iptablesSave(table);
    for (const chain of saved.chains) if (chains.has(chain)) leaks.push(`iptables ${table} chain ${chain}`);
    for (const rule of saved.rules) if (ruleOwner(rule)?.id.startsWith(idPrefix)) leaks.push(`iptables ${table}: ${rule}`);
  }
  for (const rule of staleFirewallRules()) leaks.push(`iptables filter (firewall rule of a released address): ${rule}`);
  return leaks;
}

/**
 * The firewall plugin's rules (no comment: known only by their address) of
 * addresses nothing reserves. They carry nothing naming a test, and a test
 * file running beside this one may hold such a rule for a moment (its gc
 * between bridge's release and the sweep, a CNI chain it killed on purpose):
 * a rule counts when it was there before the reservations were read, is
 * there after, and is still there once other tests' repairs had 20 s to run.
 * A real leak stays forever.
 */
function staleFirewallRules(): string[] {
  const once = (): string[] => {
    const before = new Set(iptablesSave('filter').rules);
    const reserved = new Set(ipamReservations().map(([, ip]) => ip));
    return iptablesSave('filter').rules.filter((rule) => {
      const ip = firewallAddress(rule);
      return ip !== undefined && !reserved.has(ip) && before.has(rule);
    });
  };
  let stale = once();
  for (let waited = 0; stale.length && waited < 20_000; waited += 500) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    const now = new Set(once());
    stale = stale.filter((r) => now.has(r));
  }
  return stale;
}

function leaksOf(root: string, prefix: string, podNames: string[], cgroupRoot: string): string[] {
  const leaks: string[] = [];
  const runcRoot = path.join(root, 'runc');
  if (fs.existsSync(runcRoot)) leaks.push(...listRunc(runcRoot).map((id) => `runc container ${id}`));
  // a state dir runc no longer lists (no state.json): what a runc killed mid-way leaves, which makes runc refuse the id
  if (fs.existsSync(runcRoot))
    for (const id of fs.readdirSync(runcRoot))
      if (!fs.existsSync(path.join(runcRoot, id, 'state.json'))) leaks.push(`runc state dir ${path.join(runcRoot, id)}`);
  leaks.push(...cgroupDirs(prefix).map((d) => `cgroup ${d}`));
  // the root's own top dir goes with its last pod (anything left in it, whatever its name, is this root's)
  leaks.push(...cgroupTops(cgroupRoot).map((d) => `cgroup ${d} (this state root's top dir)`));
  leaks.push(...mountsUnder(root).map((m) => `mount ${m}`));
  leaks.push(...processesOf(root, prefix).map((p) => `process ${p}`));
  const pods = path.join(root, 'pods');
  if (fs.existsSync(pods)) leaks.push(...fs.readdirSync(pods).map((p) => `pod state ${path.join(pods, p)}`));
  leaks.push(...networkLeaks(root, podNames));
  leaks.push(...imageStoreLeaks(path.join(root, 'images')));
  return leaks;
}

/** What an image store must never keep after a command ended: temp dirs (half-done pulls/unpacks), its lock, overlay mounts of its layers. */
export function imageStoreLeaks(store: string): string[] {
  const leaks: string[] = [];
  const tmp = path.join(store, 'tmp');
  if (fs.existsSync(tmp)) leaks.push(...fs.readdirSync(tmp).map((d) => `image store temp ${path.join(tmp, d)}`));
  if (fs.lstatSync(path.join(store, 'lock'), { throwIfNoEntry: false })) leaks.push(`image store lock ${path.join(store, 'lock')}`); // a symlink: existsSync would follow it
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (line.includes(' - overlay ') && line.includes(`${store}/layers/`)) leaks.push(`overlay mount ${line.split(' ')[4]}`);
  }
  return leaks;
}

/** What a truthy check leaves of T (`a && b` chains type as `'' | null | B`). */
export type Truthy<T> = Exclude<T, false | '' | 0 | 0n | null | undefined>;

/** Polls until `fn` returns a truthy value (or throws after `ms`). Not a timing assertion: only a bound on waiting. */
export async function eventually<T>(fn: () => T | Promise<T>, ms = 15_000, what = 'condition'): Promise<Truthy<T>> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as Truthy<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** JSON lines (`logs --json`, `events --json`): one object per line, each line whole JSON; [] for no output. */
export function jsonLines(text: string): unknown[] {
  if (text !== '' && !text.endsWith('\n')) throw new Error(`JSON lines must end with a newline: ${JSON.stringify(text.slice(-80))}`);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
}

/** Inode of /proc/<pid>/ns/<type>. */
export const nsInode = (pid: number, type: string): number => fs.statSync(`/proc/${pid}/ns/${type}`).ino;

/** The pod as `barepod inspect --json` shows it. */
export async function inspect(t: TestEnv, pod: string): Promise<InspectView> {
  return JSON.parse(await t.ok(['inspect', pod, '--json'])) as InspectView;
}

export interface InspectView {
  name: string;
  state: string;
  cgroupParent: string;
  sandbox: { pid: number; alive: boolean; id: string };
  containers: { name: string; pid: number | null; state: string; exitCode: number | null; cgroupPath: string; bundle: string }[];
}

/** The pid of a running container, from inspect. */
export async function pidOf(t: TestEnv, pod: string, container: string): Promise<number> {
  const v = await inspect(t, pod);
  const c = v.containers.find((x) => x.name === container);
  if (!c?.pid) throw new Error(`${pod}/${container} has no pid: ${JSON.stringify(c)}`);
  return c.pid;
}

/** Reads a file inside a running container through /proc/<pid>/root. */
export function readInContainer(pid: number, file: string): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/root${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** A CLI left running in the background (`logs -f`, `stats --watch`), its output collected as it comes. */
export interface Background {
  out(): string;
  err(): string;
  /** the exit code once it has ended */
  code(): number | undefined;
  /** sends it a signal (e.g. SIGINT, as Ctrl-C) */
  signal(sig: NodeJS.Signals): void;
  /** resolves once it has ended */
  closed: Promise<void>;
  /** ends it (if it still runs) and waits until it is gone */
  kill(): Promise<void>;
}

/** Starts the CLI with this test's state root, without waiting for it. */
export function background(t: TestEnv, args: string[]): Background {
  // output read as it comes (buffer: false), never rejected: how it ended is its code
  const child = execa(CLI, args, { env: t.env, extendEnv: false, stdin: 'ignore', buffer: false, reject: false });
  const out: string[] = [];
  const err: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => out.push(d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => err.push(d));
  let code: number | undefined;
  const closed = child.then((r) => {
    // killed by a signal: 128 + its number, as a shell reports it
    code = r.exitCode ?? 128 + (r.signal ? os.constants.signals[r.signal] : 0);
  });
  return {
    out: () => out.join(''),
    err: () => err.join(''),
    code: () => code,
    signal: (sig) => void child.kill(sig),
    closed,
    async kill() {
      if (code === undefined) child.kill('SIGKILL');
      await closed;
    },
  };
}

/**
 * `barepod run --pod POD --name NAME -- sleep 3600` SIGKILLed between `runc create` and `runc start`: a runc
 * wrapper holds the start until the CLI is killed, so runc knows a container the pod's record never got.
 */
export async function killRunAtRuncStart(t: TestEnv, pod: string, name: string): Promise<void> {
  const mark = path.join(t.root, 'start-called');
  const wrapper = path.join(t.root, 'runc-wrapper');
  fs.writeFileSync(
    wrapper,
    `#!/bin/sh\ncase "$*" in *" start ${pod}.${name}"*) touch ${mark}; while :; do sleep 0.1; done;; esac\nexec /usr/sbin/runc "$@"\n`,
    {
      mode: 0o755,
    },
  );
  const child = spawn(CLI, ['run', '--pod', pod, '--name', name, '--', 'sleep', '3600'], { env: { ...t.env, BAREPOD_RUNC: wrapper }, stdio: 'ignore' });
  try {
    await eventually(() => fs.existsSync(mark), 30_000, 'the CLI to reach runc start');
  } finally {
    child.kill('SIGKILL');
    await run('pkill', ['-KILL', '-f', wrapper]);
  }
}
