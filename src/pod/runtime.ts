import fs from 'node:fs';
import os from 'node:os';
import { BarepodError } from '../errors.js';
import type { PodRecord } from '../model.js';
import { locksDir, podsDir, runcRoot } from '../plan/paths.js';
import type { PlanContext } from '../plan/pod-plan.js';
import { CAPABILITY_NAMES, DEFAULT_CAPABILITIES } from '../oci/default-spec.js';
import { seccompFromProfile, type LinuxSeccomp } from '../oci/seccomp.js';
import { CgroupFs } from '../runtime/cgroupfs.js';
import { requireBinary, requireRoot, type Settings } from '../runtime/host.js';
import { Runc } from '../runtime/runc.js';
import { StateStore } from '../runtime/state.js';
import { cgroupRootOf, podScopes, type PodRef, type PodScope } from './scope.js';
import { ensurePrivateDir, privateSubdir, requireTrustedDir } from '../runtime/private-fs.js';

/** The seccomp profile Debian's containers-common ships (podman's and CRI-O's default). */
export const SECCOMP_PROFILE = '/usr/share/containers/seccomp.json';

/** Everything a lifecycle command needs: settings and one adapter per real component. */
export interface Runtime {
  settings: Settings;
  runc: Runc;
  conmon: string;
  cgroups: CgroupFs;
  store: StateStore;
  /**
   * host facts for the planner; the seccomp filter is loaded only when a
   * container needs it. With a pod's record, its cgroup root is the one the
   * record names (an older barepod's record: `barepod`); without, this state root's.
   */
  planContext(needSeccomp: boolean, rec?: Pick<PodRecord, 'cgroupRoot'>): PlanContext;
  /**
   * one pod's paths, cgroups and lock (`./scope.ts`), by name or by record
   * (a record's cgroup root wins, as in planContext); made without I/O, one per pod
   */
  pod(pod: PodRef): PodScope;
}

/**
 * Opens the runtime: checks root and the tools, without touching any pod. With `tools: 'when-used'` (the read
 * commands: ps, pod ls, inspect), runc and conmon are looked up when first used, not at every call (~0.6 ms of
 * its start: a walk of PATH); a command that changes pods finds a missing tool before it starts (the default).
 */
export function openRuntime(settings: Settings, o: { tools?: 'now' | 'when-used' } = {}): Runtime {
  requireRoot();
  let runcBin: string | undefined;
  let conmon: string | undefined;
  const findRunc = (): string => (runcBin ??= requireBinary('runc', 'BAREPOD_RUNC'));
  const findConmon = (): string => (conmon ??= requireBinary('conmon', 'BAREPOD_CONMON'));
  if (o.tools !== 'when-used') {
    findRunc();
    findConmon();
  }
  let runc: Runc | undefined;
  // the cgroup hierarchies, read from /proc/self/mountinfo when first needed (ps and pod ls never need them)
  let cgroups: CgroupFs | undefined;
  const cgroupFs = (): CgroupFs => (cgroups ??= CgroupFs.forHost());
  let seccomp: LinuxSeccomp | undefined;
  let profile: unknown; // the profile file, read once per command
  const converted = new Map<string, LinuxSeccomp>();
  const seccompFor = (caps: readonly string[]): LinuxSeccomp => {
    const key = [...caps].sort().join(',');
    let s = converted.get(key);
    if (!s) converted.set(key, (s = convertSeccomp((profile ??= readSeccompProfile()), caps)));
    return s;
  };
  let hostCapabilities: string[] | undefined; // read once per command, not at every plan
  // the state root holds every pod's env values (records, config.json, logs): root's alone, and nobody else may plant files in it
  ensurePrivateDir(settings.stateRoot, 'state root');
  privateSubdir(runcRoot(settings.stateRoot));
  // made 0700 when first needed; an older barepod's are tightened here
  for (const d of [podsDir(settings.stateRoot), locksDir(settings.stateRoot)]) if (fs.existsSync(d)) privateSubdir(d);
  // the data dir holds the pause and busybox root filesystems every pod runs: nobody else may change them
  if (fs.existsSync(settings.dataDir)) requireTrustedDir(settings.dataDir, 'data dir');
  return {
    settings,
    get runc() {
      return (runc ??= new Runc(findRunc(), runcRoot(settings.stateRoot)));
    },
    get conmon() {
      return findConmon();
    },
    get cgroups() {
      return cgroupFs();
    },
    store: new StateStore(settings.stateRoot),
    planContext(needSeccomp, rec) {
      if (needSeccomp && !seccomp) seccomp = seccompFor(DEFAULT_CAPABILITIES);
      return {
        cgroupVersion: cgroupFs().version,
        cgroupRoot: cgroupRootOf(settings.cgroupRoot, rec),
        hostCapabilities: (hostCapabilities ??= boundingCapabilities()),
        ...(needSeccomp ? { seccomp: seccomp!, seccompFor } : {}),
      };
    },
    pod: podScopes(settings),
  };
}

/** The capabilities in this process's bounding set (CapBnd): what barepod can give a container at most. */
function boundingCapabilities(): string[] {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  const mask = BigInt(`0x${m?.[1] ?? '0'}`);
  return CAPABILITY_NAMES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

function readSeccompProfile(): unknown {
  const file = process.env.BAREPOD_SECCOMP_PROFILE ?? SECCOMP_PROFILE;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new BarepodError('missing-tool', `cannot read the default seccomp profile ${file}: ${(e as Error).message}`, {
      hint: 'run scripts/setup (apt-get install golang-github-containers-common), or run the container with --security-opt seccomp=unconfined',
      cause: e,
    });
  }
}

/** The profile resolved for this host and a container's capabilities (its conditional rules decided). */
function convertSeccomp(profile: unknown, capabilities: readonly string[]): LinuxSeccomp {
  return seccompFromProfile(profile, { arch: process.arch, capabilities: [...capabilities], kernel: os.release() });
}
