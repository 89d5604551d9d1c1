/**
 * CNI plugin invocation, per the CNI spec: each plugin binary is called with
 * the CNI_* environment and one config on stdin, and answers with result or
 * error JSON on stdout. ADD runs the chain in order (each result kept before
 * the next plugin runs), DEL in reverse. No CNI library: the spec is small.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BarepodError, ToolError } from '../../errors.js';
import { pluginConfig, type CniResult, type RuntimeConfig } from '../../plan/network.js';
import { shellWords } from '../../plan/narration.js';
import { launch, trace } from '../exec.js';
import { explaining, explainResult, explainRun } from '../explain.js';
import { findBinary } from '../host.js';
import type { NetworkConfig } from './conflist-store.js';

/** Where plugin binaries are looked up: Debian's containernetworking-plugins, then the upstream default. */
export const cniPath = (): string[] => (process.env.BAREPOD_CNI_PATH ?? '/usr/lib/cni:/opt/cni/bin').split(':').filter(Boolean);

/** The path of a plugin binary, or undefined. */
export function findPlugin(type: string): string | undefined {
  for (const dir of cniPath()) {
    const p = path.join(dir, type);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Checks, before anything is created, that every plugin of a network exists and that iptables does when a plugin needs it. */
export function checkPrerequisites(cfg: NetworkConfig): void {
  for (const p of cfg.list.plugins) {
    if (!findPlugin(p.type)) {
      throw new BarepodError('missing-tool', `network "${cfg.list.name}": CNI plugin "${p.type}" not found in ${cniPath().join(':')}`, {
        hint: `apt-get install containernetworking-plugins (or fix "type" in ${cfg.file}; BAREPOD_CNI_PATH lists the plugin directories)`,
      });
    }
  }
  const needsIptables = cfg.list.plugins.some((p) => p.type === 'portmap' || p.type === 'firewall' || (p.type === 'bridge' && p.ipMasq));
  if (needsIptables && !findBinary('iptables', 'BAREPOD_IPTABLES')) {
    throw new BarepodError('missing-tool', `network "${cfg.list.name}": iptables not found (the bridge masquerade, portmap and firewall plugins need it)`, {
      hint: 'apt-get install iptables (or use --network none or host)',
    });
  }
}

/** The arguments of one CNI call besides the config. */
export interface CniArgs {
  containerId: string;
  netns: string;
  ifname: string;
}

const SBIN = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Runs one plugin; its result JSON, or a BarepodError built from its error JSON. */
async function invoke(cfg: NetworkConfig, command: 'ADD' | 'DEL', conf: Record<string, unknown>, a: CniArgs): Promise<CniResult | undefined> {
  const type = String(conf.type);
  const bin = findPlugin(type);
  if (!bin) {
    throw new BarepodError('missing-tool', `network "${cfg.list.name}": CNI plugin "${type}" not found in ${cniPath().join(':')}`, {
      hint: 'apt-get install containernetworking-plugins',
    });
  }
  const env: NodeJS.ProcessEnv = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: a.containerId,
    CNI_NETNS: a.netns,
    CNI_IFNAME: a.ifname,
    CNI_PATH: cniPath().join(':'),
    PATH: `${process.env.PATH ?? ''}:${SBIN}`,
  };
  const started = performance.now();
  if (explaining) {
    const vars = (['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'] as const).map((k) => `${k}=${shellWords([env[k] ?? ''])}`);
    explainRun(
      `${vars.join(' ')} ${bin} < (plugin type ${type}: its config from ${cfg.file}${conf.prevResult ? `, with prevResult: ${command === 'ADD' ? "the previous plugin's result" : 'the stored ADD result'}` : ''})`,
    );
  }
  // its own process group: the deadline (BAREPOD_TIMEOUT_CNI) kills the iptables it runs too
  const run = launch([bin], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    program: 'cni',
    label: `CNI plugin ${path.basename(bin)} (CNI_COMMAND=${command} CNI_CONTAINERID=${a.containerId} CNI_IFNAME=${a.ifname})`,
  });
  const out: Buffer[] = [];
  const errOut: Buffer[] = [];
  run.child.stdout!.on('data', (d: Buffer) => out.push(d));
  run.child.stderr!.on('data', (d: Buffer) => errOut.push(d));
  run.child.stdin!.on('error', () => {});
  run.child.stdin!.end(JSON.stringify(conf));
  const { code } = await run.exited;
  const stdout = Buffer.concat(out).toString('utf8');
  const stderr = Buffer.concat(errOut).toString('utf8');
  trace(`CNI ${command} ${type} ${a.containerId}`, started);
  if (code === 0) {
    if (command === 'DEL' || !stdout.trim()) return undefined;
    try {
      const result = JSON.parse(stdout) as CniResult;
      if (explaining)
        explainResult(`${type}: ${JSON.stringify(result) === JSON.stringify(conf.prevResult) ? 'passes the previous result on' : resultWords(result)}`);
      return result;
    } catch {
      throw new ToolError([bin], stdout, `CNI plugin ${type} (${command}) printed an unreadable result`);
    }
  }
  let msg = (stderr || stdout).trim() || `exited with ${code}`;
  let details = '';
  try {
    const e = JSON.parse(stdout) as { code?: number; msg?: string; details?: string };
    if (e.msg) msg = e.msg;
    if (e.details) details = `: ${e.details}`;
  } catch {
    // not JSON: keep the raw text
  }
  const err = new ToolError(
    [bin, `(CNI_COMMAND=${command} CNI_CONTAINERID=${a.containerId})`],
    stderr || stdout,
    `network "${cfg.list.name}": CNI ${command} of plugin ${type} failed: ${msg}${details}`,
    hintFor(cfg, msg),
  );
  throw err;
}

/** A CNI result in a few words: the interfaces (where) and addresses it reports. */
function resultWords(r: CniResult): string {
  const ifaces = (r.interfaces ?? []).map((i) => `${i.name}${i.sandbox ? ' (in the pod)' : ''}`);
  const ips = (r.ips ?? []).map((i) => `${i.address}${i.gateway ? ` via ${i.gateway}` : ''}`);
  return (
    [ifaces.length ? `interfaces ${ifaces.join(', ')}` : '', ips.length ? `addresses ${ips.join(', ')}` : ''].filter(Boolean).join('; ') || 'an empty result'
  );
}

/** A fix for the plugin errors people meet. */
function hintFor(cfg: NetworkConfig, msg: string): string {
  if (/no IP addresses available|range set.*exhausted|no free IP/i.test(msg)) {
    return `the subnet of network "${cfg.list.name}" is full: remove pods, run \`barepod gc\` to release stale reservations, or widen the subnet in ${cfg.file}`;
  }
  if (/iptables/.test(msg) && /not found|executable file/.test(msg)) return 'apt-get install iptables';
  if (/duplicate allocation|has been allocated to/.test(msg)) return 'a reservation of this pod is left from a failed teardown: run `barepod gc`';
  return `check ${cfg.file} (\`barepod network inspect ${cfg.list.name}\`); run with --debug for the plugin's output`;
}

/**
 * CNI ADD: every plugin in order, each getting the previous one's result.
 * A failure leaves half an attachment: the caller runs DEL (idempotent).
 */
export async function cniAdd(cfg: NetworkConfig, a: CniArgs, rc: RuntimeConfig, onResult?: (result: CniResult) => void): Promise<CniResult> {
  let prev: CniResult | undefined;
  for (const plugin of cfg.list.plugins) {
    const result = await invoke(cfg, 'ADD', pluginConfig(cfg.list, plugin, rc, prev), a);
    if (result) {
      prev = result;
      // kept before the next plugin runs (as libcni caches it): a CLI killed mid-chain leaves DEL the last result, so the
      // plugins that already ran (firewall's rules are found only through prevResult's addresses) can undo themselves
      onResult?.(result);
    }
  }
  return prev ?? {};
}

/** CNI DEL: every plugin in reverse with the stored result; goes on past failures and reports them all. */
export async function cniDel(cfg: NetworkConfig, a: CniArgs, rc: RuntimeConfig, result: CniResult | undefined): Promise<void> {
  const errors: string[] = [];
  for (const plugin of [...cfg.list.plugins].reverse()) {
    try {
      await invoke(cfg, 'DEL', pluginConfig(cfg.list, plugin, rc, result), a);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length) {
    throw new BarepodError('tool-failed', errors.join('; '), { hint: 'fix the cause, then `barepod gc` (or `barepod pod rm` again) retries the DEL' });
  }
}
