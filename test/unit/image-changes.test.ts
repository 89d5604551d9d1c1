/**
 * `import --change`: Dockerfile instructions (CMD, ENTRYPOINT, ENV, WORKDIR,
 * USER) parsed as docker import -c and podman import --change take them, and
 * applied in order over an image config; a bad one is an error naming it.
 */
import { describe, expect, it } from 'vitest';
import { BarepodError } from '../../src/errors.js';
import { configFromChanges, parseChange } from '../../src/plan/image-changes.js';

/** The error a bad instruction gives: its code, message and hint. */
function refusal(texts: string[]): { code: string; message: string; hint: string } {
  try {
    configFromChanges(texts);
  } catch (e) {
    if (!(e instanceof BarepodError)) throw e;
    return { code: e.code, message: e.message, hint: e.hint ?? '' };
  }
  throw new Error(`accepted: ${JSON.stringify(texts)}`);
}

describe('parseChange', () => {
  it('CMD and ENTRYPOINT: a JSON array is the exec form, anything else the shell form', () => {
    expect(parseChange('CMD ["nginx", "-g", "daemon off;"]')).toEqual({ instruction: 'CMD', argv: ['nginx', '-g', 'daemon off;'] });
    expect(parseChange(`CMD nginx -g 'daemon off;'`)).toEqual({ instruction: 'CMD', argv: ['/bin/sh', '-c', `nginx -g 'daemon off;'`] });
    expect(parseChange('ENTRYPOINT ["/entry.sh"]')).toEqual({ instruction: 'ENTRYPOINT', argv: ['/entry.sh'] });
    expect(parseChange('entrypoint exec /app --flag')).toEqual({ instruction: 'ENTRYPOINT', argv: ['/bin/sh', '-c', 'exec /app --flag'] });
    expect(parseChange('CMD []')).toEqual({ instruction: 'CMD', argv: [] });
    expect(parseChange('  cmd\t["a"]  ')).toEqual({ instruction: 'CMD', argv: ['a'] });
  });

  it('ENV: KEY=VALUE words with quotes and escapes, or the old KEY VALUE form', () => {
    expect(parseChange("ENV A=1 B=\"two words\" C='it''s' D=a\\ b")).toEqual({
      instruction: 'ENV',
      env: [
        ['A', '1'],
        ['B', 'two words'],
        ['C', 'its'],
        ['D', 'a b'],
      ],
    });
    expect(parseChange('ENV E=')).toEqual({ instruction: 'ENV', env: [['E', '']] });
    expect(parseChange('ENV X=a=b')).toEqual({ instruction: 'ENV', env: [['X', 'a=b']] });
    expect(parseChange('ENV GREETING hello   big world')).toEqual({ instruction: 'ENV', env: [['GREETING', 'hello   big world']] });
    expect(parseChange('ENV Q "quoted value"')).toEqual({ instruction: 'ENV', env: [['Q', 'quoted value']] });
    expect(parseChange('ENV P="say \\"hi\\" for $5"')).toEqual({ instruction: 'ENV', env: [['P', 'say "hi" for $5']] });
  });

  it('WORKDIR and USER', () => {
    expect(parseChange('WORKDIR /srv/app')).toEqual({ instruction: 'WORKDIR', dir: '/srv/app' });
    expect(parseChange('WORKDIR "/with space"')).toEqual({ instruction: 'WORKDIR', dir: '/with space' });
    expect(parseChange('USER nginx')).toEqual({ instruction: 'USER', user: 'nginx' });
    expect(parseChange('USER 101:101')).toEqual({ instruction: 'USER', user: '101:101' });
    expect(parseChange('user app:staff')).toEqual({ instruction: 'USER', user: 'app:staff' });
  });
});

describe('configFromChanges', () => {
  it('applies in order: a later CMD, ENTRYPOINT, WORKDIR or USER replaces, ENV adds and replaces by name', () => {
    expect(
      configFromChanges([
        'CMD ["a"]',
        'ENTRYPOINT ["/e"]',
        'CMD ["b", "c"]',
        'ENV A=1 B=2',
        'ENV A 3',
        'WORKDIR /srv',
        'WORKDIR app/../web/',
        'USER 1',
        'USER nobody',
      ]),
    ).toEqual({ Cmd: ['b', 'c'], Entrypoint: ['/e'], Env: ['B=2', 'A=3'], WorkingDir: '/srv/web', User: 'nobody' });
    expect(configFromChanges(['WORKDIR rel'])).toEqual({ WorkingDir: '/rel' });
    expect(configFromChanges([])).toEqual({});
    expect(configFromChanges(['ENV PATH=/bin'], { Env: ['PATH=/usr/bin', 'X=1'] })).toEqual({ Env: ['X=1', 'PATH=/bin'] });
  });

  it('a bad instruction is refused, naming it and showing its right form', () => {
    const cases: [string, RegExp, RegExp][] = [
      ['CMD [nginx]', /--change "CMD \[nginx\]": CMD's exec form is not valid JSON/, /CMD \["nginx", "-g", "daemon off;"\]/],
      ['CMD ["a", 1]', /CMD's exec form must be a JSON array of strings/, /JSON array/],
      ['ENTRYPOINT', /ENTRYPOINT needs a value/, /ENTRYPOINT \["/],
      ['ENV', /ENV needs a value/, /ENV KEY=VALUE/],
      ['ENV A=1 B', /ENV: "B" is not KEY=VALUE/, /ENV KEY=VALUE/],
      ['ENV 1A=x', /"1A" is not a valid variable name/, /ENV KEY=VALUE/],
      ['ENV NAME', /ENV NAME has no value/, /ENV KEY VALUE/],
      ['ENV A="open', /ENV: a double quote is not closed/, /ENV/],
      ['WORKDIR /a /b', /WORKDIR takes one path/, /WORKDIR \/srv\/app/],
      ['WORKDIR /../..', /climbs above the root/, /WORKDIR/],
      ['WORKDIR /proc/self/fd/7', /is refused: it is inside \/proc/, /WORKDIR/],
      ['USER a b', /USER takes one user name or uid/, /USER nginx/],
      ['USER a:b:c', /USER takes one/, /USER/],
      ['USER $(id)', /USER takes one/, /USER/],
      ['EXPOSE 80', /EXPOSE is not supported by import --change \(supported: CMD, ENTRYPOINT, ENV, WORKDIR, USER\)/, /Dockerfile instruction/],
      ['nginx -g x', /"nginx" is not a Dockerfile instruction that import --change takes/, /--change 'CMD/],
      ['   ', /it is empty/, /Dockerfile instruction/],
    ];
    for (const [text, message, hint] of cases) {
      const r = refusal([text]);
      expect(r.code, text).toBe('invalid-value');
      expect(r.message, text).toMatch(message);
      expect(r.hint, text).toMatch(hint);
    }
  });
});
