import { existsSync, readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { seccompFromProfile, type SeccompSyscall, type SeccompTarget } from '../../src/oci/seccomp.js';

const X64: SeccompTarget = { arch: 'x64', capabilities: [] };

const ARCH_MAP = [
  { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
  { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
  { architecture: 'SCMP_ARCH_S390X', subArchitectures: ['SCMP_ARCH_S390'] },
];

/** A profile with one rule per syscall entry given, in containers-common's shape. */
function profile(syscalls: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38, archMap: ARCH_MAP, syscalls, ...extra };
}

function rule(names: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { names, action: 'SCMP_ACT_ALLOW', args: [], comment: '', includes: {}, excludes: {}, ...extra };
}

/** The syscall names of the kept rules, one string per rule. */
function kept(p: unknown, target: SeccompTarget): string[] {
  return (seccompFromProfile(p, target).syscalls ?? []).map((s) => s.names.join(','));
}

describe('seccompFromProfile: architectures', () => {
  it.each([
    ['x64', ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']],
    ['arm64', ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']],
    ['s390x', ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390']],
    ['ia32', ['SCMP_ARCH_X86']],
    ['arm', ['SCMP_ARCH_ARM']],
    ['ppc64', ['SCMP_ARCH_PPC64LE']],
  ])('maps %s to its archMap entry plus sub-architectures', (arch, expected) => {
    expect(seccompFromProfile(profile([]), { arch, capabilities: [] }).architectures).toEqual(expected);
  });

  it('leaves architectures out for riscv64, which runc 1.1.5 cannot name (native arch only)', () => {
    const p = profile([], { archMap: [...ARCH_MAP, { architecture: 'SCMP_ARCH_RISCV64', subArchitectures: [] }] });
    expect(seccompFromProfile(p, { arch: 'riscv64', capabilities: [] })).not.toHaveProperty('architectures');
  });

  it('drops sub-architectures runc 1.1.5 does not know', () => {
    const p = profile([], { archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_PARISC'] }] });
    expect(seccompFromProfile(p, X64).architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
  });

  it('uses the first matching archMap entry and tolerates null subArchitectures', () => {
    const p = profile([], {
      archMap: [
        { architecture: 'SCMP_ARCH_X86_64', subArchitectures: null },
        { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] },
      ],
    });
    expect(seccompFromProfile(p, X64).architectures).toEqual(['SCMP_ARCH_X86_64']);
  });

  it('passes the legacy architectures list through unchanged', () => {
    const p = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'] };
    expect(seccompFromProfile(p, { arch: 'arm64', capabilities: [] }).architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
  });

  it('rejects an unsupported target arch', () => {
    expect(() => seccompFromProfile(profile([]), { arch: 'mips', capabilities: [] })).toThrow(/target\.arch/);
  });
});

describe('seccompFromProfile: includes and excludes', () => {
  it('keeps an includes.caps rule only when every listed cap is present', () => {
    const p = profile([rule(['bpf'], { includes: { caps: ['CAP_SYS_ADMIN', 'CAP_BPF'] } })]);
    expect(kept(p, { arch: 'x64', capabilities: ['CAP_SYS_ADMIN'] })).toEqual([]);
    expect(kept(p, { arch: 'x64', capabilities: ['CAP_SYS_ADMIN', 'CAP_BPF'] })).toEqual(['bpf']);
  });

  it('matches capabilities case-insensitively and with or without CAP_', () => {
    const p = profile([rule(['chroot'], { includes: { caps: ['CAP_SYS_CHROOT'] } })]);
    expect(kept(p, { arch: 'x64', capabilities: ['sys_chroot'] })).toEqual(['chroot']);
  });

  it('drops an excludes.caps rule when any listed cap is present', () => {
    const p = profile([rule(['chroot'], { action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: { caps: ['CAP_A', 'CAP_SYS_CHROOT'] } })]);
    expect(kept(p, X64)).toEqual(['chroot']);
    expect(kept(p, { arch: 'x64', capabilities: ['CAP_SYS_CHROOT'] })).toEqual([]);
  });

  it('keeps an includes.arches rule only on a listed arch (libseccomp names: amd64, x86, arm64, ...)', () => {
    const p = profile([
      rule(['arch_prctl'], { includes: { arches: ['amd64', 'x32'] } }),
      rule(['modify_ldt'], { includes: { arches: ['amd64', 'x32', 'x86'] } }),
      rule(['breakpoint'], { includes: { arches: ['arm', 'arm64'] } }),
      rule(['sync_file_range2'], { includes: { arches: ['ppc64le'] } }),
    ]);
    expect(kept(p, X64)).toEqual(['arch_prctl', 'modify_ldt']);
    expect(kept(p, { arch: 'ia32', capabilities: [] })).toEqual(['modify_ldt']);
    expect(kept(p, { arch: 'arm64', capabilities: [] })).toEqual(['breakpoint']);
    expect(kept(p, { arch: 'ppc64', capabilities: [] })).toEqual(['sync_file_range2']);
  });

  it('drops an excludes.arches rule on a listed arch', () => {
    const p = profile([rule(['fork'], { excludes: { arches: ['arm64'] } })]);
    expect(kept(p, X64)).toEqual(['fork']);
    expect(kept(p, { arch: 'arm64', capabilities: [] })).toEqual([]);
  });

  it('applies includes.minKernel against the kernel release, keeping the rule when the kernel is unknown', () => {
    const p = profile([rule(['pidfd_getfd'], { includes: { minKernel: '5.6' } })]);
    expect(kept(p, { ...X64, kernel: '5.4.0-150-generic' })).toEqual([]);
    expect(kept(p, { ...X64, kernel: '5.6' })).toEqual(['pidfd_getfd']);
    expect(kept(p, { ...X64, kernel: '6.1.0-18-amd64' })).toEqual(['pidfd_getfd']);
    expect(kept(p, X64)).toEqual(['pidfd_getfd']);
  });

  it('compares minKernel numerically, not as text', () => {
    const p = profile([rule(['x'], { includes: { minKernel: '5.10' } })]);
    expect(kept(p, { ...X64, kernel: '5.9.0' })).toEqual([]);
    expect(kept(p, { ...X64, kernel: '5.10.0' })).toEqual(['x']);
  });

  it('drops an excludes.minKernel rule on a kernel at least that new', () => {
    const p = profile([rule(['old_way'], { excludes: { minKernel: '5.8' } })]);
    expect(kept(p, { ...X64, kernel: '5.4.0' })).toEqual(['old_way']);
    expect(kept(p, { ...X64, kernel: '5.8.1' })).toEqual([]);
    expect(kept(p, X64)).toEqual(['old_way']);
  });

  it('treats null and empty filters as no condition', () => {
    const p = profile([rule(['read'], { includes: null, excludes: { caps: null, arches: [] } })]);
    expect(kept(p, X64)).toEqual(['read']);
  });
});

describe('seccompFromProfile: output shape', () => {
  it('strips comment, includes, excludes and errno, and keeps errnoRet and args', () => {
    const p = profile([
      rule(['socket'], {
        action: 'SCMP_ACT_ERRNO',
        comment: 'audit',
        errnoRet: 22,
        errno: 'EINVAL',
        args: [
          { index: 0, value: 16, valueTwo: 0, op: 'SCMP_CMP_EQ' },
          { index: 2, value: 9, op: 'SCMP_CMP_MASKED_EQ' },
        ],
      }),
    ]);
    const out = seccompFromProfile(p, X64);
    expect(out.syscalls).toEqual([
      {
        names: ['socket'],
        action: 'SCMP_ACT_ERRNO',
        errnoRet: 22,
        args: [
          { index: 0, value: 16, valueTwo: 0, op: 'SCMP_CMP_EQ' },
          { index: 2, value: 9, op: 'SCMP_CMP_MASKED_EQ' },
        ],
      },
    ]);
    expect(Object.keys(out)).toEqual(['defaultAction', 'defaultErrnoRet', 'architectures', 'syscalls']);
  });

  it('leaves args out when they are null or empty, and errnoRet out when absent', () => {
    const out = seccompFromProfile(profile([rule(['a'], { args: null }), rule(['b'], { args: [] })]), X64);
    expect(out.syscalls).toEqual([
      { names: ['a'], action: 'SCMP_ACT_ALLOW' },
      { names: ['b'], action: 'SCMP_ACT_ALLOW' },
    ]);
  });

  it('resolves errno names, which take precedence over errnoRet like containers-common', () => {
    const p = {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrno: 'ENOSYS',
      syscalls: [
        rule(['a'], { action: 'SCMP_ACT_ERRNO', errno: 'EPERM' }),
        rule(['b'], { action: 'SCMP_ACT_ERRNO', errno: 'EINVAL', errnoRet: 1 }),
        rule(['c'], { action: 'SCMP_ACT_ERRNO', errno: '13' }),
      ],
    };
    const out = seccompFromProfile(p, X64);
    expect(out.defaultErrnoRet).toBe(38);
    expect(out.syscalls?.map((s) => s.errnoRet)).toEqual([1, 22, 13]);
  });

  it('accepts the legacy single-name form', () => {
    const p = profile([{ name: 'read', action: 'SCMP_ACT_ALLOW', args: null }]);
    expect(seccompFromProfile(p, X64).syscalls).toEqual([{ names: ['read'], action: 'SCMP_ACT_ALLOW' }]);
  });

  it('leaves out profile flags, which runc 1.1.5 refuses', () => {
    const out = seccompFromProfile(profile([], { flags: ['SECCOMP_FILTER_FLAG_SPEC_ALLOW'] }), X64);
    expect(out).not.toHaveProperty('flags');
  });

  it('omits defaultErrnoRet when the profile has none and emits an empty syscall list', () => {
    expect(seccompFromProfile({ defaultAction: 'SCMP_ACT_ALLOW' }, X64)).toEqual({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [],
    });
  });

  it('is deterministic: keeps rule and name order and gives identical JSON on repeat', () => {
    const p = profile([rule(['z', 'a', 'm']), rule(['b'], { includes: { caps: ['CAP_X'] } }), rule(['c'])]);
    const target = { arch: 'x64', capabilities: ['CAP_X'] };
    expect(kept(p, target)).toEqual(['z,a,m', 'b', 'c']);
    expect(JSON.stringify(seccompFromProfile(p, target))).toBe(JSON.stringify(seccompFromProfile(structuredClone(p), target)));
  });

  it('does not modify its input', () => {
    const p = profile([rule(['read'], { includes: { caps: ['CAP_X'] } })]);
    const before = structuredClone(p);
    seccompFromProfile(p, { arch: 'x64', capabilities: ['CAP_X'] });
    expect(p).toEqual(before);
  });
});

describe('seccompFromProfile: malformed input', () => {
  const bad: [string, unknown, RegExp][] = [
    ['a non-object profile', [], /\(root\)/],
    ['a missing defaultAction', { syscalls: [] }, /defaultAction/],
    ['an unknown defaultAction', { defaultAction: 'SCMP_ACT_MAYBE' }, /defaultAction: unknown action/],
    ['SCMP_ACT_NOTIFY (no listener)', profile([rule(['x'], { action: 'SCMP_ACT_NOTIFY' })]), /syscalls\[0\]\.action: SCMP_ACT_NOTIFY/],
    ['a negative defaultErrnoRet', profile([], { defaultErrnoRet: -1 }), /defaultErrnoRet/],
    ['an unknown defaultErrno', profile([], { defaultErrno: 'EWHATEVER' }), /defaultErrno: unknown errno/],
    ['syscalls that are not an array', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: {} }, /syscalls: expected an array/],
    ['a rule that is not an object', profile([rule(['a']), 'read']), /syscalls\[1\]: expected an object/],
    ['a rule without names', profile([rule(['a']), rule(['b']), rule(['c']), { action: 'SCMP_ACT_ALLOW' }]), /syscalls\[3\]\.names/],
    ['empty names', profile([rule([])]), /syscalls\[0\]\.names: must not be empty/],
    ['a non-string name', profile([rule(['read', 7 as unknown as string])]), /syscalls\[0\]\.names\[1\]/],
    ['both name and names', profile([rule(['read'], { name: 'write' })]), /syscalls\[0\]: has both 'name' and 'names'/],
    ['a missing action', profile([{ names: ['read'] }]), /syscalls\[0\]\.action/],
    ['a fractional errnoRet', profile([rule(['a'], { errnoRet: 1.5 })]), /syscalls\[0\]\.errnoRet/],
    ['an errnoRet above 16 bits', profile([rule(['a'], { errnoRet: 70000 })]), /syscalls\[0\]\.errnoRet/],
    ['an unknown errno name', profile([rule(['a'], { errno: 'ENOPE' })]), /syscalls\[0\]\.errno: unknown errno/],
    ['args that are not an array', profile([rule(['a'], { args: {} })]), /syscalls\[0\]\.args: expected an array/],
    ['an arg index above 5', profile([rule(['a'], { args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] })]), /syscalls\[0\]\.args\[0\]\.index/],
    ['a value beyond 2^53', profile([rule(['a'], { args: [{ index: 0, value: 18446744073709551615, op: 'SCMP_CMP_EQ' }] })]), /args\[0\]\.value/],
    ['a negative valueTwo', profile([rule(['a'], { args: [{ index: 0, value: 1, valueTwo: -1, op: 'SCMP_CMP_MASKED_EQ' }] })]), /args\[0\]\.valueTwo/],
    ['an unknown operator', profile([rule(['a'], { args: [{ index: 0, value: 1, op: 'EQ' }] })]), /syscalls\[0\]\.args\[0\]\.op/],
    ['an includes that is not an object', profile([rule(['a'], { includes: ['CAP_X'] })]), /syscalls\[0\]\.includes/],
    ['an unknown filter condition', profile([rule(['a'], { excludes: { kernelMax: '6.0' } })]), /syscalls\[0\]\.excludes\.kernelMax: unknown filter condition/],
    ['caps that are not strings', profile([rule(['a'], { includes: { caps: [1] } })]), /syscalls\[0\]\.includes\.caps\[0\]/],
    ['a malformed minKernel', profile([rule(['a'], { includes: { minKernel: 'five' } })]), /syscalls\[0\]\.includes\.minKernel/],
    ['an archMap entry without architecture', profile([], { archMap: [{ subArchitectures: [] }] }), /archMap\[0\]\.architecture/],
    [
      'a bad sub-architecture',
      profile([], { archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['x86'] }] }),
      /archMap\[0\]\.subArchitectures\[0\]/,
    ],
    ['both architectures and archMap', profile([], { architectures: ['SCMP_ARCH_X86_64'] }), /architectures: both/],
    ['flags that are not strings', profile([], { flags: [1] }), /flags\[0\]/],
  ];
  it.each(bad)('rejects %s, naming the field', (_what, input, message) => {
    expect(() => seccompFromProfile(input, X64)).toThrow(message);
  });

  it('validates rules that do not apply to the target too', () => {
    const p = profile([rule(['a'], { includes: { arches: ['s390x'] }, args: [{ index: 9, value: 0, op: 'SCMP_CMP_EQ' }] })]);
    expect(() => seccompFromProfile(p, X64)).toThrow(/syscalls\[0\]\.args\[0\]\.index/);
  });

  it('rejects a malformed target kernel and capability list', () => {
    expect(() => seccompFromProfile(profile([]), { ...X64, kernel: 'unknown' })).toThrow(/target\.kernel/);
    expect(() => seccompFromProfile(profile([]), { arch: 'x64', capabilities: 'CAP_X' as unknown as string[] })).toThrow(/target\.capabilities/);
  });

  it('throws plain Errors prefixed with seccomp:', () => {
    expect(() => seccompFromProfile(null, X64)).toThrow(Error);
    expect(() => seccompFromProfile(null, X64)).toThrow(/^seccomp: /);
  });
});

const REAL = '/usr/share/containers/seccomp.json';
const hasReal = existsSync(REAL);

describe('seccompFromProfile: the installed containers-common profile', () => {
  const load = (): unknown => JSON.parse(readFileSync(REAL, 'utf8'));
  const rulesFor = (out: { syscalls?: SeccompSyscall[] }, name: string): SeccompSyscall[] => (out.syscalls ?? []).filter((s) => s.names.includes(name));

  it.skipIf(!hasReal)(`converts ${REAL} (skipped: golang-github-containers-common is not installed)`, () => {
    const p = load();
    const plain = seccompFromProfile(p, { arch: 'x64', capabilities: ['CAP_CHOWN', 'CAP_NET_BIND_SERVICE'], kernel: '6.1.0-18-amd64' });
    expect(plain.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(plain.defaultErrnoRet).toBe(38);
    expect(plain.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    expect(plain).not.toHaveProperty('flags');

    // kcmp and process_madvise are the CAP_SYS_PTRACE-gated pair: allowed with it, EPERM without.
    expect(rulesFor(plain, 'kcmp').map((r) => [r.action, r.errnoRet])).toEqual([['SCMP_ACT_ERRNO', 1]]);
    const traced = seccompFromProfile(p, { arch: 'x64', capabilities: ['CAP_SYS_PTRACE'] });
    expect(rulesFor(traced, 'kcmp').map((r) => [r.action, r.errnoRet])).toEqual([['SCMP_ACT_ALLOW', undefined]]);
    // Same pattern for CAP_SYS_ADMIN.
    expect(rulesFor(plain, 'bpf').map((r) => r.action)).toEqual(['SCMP_ACT_ERRNO']);
    const admin = seccompFromProfile(p, { arch: 'x64', capabilities: ['CAP_SYS_ADMIN'] });
    expect(rulesFor(admin, 'bpf').map((r) => r.action)).toEqual(['SCMP_ACT_ALLOW']);

    // Arch-gated rules follow the target.
    expect(rulesFor(plain, 'arch_prctl')).toHaveLength(1);
    const arm = seccompFromProfile(p, { arch: 'arm64', capabilities: [] });
    expect(arm.architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    expect(rulesFor(arm, 'arch_prctl')).toHaveLength(0);
    expect(rulesFor(arm, 'breakpoint')).toHaveLength(1);

    // Nothing but OCI fields survives, args included.
    for (const s of plain.syscalls ?? []) {
      expect(Object.keys(s).every((k) => ['names', 'action', 'errnoRet', 'args'].includes(k))).toBe(true);
      for (const a of s.args ?? []) expect(Object.keys(a).sort()).toEqual(['index', 'op', 'value', 'valueTwo']);
    }
    expect(rulesFor(plain, 'personality').map((r) => r.args?.[0]?.value)).toEqual([0, 8, 131072, 131080, 4294967295]);
  });
});
