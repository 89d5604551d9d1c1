/**
 * Turns a containers-common / moby style seccomp profile (the JSON in
 * /usr/share/containers/seccomp.json) into the `linux.seccomp` section of an
 * OCI runtime spec, resolved for one host: architecture, capability set and
 * kernel version. Pure: no I/O, same input gives the same output.
 *
 * Profile format (the superset of what containers-common and moby read):
 *   defaultAction, defaultErrnoRet | defaultErrno ("ENOSYS" or "38"),
 *   archMap [{architecture, subArchitectures}] | architectures (legacy),
 *   flags, syscalls [{names | name (legacy), action, errnoRet | errno, args,
 *   comment, includes, excludes}] with filters {caps, arches, minKernel}.
 *
 * The output is limited to what runc 1.1.5 accepts: it has no `flags`
 * support (any flag makes it refuse the spec), knows no RISC-V or PA-RISC
 * arch names, and cannot honour SCMP_ACT_NOTIFY without a listener socket.
 */
import { constants as osConstants } from 'node:os';

/** One syscall rule of the OCI `linux.seccomp.syscalls` list. */
export interface SeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[];
}
/** The OCI runtime-spec `linux.seccomp` object, as runc 1.1.5 reads it. */
export interface LinuxSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls?: SeccompSyscall[];
}
/** The host a profile is resolved for: Node arch, the container's (bounding) capabilities, and the kernel release if known. */
export interface SeccompTarget {
  arch: string /* Node's process.arch value, e.g. 'x64', 'arm64' */;
  capabilities: string[] /* e.g. 'CAP_SYS_ADMIN' */;
  kernel?: string; /* e.g. '6.1.0' from os.release(); minKernel rules are kept when kernel is unknown */
}

type Json = Record<string, unknown>;

/** Node arch -> the SCMP arch of the archMap key, and the names a filter's `arches` may use for it (libseccomp, then Go). */
const NODE_ARCHES: Record<string, { scmp: string; names: string[] }> = {
  x64: { scmp: 'SCMP_ARCH_X86_64', names: ['amd64', 'x86_64'] },
  arm64: { scmp: 'SCMP_ARCH_AARCH64', names: ['arm64', 'aarch64'] },
  ia32: { scmp: 'SCMP_ARCH_X86', names: ['x86', '386'] },
  arm: { scmp: 'SCMP_ARCH_ARM', names: ['arm'] },
  ppc64: { scmp: 'SCMP_ARCH_PPC64LE', names: ['ppc64le'] },
  s390x: { scmp: 'SCMP_ARCH_S390X', names: ['s390x'] },
  riscv64: { scmp: 'SCMP_ARCH_RISCV64', names: ['riscv64'] },
};

/** Arch names runc 1.1.5 can convert (libcontainer/seccomp/config.go); others make it refuse the spec. */
const RUNC_ARCHES = new Set([
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
]);

const ACTIONS = new Set([
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
]);

const OPERATORS = new Set(['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']);

const FILTER_KEYS = new Set(['caps', 'arches', 'minKernel']);

/** Highest errno the kernel can return from a filter (SECCOMP_RET_DATA is 16 bits). */
const MAX_ERRNO = 0xffff;

function fail(path: string, problem: string): never {
  throw new Error(`seccomp: ${path}: ${problem}`);
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `undefined` for absent or null, since Go profiles write null for empty lists. */
function optional(obj: Json, key: string): unknown {
  const v = obj[key];
  return v === null ? undefined : v;
}

function stringList(v: unknown, path: string, opts: { nonEmpty?: boolean } = {}): string[] {
  if (!Array.isArray(v)) fail(path, 'expected an array of strings');
  if (opts.nonEmpty && v.length === 0) fail(path, 'must not be empty');
  return v.map((item, i) => {
    if (typeof item !== 'string' || item === '') fail(`${path}[${i}]`, 'expected a non-empty string');
    return item;
  });
}

function uint(v: unknown, path: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    fail(path, `expected an integer from 0 to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function action(v: unknown, path: string): string {
  if (typeof v !== 'string' || v === '') fail(path, 'expected an action such as SCMP_ACT_ERRNO');
  if (v === 'SCMP_ACT_NOTIFY') fail(path, 'SCMP_ACT_NOTIFY needs a seccomp listener socket, which barepod does not provide');
  if (!ACTIONS.has(v)) fail(path, `unknown action ${JSON.stringify(v)}`);
  return v;
}

function scmpArch(v: unknown, path: string): string {
  if (typeof v !== 'string' || !/^SCMP_ARCH_[A-Z0-9_]+$/.test(v)) {
    fail(path, `expected an architecture such as SCMP_ARCH_X86_64, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** The errno a rule returns: `errno` (name or number, containers-common's newer field) wins over `errnoRet`. */
function errnoOf(obj: Json, numberKey: string, nameKey: string, path: string): number | undefined {
  const name = optional(obj, nameKey);
  if (name !== undefined && name !== '') {
    if (typeof name !== 'string') fail(`${path}${nameKey}`, 'expected an errno name such as "EPERM"');
    if (/^\d+$/.test(name)) return uint(Number(name), `${path}${nameKey}`, MAX_ERRNO);
    const value = (osConstants.errno as Record<string, number | undefined>)[name];
    if (value === undefined) fail(`${path}${nameKey}`, `unknown errno ${JSON.stringify(name)}`);
    return value;
  }
  const ret = optional(obj, numberKey);
  return ret === undefined ? undefined : uint(ret, `${path}${numberKey}`, MAX_ERRNO);
}

type Version = [number, number, number];

function parseVersion(v: string): Version | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

function versionAtLeast(have: Version, want: Version): boolean {
  for (let i = 0; i < 3; i++) {
    if (have[i]! !== want[i]!) return have[i]! > want[i]!;
  }
  return true;
}

/** Capabilities compare case-insensitively, with or without the CAP_ prefix. */
function capName(c: string): string {
  const up = c.toUpperCase();
  return up.startsWith('CAP_') ? up : `CAP_${up}`;
}

interface Filter {
  caps: string[];
  arches: string[];
  minKernel: Version | undefined;
}

function filterOf(v: unknown, path: string): Filter {
  if (v === undefined || v === null) return { caps: [], arches: [], minKernel: undefined };
  if (!isObject(v)) fail(path, 'expected an object with caps, arches or minKernel');
  for (const key of Object.keys(v).sort()) {
    // An unknown condition silently ignored would apply a rule it was meant to restrict.
    if (!FILTER_KEYS.has(key)) fail(`${path}.${key}`, 'unknown filter condition');
  }
  const caps = optional(v, 'caps');
  const arches = optional(v, 'arches');
  const min = optional(v, 'minKernel');
  let minKernel: Version | undefined;
  if (min !== undefined && min !== '') {
    minKernel = typeof min === 'string' && /^\d+\.\d+(\.\d+)?$/.test(min) ? parseVersion(min) : undefined;
    if (!minKernel) fail(`${path}.minKernel`, `expected a kernel version such as "5.8", got ${JSON.stringify(min)}`);
  }
  return {
    caps: caps === undefined ? [] : stringList(caps, `${path}.caps`).map(capName),
    arches: arches === undefined ? [] : stringList(arches, `${path}.arches`),
    minKernel,
  };
}

interface Rule {
  out: SeccompSyscall;
  includes: Filter;
  excludes: Filter;
}

function ruleOf(v: unknown, path: string): Rule {
  if (!isObject(v)) fail(path, 'expected an object');
  const names = optional(v, 'names');
  const name = optional(v, 'name');
  let list: string[];
  if (names !== undefined && name !== undefined && name !== '') fail(path, "has both 'name' and 'names'; use 'names'");
  if (names !== undefined) list = stringList(names, `${path}.names`, { nonEmpty: true });
  else if (typeof name === 'string' && name !== '') list = [name];
  else fail(`${path}.names`, 'missing; expected a non-empty array of syscall names');

  const out: SeccompSyscall = { names: list, action: action(v.action, `${path}.action`) };
  const errnoRet = errnoOf(v, 'errnoRet', 'errno', `${path}.`);
  if (errnoRet !== undefined) out.errnoRet = errnoRet;

  const args = optional(v, 'args');
  if (args !== undefined) {
    if (!Array.isArray(args)) fail(`${path}.args`, 'expected an array');
    if (args.length > 0) out.args = args.map((a, i) => argOf(a, `${path}.args[${i}]`));
  }
  return { out, includes: filterOf(v.includes, `${path}.includes`), excludes: filterOf(v.excludes, `${path}.excludes`) };
}

function argOf(a: unknown, path: string): NonNullable<SeccompSyscall['args']>[number] {
  if (!isObject(a)) fail(path, 'expected an object with index, value, op');
  // runc indexes a six-slot array with this; larger values crash it.
  const index = uint(a.index, `${path}.index`, 5);
  // Above 2^53 JSON.parse has already rounded the number, so it cannot be trusted.
  const value = uint(a.value, `${path}.value`, Number.MAX_SAFE_INTEGER);
  const two = optional(a, 'valueTwo');
  const op = a.op;
  if (typeof op !== 'string' || !OPERATORS.has(op)) fail(`${path}.op`, `unknown operator ${JSON.stringify(op)}`);
  return two === undefined ? { index, value, op } : { index, value, valueTwo: uint(two, `${path}.valueTwo`, Number.MAX_SAFE_INTEGER), op };
}

function architecturesOf(profile: Json, main: string): string[] {
  const legacy = optional(profile, 'architectures');
  const archMap = optional(profile, 'archMap');
  if (legacy !== undefined && !Array.isArray(legacy)) fail('architectures', 'expected an array of architectures');
  if (archMap !== undefined && !Array.isArray(archMap)) fail('archMap', 'expected an array of {architecture, subArchitectures}');
  const legacyList = (legacy ?? []).map((a, i) => scmpArch(a, `architectures[${i}]`));
  const map = (archMap ?? []).map((entry, i) => {
    const path = `archMap[${i}]`;
    if (!isObject(entry)) fail(path, 'expected an object with architecture and subArchitectures');
    const arch = scmpArch(entry.architecture, `${path}.architecture`);
    const subs = optional(entry, 'subArchitectures');
    if (subs !== undefined && !Array.isArray(subs)) fail(`${path}.subArchitectures`, 'expected an array');
    return { arch, subs: (subs ?? []).map((s, j) => scmpArch(s, `${path}.subArchitectures[${j}]`)) };
  });
  if (legacyList.length > 0 && map.length > 0) fail('architectures', "both 'architectures' and 'archMap' are set; use 'archMap'");

  let wanted: string[];
  if (legacyList.length > 0) {
    wanted = legacyList; // the old moby format lists arches for every host
  } else {
    // The first matching entry wins, as in containers-common and moby.
    const entry = map.find((e) => e.arch === main);
    wanted = entry ? [main, ...entry.subs] : [main];
  }
  // Names runc 1.1.5 cannot parse are left out, or it would refuse the spec.
  // A left-out sub-arch only makes the filter stricter, and an empty list
  // means "native arch only" to libseccomp.
  return [...new Set(wanted)].filter((a) => RUNC_ARCHES.has(a));
}

/** Converts a containers-common/moby style profile into the OCI seccomp section for one target. Throws Error with a message naming the offending field path (e.g. `syscalls[3].names`) on malformed input. */
export function seccompFromProfile(profile: unknown, target: SeccompTarget): LinuxSeccomp {
  const host = NODE_ARCHES[target.arch];
  if (!host) fail('target.arch', `unsupported architecture ${JSON.stringify(target.arch)}; expected one of ${Object.keys(NODE_ARCHES).join(', ')}`);
  const caps = new Set(stringList(target.capabilities, 'target.capabilities').map(capName));
  let kernel: Version | undefined;
  if (target.kernel !== undefined) {
    kernel = parseVersion(target.kernel);
    if (!kernel) fail('target.kernel', `expected a kernel release such as "6.1.0", got ${JSON.stringify(target.kernel)}`);
  }

  if (!isObject(profile)) fail('(root)', 'expected a JSON object');
  const defaultAction = action(profile.defaultAction, 'defaultAction');
  const defaultErrnoRet = errnoOf(profile, 'defaultErrnoRet', 'defaultErrno', '');

  const flags = optional(profile, 'flags');
  // Validated, then dropped: runc 1.1.5 refuses any seccomp flag, and the
  // known ones (LOG, SPEC_ALLOW, TSYNC, WAIT_KILLABLE_RECV) only log more or relax.
  if (flags !== undefined) stringList(flags, 'flags');

  const architectures = architecturesOf(profile, host.scmp);

  const rawSyscalls = optional(profile, 'syscalls');
  if (rawSyscalls !== undefined && !Array.isArray(rawSyscalls)) fail('syscalls', 'expected an array of rules');
  // Every rule is validated, kept or not, so a profile's errors do not depend on the host.
  const rules = (rawSyscalls ?? []).map((r, i) => ruleOf(r, `syscalls[${i}]`));

  const archNames = new Set([...host.names, host.scmp]);
  const applies = (rule: Rule): boolean => {
    const { includes: inc, excludes: exc } = rule;
    if (!inc.caps.every((c) => caps.has(c))) return false;
    if (inc.arches.length > 0 && !inc.arches.some((a) => archNames.has(a))) return false;
    if (inc.minKernel && kernel && !versionAtLeast(kernel, inc.minKernel)) return false;
    if (exc.caps.some((c) => caps.has(c))) return false;
    if (exc.arches.some((a) => archNames.has(a))) return false;
    if (exc.minKernel && kernel && versionAtLeast(kernel, exc.minKernel)) return false;
    return true;
  };

  const out: LinuxSeccomp = { defaultAction };
  if (defaultErrnoRet !== undefined) out.defaultErrnoRet = defaultErrnoRet;
  if (architectures.length > 0) out.architectures = architectures;
  out.syscalls = rules.filter(applies).map((r) => r.out);
  return out;
}
