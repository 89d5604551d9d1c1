/**
 * Input hardening of the manifest reader: hostAliases are checked like
 * --add-host, YAML alias bombs and deep nesting are refused with a line
 * number, and a manifest has size and count limits a real Pod never reaches.
 */
import { describe, expect, it } from 'vitest';
import { ManifestError, parseManifests } from '../../src/manifest/pod.js';
import { parseAddHost } from '../../src/plan/network.js';
import { BarepodError } from '../../src/errors.js';
import { thrown } from '../helpers/thrown.js';
import { base } from '../fixtures/manifests.js';

function problems(text: string): string[] {
  const e = thrown(() => parseManifests(text, { file: 'pod.yaml' }));
  expect(e).toBeInstanceOf(ManifestError);
  expect((e as ManifestError).exitCode).toBe(2);
  return (e as ManifestError).issues.map((i) => `${i.path}: ${i.message}`);
}

const aliases = (yaml: string) => base(undefined, `  hostAliases:\n${yaml}`);

describe('hostAliases are checked like --add-host', () => {
  it('accepts what --add-host accepts', () => {
    const { pods } = parseManifests(aliases('    - ip: 10.0.0.1\n      hostnames: [db.local, DB-2, a]\n    - ip: "fd00::1"\n      hostnames: [v6.local]\n'));
    expect(pods[0]!.pod.hostAliases).toEqual([
      { ip: '10.0.0.1', hostnames: ['db.local', 'DB-2', 'a'] },
      { ip: 'fd00::1', hostnames: ['v6.local'] },
    ]);
    expect(parseAddHost('db.local;DB-2:10.0.0.1')).toEqual({ ip: '10.0.0.1', hostnames: ['db.local', 'DB-2'] });
  });

  it.each([
    ['a newline (an injected /etc/hosts line)', '"db\\n6.6.6.6 bank.example"'],
    ['a carriage return', '"db\\r"'],
    ['a space (two names in one)', '"db other"'],
    ['a tab', '"db\\tother"'],
    ['a comment sign', '"db#x"'],
    ['an empty name', '""'],
    ['a leading dash', '"-db"'],
    ['a trailing dot', '"db."'],
    ['a slash', '"a/b"'],
    ['a NUL', '"db\\0"'],
    ['a name longer than 253 characters', `"${'a'.repeat(254)}"`],
  ])('refuses a hostname with %s, naming the field path', (_what, name) => {
    const out = problems(aliases(`    - ip: 10.0.0.1\n      hostnames: [ok.local, ${name}]\n`));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^spec\.hostAliases\[0\]\.hostnames\[1\]: ".*" is not a host name/s);
  });

  it.each([
    ['a newline after the address', '"10.0.0.1\\n6.6.6.6 bank.example"'],
    ['a trailing newline', '"10.0.0.1\\n"'],
    ['a space', '"10.0.0.1 evil"'],
    ['colons only', '":::::"'],
    ['an octet over 255', '"10.0.0.256"'],
    ['a host name', 'db.local'],
  ])('refuses an ip with %s, naming the field path', (_what, ip) => {
    const out = problems(aliases(`    - ip: 10.0.0.2\n      hostnames: [a]\n    - ip: ${ip}\n      hostnames: [b]\n`));
    expect(out).toEqual([expect.stringMatching(/^spec\.hostAliases\[1\]\.ip: ".*" is not an IP address/s)]);
  });

  it('--add-host refuses the same names (one rule for both)', () => {
    for (const bad of ['db\nx:10.0.0.1', 'db x:10.0.0.1', 'db:10.0.0.1\n', `${'a'.repeat(254)}:10.0.0.1`]) {
      const e = thrown(() => parseAddHost(bad)) as BarepodError;
      expect(e).toBeInstanceOf(BarepodError);
      expect(e.exitCode).toBe(2);
    }
  });
});

describe('/etc/hosts never gets a line it was not given', () => {
  it('hostsWithAliases refuses an alias a parser would have refused (a record of an older barepod)', async () => {
    const { hostsWithAliases } = await import('../../src/plan/pod-files.js');
    expect(hostsWithAliases('', [{ ip: '10.0.0.1', hostnames: ['db.local'] }])).toBe('# entries added by hostAliases (--add-host)\n10.0.0.1\tdb.local\n');
    for (const a of [
      { ip: '10.0.0.1', hostnames: ['db\n6.6.6.6 bank'] },
      { ip: '10.0.0.1\n6.6.6.6', hostnames: ['db'] },
    ]) {
      const e = thrown(() => hostsWithAliases('', [a])) as BarepodError;
      expect(e).toBeInstanceOf(BarepodError);
      expect(e.message).toMatch(/^hostAliases: ".*\\n.*" is not (an IP address|a host name)/);
    }
  });
});

/** A "billion laughs": ten levels of nine aliases each, 10^9 strings once expanded. */
export function aliasBomb(): string {
  const lines = ['  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++)
    lines.push(
      `  a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(',')}]`,
    );
  return base(undefined, '', `  annotations:\n    note: x\n  labels:\n${lines.join('\n').replace(/^ {2}/gm, '    ')}\n`);
}

describe('YAML bombs and oversized manifests are usage errors naming the line or the limit', async () => {
  const { MANIFEST_LIMITS } = await import('../../src/manifest/pod.js');

  it('states limits no real Pod reaches', () => {
    expect(MANIFEST_LIMITS).toEqual({ bytes: 3 * 1024 * 1024, depth: 100, containers: 100, annotationBytes: 256 * 1024, aliasCount: 100 });
  });

  it('an alias bomb ("billion laughs") is refused with the line of its first alias', () => {
    const text = aliasBomb();
    const line = text.split('\n').findIndex((l) => l.includes('*a0')) + 1;
    const out = problems(text);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(new RegExp(`^\\(yaml\\): aliases expand too much .*alias bomb.* at line ${line}, column \\d+`));
    expect(out[0]).toContain('100');
  });

  it('a document of many documents: the bomb is named in its own document', () => {
    const out = problems(`${base()}---\n${aliasBomb().replace('name: web', 'name: other')}`);
    expect(out).toEqual([expect.stringMatching(/^document 2: \(yaml\): aliases expand too much/)]);
  });

  it('aliases that expand little still work', () => {
    const text = base(
      '    - &c {name: app, image: busybox, command: [sleep, "1"], env: &e [{name: A, value: "1"}]}\n    - {name: two, image: busybox, env: *e}\n',
    );
    expect(parseManifests(text).pods[0]!.containers.map((c) => c.name)).toEqual(['app', 'two']);
  });

  it.each([
    ['flow sequences', 100_000, 7, (d: number) => `x: ${'['.repeat(d)}${']'.repeat(d)}`],
    ['flow maps', 100_000, 7, (d: number) => `x: ${'{a: '.repeat(d)}1${'}'.repeat(d)}`],
    ['compact block sequences', 100_000, 8, (d: number) => `x:\n${'- '.repeat(d)}1`],
    ['block maps', 300, 107, (d: number) => `x:\n${Array.from({ length: d }, (_, i) => `${' '.repeat(i + 1)}k:`).join('\n')} 1`],
  ])('nesting of %s deeper than the limit is refused with its line; under the limit it is only an unknown field', (_what, depth, line, nest) => {
    const at = (d: number) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers: [{name: a, image: busybox}]\n${nest(d)}\n`;
    const deep = problems(at(depth));
    expect(deep).toHaveLength(1);
    expect(deep[0]).toMatch(new RegExp(`^\\(yaml\\): nests deeper than 100 levels at line ${line}, column \\d+`));
    // just under the limit: the parser gets through, and the field is refused as the unknown field it is
    expect(problems(at(95))).toEqual([expect.stringMatching(/^x: /)]);
  });

  it(`a manifest larger than 3 MiB is refused before it is parsed`, () => {
    const text = base(undefined, '', `  annotations:\n    big: "${'x'.repeat(3 * 1024 * 1024)}"\n`);
    expect(problems(text)).toEqual([
      `(file): is ${Buffer.byteLength(text)} bytes: more than the limit of 3 MiB (3145728 bytes) for a manifest (Kubernetes' API refuses requests over 3 MiB)`,
    ]);
  });

  it("annotations over 256 KiB in total (keys and values) are refused, naming Kubernetes' limit", () => {
    const value = 'x'.repeat(128 * 1024);
    const ok = base(undefined, '', `  annotations:\n    a: "${value}"\n    b: "${value.slice(2)}"\n`);
    expect(parseManifests(ok).pods).toHaveLength(1);
    const tooBig = base(undefined, '', `  annotations:\n    a: "${value}"\n    b: "${value}"\n`);
    expect(problems(tooBig)).toEqual([
      `metadata.annotations: ${2 * 128 * 1024 + 2} bytes in total (keys and values): more than the limit of 256 KiB (262144 bytes, as Kubernetes' TotalAnnotationSizeLimitB)`,
    ]);
  });

  it('more than 100 containers and init containers in a pod are refused (each is a conmon and a runc container)', () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `    - {name: c${i}, image: busybox}\n`).join('');
    expect(parseManifests(base(many(60), `  initContainers:\n${many(40).replace(/name: c/g, 'name: i')}`)).pods[0]!.containers).toHaveLength(100);
    expect(problems(base(many(61), `  initContainers:\n${many(40).replace(/name: c/g, 'name: i')}`))).toEqual([
      'spec.containers: 101 containers and init containers: more than the limit of 100 in a pod',
    ]);
    // 200,000 containers: refused without building 200,000 definitions (the size limit comes first for a file this large)
    expect(problems(base(many(200_000)))[0]).toMatch(/^\(file\): is \d+ bytes: more than the limit of 3 MiB/);
  });
});
