import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { BarepodError, ExitCode } from '../../errors.js';
import { SECCOMP_PROFILE } from '../../pod/runtime.js';
import { detectCgroupVersion, readCgroupMounts } from '../../runtime/cgroupfs.js';
import { runTool } from '../../runtime/exec.js';
import { findBundled } from '../../runtime/bundled.js';
import { findBinary, resolveSettings } from '../../runtime/host.js';
import { requireTrustedDir } from '../../runtime/private-fs.js';
import { pauseRootfs, builtinDir } from '../../runtime/images.js';
import { printJson } from '../output.js';
import { startupBlob } from '../../runtime/startup.js';
import { readTextIfThere } from '../../runtime/state.js';
import { DEFAULT_NETWORK } from '../../model.js';
import { DEFAULT_SUBNET, defaultConflist, subnetsOf } from '../../plan/network.js';
import { checkRoutes, listNetworks, netConfDir, type NetworkConfig } from '../../runtime/cni/conflist-store.js';
import { cniPath, findPlugin } from '../../runtime/cni/plugin-invocation.js';

/** One finding of `doctor`: what was checked, what was seen, and the fix when it is wrong. */
interface Check {
  name: string;
  ok: boolean;
  /** a failed required check makes barepod unusable; an optional one only limits it */
  required: boolean;
  detail: string;
  fix?: string;
}

/**
 * Networking: the plugins every conflist names (the default one's unless it
 * was edited), iptables for the masquerade/portmap/firewall rules, and each
 * network's subnet against the host routes. Optional: --network none|host
 * pods need none of it.
 */
function networkChecks(): Check[] {
  const out: Check[] = [];
  let networks: NetworkConfig[] = [];
  try {
    networks = fs.existsSync(netConfDir()) ? listNetworks() : [];
  } catch (e) {
    out.push({ name: 'CNI networks', ok: false, required: false, detail: (e as Error).message, fix: `fix the conflist in ${netConfDir()}` });
  }
  const lists = networks.length ? networks.map((n) => n.list) : [defaultConflist(DEFAULT_NETWORK, process.env.BAREPOD_SUBNET ?? DEFAULT_SUBNET)];
  const types = [
    ...new Set(
      lists.flatMap((l) =>
        l.plugins.flatMap((p) => [p.type, ...(p.ipam && typeof (p.ipam as { type?: unknown }).type === 'string' ? [(p.ipam as { type: string }).type] : [])]),
      ),
    ),
  ];
  const missing = types.filter((t) => !findPlugin(t));
  out.push({
    name: 'CNI plugins',
    ok: missing.length === 0,
    required: false,
    detail: missing.length
      ? `missing ${missing.join(', ')} in ${cniPath().join(':')} (pods on a CNI network need them; --network none|host do not)`
      : `${types.map((t) => findPlugin(t)).join(', ')}`,
    ...(missing.length ? { fix: 'apt-get install containernetworking-plugins' } : {}),
  });
  const ipt = findBinary('iptables', 'BAREPOD_IPTABLES');
  out.push({
    name: 'iptables',
    ok: !!ipt,
    required: false,
    detail: ipt ? `${ipt} (bridge masquerade, portmap, firewall)` : 'not found: bridged pods cannot get NAT, host ports or firewall rules',
    ...(ipt ? {} : { fix: 'apt-get install iptables' }),
  });
  for (const n of networks) {
    try {
      checkRoutes(n.list, n.file);
      out.push({ name: `network ${n.list.name}`, ok: true, required: false, detail: `${subnetsOf(n.list).join(', ') || 'no IPv4 subnet'} (${n.file})` });
    } catch (e) {
      out.push({ name: `network ${n.list.name}`, ok: false, required: false, detail: (e as Error).message, fix: `choose a free subnet in ${n.file}` });
    }
  }
  if (!networks.length)
    out.push({
      name: 'network barepod',
      ok: true,
      required: false,
      detail: `not created yet: the first bridged pod writes ${netConfDir()}/${DEFAULT_NETWORK}.conflist`,
    });
  return out;
}

async function version(bin: string | undefined, args: string[]): Promise<string | undefined> {
  if (!bin) return undefined;
  try {
    return (await runTool([bin, ...args])).split('\n')[0];
  } catch {
    return undefined;
  }
}

/** Gathers every check; pure reads of the host, nothing changed. */
export async function runChecks(root?: string): Promise<Check[]> {
  const settings = resolveSettings({ root });
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);
  const isRoot = process.getuid?.() === 0;
  add({
    name: 'root',
    ok: isRoot,
    required: true,
    detail: isRoot ? 'running as root' : `running as uid ${process.getuid?.()}`,
    ...(isRoot ? {} : { fix: 'run barepod with sudo' }),
  });

  const runc = findBinary('runc', 'BAREPOD_RUNC');
  const runcV = await version(runc, ['--version']);
  add({
    name: 'runc',
    ok: !!runcV,
    required: true,
    detail: runcV ? `${runc}: ${runcV}` : 'not found',
    ...(runcV ? {} : { fix: 'apt-get install runc (or run scripts/setup)' }),
  });
  const conmon = findBinary('conmon', 'BAREPOD_CONMON');
  const conmonV = await version(conmon, ['--version']);
  add({
    name: 'conmon',
    ok: !!conmonV,
    required: true,
    detail: conmonV ? `${conmon}: ${conmonV}` : 'not found',
    ...(conmonV ? {} : { fix: 'apt-get install conmon (or run scripts/setup)' }),
  });
  const helpers = [
    ['barepod-attach', 'attach', "run -it and attach need it (the relay to conmon's attach socket)"],
    ['barepod-prober', 'prober', 'pods with probes need it (the program that runs their probes)'],
  ] as const;
  for (const [program, dir, need] of helpers) {
    const found = findBundled(program, dir);
    add({
      name: program,
      ok: found !== undefined,
      required: false,
      detail: found ?? `not built: ${need}`,
      ...(found ? {} : { fix: 'apt-get install gcc make, then npm run build (or run scripts/setup)' }),
    });
  }

  const cgv = detectCgroupVersion();
  const mounts = readCgroupMounts();
  const v1 = mounts.filter((m) => m.version === 1).map((m) => m.controllers.join(','));
  const hasMemory = cgv === 2 || v1.some((c) => c.split(',').includes('memory'));
  add({
    name: 'cgroups',
    ok: mounts.length > 0 && hasMemory,
    required: true,
    detail:
      cgv === 2
        ? 'cgroup v2 (unified) at /sys/fs/cgroup'
        : `cgroup v1${mounts.some((m) => m.version === 2) ? ' (hybrid: cgroup2 also mounted)' : ''}: ${v1.join(' ')}`,
    ...(mounts.length > 0 && hasMemory ? {} : { fix: 'mount cgroup2 at /sys/fs/cgroup (or the v1 memory controller)' }),
  });

  const listed = fs.readFileSync('/proc/filesystems', 'utf8').includes('\toverlay\n');
  const module = fs.existsSync(`/lib/modules/${os.release()}/kernel/fs/overlayfs`);
  const overlay = listed || module;
  add({
    name: 'overlayfs',
    ok: overlay,
    required: false,
    detail: listed ? 'available' : module ? 'module present (loads on first use)' : 'not in /proc/filesystems and no module found',
    ...(overlay ? {} : { fix: 'modprobe overlay, or use run --rootfs DIR' }),
  });

  const pause = path.join(pauseRootfs(settings.dataDir), 'pause');
  const pauseV = await version(fs.existsSync(pause) ? pause : undefined, ['-v']);
  add({
    name: 'pause',
    ok: !!pauseV,
    required: true,
    detail: pauseV ? `${pause}: ${pauseV}` : `${pause} missing`,
    ...(pauseV ? {} : { fix: 'run scripts/setup (builds bundles/pause/pause.c statically)' }),
  });

  const busybox = path.join(builtinDir(settings.dataDir), 'busybox', 'rootfs', 'bin', 'busybox');
  const bb = fs.existsSync(busybox);
  add({
    name: 'busybox image',
    ok: bb,
    required: false,
    detail: bb ? path.dirname(path.dirname(busybox)) : `${busybox} missing`,
    ...(bb ? {} : { fix: 'run scripts/setup (builds it from Debian busybox-static)' }),
  });

  const skopeo = findBinary('skopeo', 'BAREPOD_SKOPEO');
  const skopeoV = await version(skopeo, ['--version']);
  const setfattr = findBinary('setfattr');
  const images = !!skopeoV && !!setfattr;
  add({
    name: 'image pulls',
    ok: images,
    required: false,
    detail: images
      ? `${skopeoV}; setfattr; store ${settings.imagesDir}`
      : `${skopeoV ? '' : 'skopeo not found (pull) '}${setfattr ? '' : 'setfattr not found (opaque dirs and xattrs of layers)'}`.trim(),
    ...(images ? {} : { fix: 'apt-get install skopeo attr zstd (or run scripts/setup)' }),
  });

  const seccomp = fs.existsSync(process.env.BAREPOD_SECCOMP_PROFILE ?? SECCOMP_PROFILE);
  add({
    name: 'seccomp profile',
    ok: seccomp,
    required: false,
    detail: seccomp ? SECCOMP_PROFILE : `${SECCOMP_PROFILE} missing: containers need --security-opt seccomp=unconfined`,
    ...(seccomp ? {} : { fix: 'apt-get install golang-github-containers-common' }),
  });

  for (const c of networkChecks()) add(c);

  let writable = false;
  try {
    fs.mkdirSync(settings.stateRoot, { recursive: true, mode: 0o700 });
    fs.accessSync(settings.stateRoot, fs.constants.W_OK);
    writable = true;
  } catch {
    writable = false;
  }
  add({
    name: 'state root',
    ok: writable,
    required: true,
    detail: `${settings.stateRoot} ${writable ? 'writable' : 'not writable'}`,
    ...(writable ? {} : { fix: 'run as root, or choose --root / BAREPOD_ROOT' }),
  });
  // the dirs that hold env values and root filesystems: nobody but root may change them (as OpenSSH's StrictModes)
  const unsafe: BarepodError[] = [];
  for (const [dir, what] of [
    [settings.stateRoot, 'state root'],
    [settings.dataDir, 'data dir'],
    [settings.imagesDir, 'image store'],
  ] as const) {
    try {
      if (fs.existsSync(dir)) requireTrustedDir(dir, what);
    } catch (e) {
      if (e instanceof BarepodError) unsafe.push(e);
      else throw e;
    }
  }
  add({
    name: 'private dirs',
    ok: unsafe.length === 0,
    required: true,
    detail: unsafe.length ? unsafe.map((e) => e.message).join('; ') : 'state root, data dir and image store owned by root, writable by nobody else',
    ...(unsafe.length ? { fix: unsafe.map((e) => e.hint).join('; ') } : {}),
  });
  add(snapshotCheck());
  return checks;
}

/**
 * The start-up snapshots (scripts/bundle.mjs): dist/barepod.blob (every command), dist/core.blob (the everyday
 * ones, see src/cli/core-groups.ts) and dist/handler.blob (the exit handler conmon runs): whether this call started
 * from one, and why a blob is not used. Optional: without one, the calls (or restarts) it serves start ~25-50 ms
 * slower, nothing else changes.
 */
function snapshotCheck(): Check {
  const name = 'start-up';
  const dist = path.dirname(path.resolve(process.argv[1] ?? ''));
  const blobs = ['barepod.blob', 'core.blob', 'handler.blob'].map((b) => path.join(dist, b));
  const started = startupBlob();
  const thisCall = started ? `this call started from the snapshot ${started}` : 'this call ran the plain bundle';
  if (process.env.BAREPOD_NO_SNAPSHOT)
    return { name, ok: true, required: false, detail: 'snapshot off (BAREPOD_NO_SNAPSHOT is set): each call starts ~50 ms slower' };
  const fix = 'npm run build (in the checkout: it builds the snapshots for the Node on PATH)';
  const boot = readTextIfThere('/proc/sys/kernel/random/boot_id')?.trim();
  const nodeMtime = fs.statSync(process.execPath).mtimeMs;
  for (const blob of blobs) {
    // a blob this call started from fits: Node checked it
    if (blob === started) continue;
    let mtime: number | undefined;
    try {
      mtime = fs.statSync(blob).mtimeMs;
    } catch {
      return { name, ok: false, required: false, detail: `no start-up snapshot ${blob} (${thisCall}): the calls it serves start ~25-50 ms slower`, fix };
    }
    if (mtime !== nodeMtime)
      return {
        name,
        ok: false,
        required: false,
        detail: `the start-up snapshot ${blob} was built by another Node than ${process.execPath}: not used, the calls it serves start ~25-50 ms slower`,
        fix,
      };
    // the launchers' answer for this boot (bp_snapshot_fits, src/runtime/self.ts): "no" when this Node refused it
    if (readTextIfThere(`${blob}.ok`)?.trim() === `no ${boot}`)
      return {
        name,
        ok: false,
        required: false,
        detail: `this machine's Node cannot load the start-up snapshot ${blob} (built on another machine or CPU?): not used, the calls it serves start ~25-50 ms slower`,
        fix,
      };
  }
  return {
    name,
    ok: true,
    required: false,
    detail: started ? thisCall : `${thisCall}; the start-up snapshots in ${dist} fit this Node (bin/barepod and the exit command use them)`,
  };
}

/** `barepod doctor`: is this host ready, and what to do where it is not. */
export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the host: root, runc and conmon, cgroup v1/v2, pause, the busybox image, image pulls, seccomp, CNI plugins')
    .option('--json', 'print the checks as JSON')
    .addHelpText('after', '\nExample:\n  sudo barepod doctor')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const checks = await runChecks(cmd.optsWithGlobals<{ root?: string }>().root);
      if (o.json) printJson(checks);
      else {
        for (const c of checks) {
          process.stdout.write(`${c.ok ? 'ok  ' : c.required ? 'FAIL' : 'warn'}  ${c.name.padEnd(16)} ${c.detail}\n`);
          if (!c.ok && c.fix) process.stdout.write(`      ${''.padEnd(16)} fix: ${c.fix}\n`);
        }
      }
      if (checks.some((c) => c.required && !c.ok)) process.exitCode = ExitCode.prerequisite;
    });
}
