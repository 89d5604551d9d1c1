import { describe, expect, it } from 'vitest';
import { systemdUnit, type UnitInput } from '../../src/manifest/systemd.js';
import type { BarepodError } from '../../src/errors.js';
import { thrown } from '../helpers/thrown.js';

const err = (fn: () => unknown) => thrown(fn) as BarepodError;

/** The keys a barepod unit has, in order: anything else is an injected directive. */
const KEYS = [
  'Description',
  'Wants',
  'After',
  'Type',
  'RemainAfterExit',
  'ExecStartPre',
  'ExecStart',
  'ExecStop',
  'TimeoutStartSec',
  'TimeoutStopSec',
  'WantedBy',
];

/** The directives of a unit (comments, blanks and sections dropped). */
const directives = (unit: string): [string, string][] =>
  unit
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#') && !l.startsWith('['))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);

/**
 * One Exec*= command line read the way systemd reads it: words split on
 * blanks, "…" with \-escapes, then %% → % and $$ → $. Any specifier or
 * variable left (a lone % or $) would have been expanded by systemd: fails.
 */
function execArgv(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    const raw = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!;
    expect(raw.replace(/%%/g, ''), `an unescaped specifier in ${raw}`).not.toContain('%');
    expect(raw.replace(/\$\$/g, ''), `an unescaped variable in ${raw}`).not.toContain('$');
    words.push(raw.replace(/%%/g, '%').replace(/\$\$/g, '$'));
  }
  return words;
}

const base: UnitInput = { pod: 'web', barepod: ['/opt/barepod/bin/barepod'], manifest: '/var/lib/barepod/manifests/web.yaml', graceSeconds: 30 };

describe('systemd unit: hostile values', () => {
  it('a newline in the manifest path, the state root or the launcher path is refused, naming the value (no ExecStartPost= injected)', () => {
    const inject = '\nExecStartPost=/bin/sh -c "touch /tmp/pwned"\n';
    const cases: [UnitInput, string][] = [
      [{ ...base, manifest: `/srv/m${inject}x.yaml` }, 'manifest path'],
      [{ ...base, root: `/srv/state${inject}` }, 'state root'],
      [{ ...base, barepod: [`/opt/bp${inject}`] }, 'barepod command'],
    ];
    for (const [input, what] of cases) {
      const e = err(() => systemdUnit(input));
      expect(e.code).toBe('invalid-value');
      expect(e.message).toContain(`the ${what} `);
      expect(e.message).toContain('U+000A');
    }
    for (const c of ['\r', '\t', '\u0000', '\u001b', '\u007f', '\u2028']) {
      expect(err(() => systemdUnit({ ...base, manifest: `/srv/a${c}b.yaml` })).code).toBe('invalid-value');
    }
  });

  it('% and $ in paths are written %% and $$: systemd runs exactly the argv barepod meant, and the unit has only its own directives', () => {
    const root = '/srv/%h $HOME ${PATH} "q" \\b ;';
    const manifest = '/srv/%n/$USER/%%x.yaml';
    const unit = systemdUnit({ ...base, barepod: ['/opt/%i/bin/barepod'], root, manifest });
    const d = directives(unit);
    expect(d.map(([k]) => k)).toEqual(KEYS);
    const get = (k: string) => d.find(([key]) => key === k)![1];
    expect(execArgv(get('ExecStart'))).toEqual(['/opt/%i/bin/barepod', '--root', root, 'up', '-f', manifest, '--wait', '--timeout', '120s']);
    expect(execArgv(get('ExecStop'))).toEqual(['/opt/%i/bin/barepod', '--root', root, 'down', 'web']);
    expect(execArgv(get('ExecStartPre'))).toEqual(['/opt/%i/bin/barepod', '--root', root, 'gc']);
    expect(unit).toContain('ExecStart=/opt/%%i/bin/barepod --root "/srv/%%h $$HOME $${PATH} \\"q\\" \\\\b ;" up -f "/srv/%%n/$$USER/%%%%x.yaml"');
  });
});
