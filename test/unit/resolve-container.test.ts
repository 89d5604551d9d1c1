/**
 * resolveContainer: one place applies Kubernetes' image rules to a container
 * as written (a manifest's, or `run`'s flags), after the pull, and records
 * the image digest — for `run` and `up` alike.
 */
import { describe, expect, it } from 'vitest';
import { parseManifests } from '../../src/manifest/pod.js';
import { resolveContainer, type ContainerSpec } from '../../src/plan/container.js';
import type { ImageDefaults } from '../../src/plan/image-ref.js';
import { containerDefinition } from '../../src/cli/definitions.js';

const image = (d: Partial<ImageDefaults> = {}): ImageDefaults => ({
  entrypoint: ['/entry'],
  cmd: ['--serve'],
  env: ['A=image', 'B=image'],
  workdir: '/srv',
  user: 'app',
  ...d,
});
const spec = (extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
  name: 'c',
  kind: 'app',
  image: 'app:1',
  rootfs: null,
  env: [],
  limits: {},
  pidMode: 'pod',
  seccomp: 'default',
  ...extra,
});
const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('parsing is pure', () => {
  it('a manifest keeps command, args, workingDir and the user as written', () => {
    const { pods } = parseManifests(
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: app:1\n    args: [--debug]\n    securityContext: {runAsGroup: 5}\n  - name: d\n    image: app:1\n',
    );
    const [c, d] = pods[0]!.containers;
    expect(c).toMatchObject({ args: ['--debug'], runAsGroup: 5, env: [] });
    expect(c).not.toHaveProperty('command');
    expect(c).not.toHaveProperty('workdir');
    expect(c).not.toHaveProperty('user');
    expect(d).not.toHaveProperty('args');
  });
});

describe('resolveContainer', () => {
  it('command replaces the entrypoint (and drops the cmd), args replace the cmd', () => {
    expect(resolveContainer(spec(), { defaults: image() }).args).toEqual(['/entry', '--serve']);
    expect(resolveContainer(spec({ args: ['--debug'] }), { defaults: image() }).args).toEqual(['/entry', '--debug']);
    expect(resolveContainer(spec({ command: ['/bin/sh'] }), { defaults: image() }).args).toEqual(['/bin/sh']);
    expect(resolveContainer(spec({ command: ['/bin/sh'], args: ['-c', 'true'] }), { defaults: image() }).args).toEqual(['/bin/sh', '-c', 'true']);
    expect(resolveContainer(spec(), { defaults: image({ entrypoint: [], cmd: [] }) }).args).toEqual([]); // the caller names what to set
  });

  it("env is merged under the container's; the container's workdir wins over the image's", () => {
    const r = resolveContainer(spec({ env: ['B=mine'], workdir: '/w' }), { defaults: image() });
    expect(r.env).toEqual(['A=image', 'B=mine']);
    expect(r.workdir).toBe('/w');
    expect(resolveContainer(spec(), { defaults: image() }).workdir).toBe('/srv');
  });

  it("user: --user, else runAsUser/runAsGroup, else the image's USER (a name resolved at launch; runAsGroup kept with a numeric one)", () => {
    expect(resolveContainer(spec(), { defaults: image() })).toMatchObject({ user: { uid: 0, gid: 0 }, userName: 'app', userFromImage: true });
    expect(resolveContainer(spec({ runAsUser: 7 }), { defaults: image() })).toMatchObject({ user: { uid: 7, gid: 7 } });
    expect(resolveContainer(spec({ runAsUser: 7 }), { defaults: image() })).not.toHaveProperty('userName');
    expect(resolveContainer(spec({ runAsGroup: 9 }), { defaults: image({ user: '5' }) }).user).toEqual({ uid: 5, gid: 9 });
    expect(resolveContainer(spec({ userText: 'www:staff' }), { defaults: image() })).toMatchObject({ userName: 'www:staff' });
    expect(resolveContainer(spec({ userText: 'www' }), { defaults: image() })).not.toHaveProperty('userFromImage');
    expect(() => resolveContainer(spec(), { defaults: image({ user: 'no body' }) })).toThrow(/^image app:1: its config's User "no body"/);
  });

  it('records the image digest (run and up alike); the built-in busybox has none', () => {
    expect(resolveContainer(spec(), { defaults: image(), digest: DIGEST }).imageId).toBe(DIGEST);
    expect(resolveContainer(spec(), { defaults: image() })).not.toHaveProperty('imageId');
    const fromRun = containerDefinition({ name: 'c', image: 'app:1', command: [], imageDefaults: image(), imageId: DIGEST });
    const fromManifest = resolveContainer(spec(), { defaults: image(), digest: DIGEST });
    expect(fromRun).toEqual(fromManifest);
  });
});
