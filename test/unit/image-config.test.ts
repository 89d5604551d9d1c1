/**
 * An image's config (WorkingDir, User) is image content: a bad value is an
 * error that names the image config, never silently replaced (WorkingDir
 * "../../.." used to become "/") nor blamed on a --user flag never given.
 */
import { parseResolved } from '../helpers/resolve.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BarepodError } from '../../src/errors.js';
import { imageDefaults } from '../../src/plan/image-ref.js';
import { containerDefinition } from '../../src/cli/definitions.js';
import { withRootfsUser } from '../../src/runtime/images.js';
import { thrown } from '../helpers/thrown.js';

const defaults = (config: Record<string, unknown>) => imageDefaults({ config: { Cmd: ['sh'], ...config } });
const run = (config: Record<string, unknown>, flags: { workdir?: string; user?: string } = {}) =>
  containerDefinition({ name: 'app', image: 'evil:1', command: [], imageDefaults: defaults(config), ...flags });
const manifest = (config: Record<string, unknown>, extra = '') =>
  parseResolved(`apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: app\n    image: evil:1\n${extra}`, {
    imageDefaults: () => defaults(config),
  });

describe('image config: WorkingDir', () => {
  it.each([['../../..'], ['app'], ['/../../..'], ['/a/../../b'], ['/proc/self/fd/7']])('%j is an error naming the image config (run and manifest)', (wd) => {
    const e = thrown(() => run({ WorkingDir: wd })) as BarepodError;
    expect(e).toBeInstanceOf(BarepodError);
    expect(e.code).toBe('invalid-value');
    expect(e.message).toMatch(
      new RegExp(
        `^image evil:1: its config's WorkingDir "${wd.replace(/[.*/]/g, '\\$&')}" (is not an absolute path|climbs above the root of the container with "\\.\\."|is refused: it is inside /proc)`,
      ),
    );
    expect(e.message).not.toContain('--workdir');
    expect(e.hint).toMatch(/WORKDIR/);
    const m = thrown(() => manifest({ WorkingDir: wd })) as Error;
    // found when the container is resolved against its image, after the pull (up prefixes the pod and container)
    expect(m.message).toContain(`image evil:1: its config's WorkingDir "${wd}"`);
  });

  it("a good one is used; an empty one is /; the container's own (-w, workingDir) wins over a bad one", () => {
    expect(run({ WorkingDir: '/srv/app' }).workdir).toBe('/srv/app');
    expect(run({ WorkingDir: '/a/../b' }).workdir).toBe('/a/../b');
    expect(run({ WorkingDir: '' }).workdir).toBe('/');
    expect(run({}).workdir).toBe('/');
    expect(run({ WorkingDir: '../../..' }, { workdir: '/w' }).workdir).toBe('/w');
    expect(manifest({ WorkingDir: '../../..' }, '    workingDir: /w\n').pods[0]!.containers[0]!.workdir).toBe('/w');
    expect(manifest({ WorkingDir: '/srv' }).pods[0]!.containers[0]!.workdir).toBe('/srv');
  });

  it('-w and workingDir in /proc or /dev/fd are refused naming the flag or the field (CVE-2024-21626)', () => {
    expect((thrown(() => run({}, { workdir: '/proc/self/fd/7' })) as Error).message).toMatch(/^--workdir "\/proc\/self\/fd\/7": refused: it is inside \/proc/);
    expect((thrown(() => run({}, { workdir: '/dev/fd/9' })) as Error).message).toMatch(/^--workdir "\/dev\/fd\/9": refused: it is under \/dev\/fd/);
    expect((thrown(() => manifest({}, '    workingDir: /proc/1/fd/3\n')) as Error).message).toContain(
      'spec.containers[0].workingDir: "/proc/1/fd/3" is refused: it is inside /proc',
    );
  });
});

describe('image config: User', () => {
  let dir = '';
  afterEach(() => dir && fs.rmSync(dir, { recursive: true, force: true }));
  const rootfs = () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-unit-user-'));
    fs.mkdirSync(path.join(dir, 'etc'));
    fs.writeFileSync(path.join(dir, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n');
    fs.writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\napp:x:1000:\n');
    return dir;
  };

  it('a malformed USER names the image config, not --user', () => {
    const e = thrown(() => run({ User: 'no body' })) as BarepodError;
    expect(e.message).toBe('image evil:1: its config\'s User "no body": must be UID[:GID] or NAME[:GROUP]');
    expect((thrown(() => run({ User: '99999999999' })) as Error).message).toBe(
      'image evil:1: its config\'s User "99999999999": uid and gid must be at most 4294967294',
    );
    // the flag's own errors still name the flag
    expect((thrown(() => run({}, { user: 'no body' })) as Error).message).toBe('--user "no body": must be UID[:GID] or NAME[:GROUP]');
  });

  it("a USER the image's /etc/passwd lacks names the image config when the container is made (run and manifest); --user names the flag", () => {
    const root = rootfs();
    const fromRun = run({ User: 'ghost' });
    expect(fromRun.userFromImage).toBe(true);
    const e = thrown(() => withRootfsUser(fromRun, root)) as BarepodError;
    expect(e.message).toBe('image evil:1: its config\'s User "ghost": user "ghost" is not in the image\'s /etc/passwd');
    expect(e.hint).not.toMatch(/--user/);
    const fromManifest = manifest({ User: 'app:nogroup' }).pods[0]!.containers[0]!;
    expect((thrown(() => withRootfsUser(fromManifest, root)) as Error).message).toBe(
      'image evil:1: its config\'s User "app:nogroup": group "nogroup" is not in the image\'s /etc/group',
    );
    const flag = run({ User: 'app' }, { user: 'ghost' });
    expect(flag.userFromImage).toBeUndefined();
    expect((thrown(() => withRootfsUser(flag, root)) as Error).message).toBe('--user "ghost": user "ghost" is not in the image\'s /etc/passwd');
    expect(withRootfsUser(run({ User: 'app' }), root).user).toEqual({ uid: 1000, gid: 1000 });
  });
});
