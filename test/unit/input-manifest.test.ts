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
    for (const a of [{ ip: '10.0.0.1', hostnames: ['db\n6.6.6.6 bank'] }, { ip: '10.0.0.1\n6.6.6.6', hostnames: ['db'] }]) {
      const e = thrown(() => hostsWithAliases('', [a])) as BarepodError;
      expect(e).toBeInstanceOf(BarepodError);
      expect(e.message).toMatch(/^hostAliases: ".*\\n.*" is not (an IP address|a host name)/);
    }
  });
});
