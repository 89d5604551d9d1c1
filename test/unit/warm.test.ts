/**
 * warmReadCommands (src/cli/warm.ts): the read commands run once through the CLI at snapshot build time, so the
 * blob holds their bytecode. They must take the paths a real call takes (a running pod: exit 0, the pod listed),
 * write nothing to the real stdout or stderr, leave no file and give back the streams and the exit code.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { WARM_CALLS, WARM_POD, warmReadCommands } from '../../src/cli/warm.js';
import { podPaths } from '../../src/plan/paths.js';
import { selfIdentity } from '../../src/runtime/procfs.js';

const isRoot = process.getuid?.() === 0;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('warmReadCommands', () => {
  it.skipIf(!isRoot)('runs ps, pod ls and inspect on a running made-up pod, through the CLI, and leaves nothing', async () => {
    const before = { out: Object.getOwnPropertyDescriptor(process, 'stdout'), err: Object.getOwnPropertyDescriptor(process, 'stderr') };
    const realOut = vi.spyOn(process.stdout, 'write');
    const realErr = vi.spyOn(process.stderr, 'write');
    process.exitCode = undefined;
    const done = await warmReadCommands(main);
    expect(done.map((d) => d.argv.slice(4))).toEqual(WARM_CALLS);
    for (const d of done) expect({ argv: d.argv, code: d.code, err: d.err }).toEqual({ argv: d.argv, code: 0, err: '' });
    const [ps, ls, inspect, json] = done.map((d) => d.out);
    expect(ps).toMatch(new RegExp(`^${WARM_POD} +\\(sandbox\\) +Running `, 'm'));
    expect(ps).toMatch(new RegExp(`^${WARM_POD} +app +Running `, 'm'));
    expect(ls).toMatch(new RegExp(`^${WARM_POD} +Running +1/1 `, 'm'));
    expect(inspect).toContain(`Pod:        ${WARM_POD}\nState:      Running`);
    expect(JSON.parse(json!).pods[0].containers.map((c: { status: string }) => c.status)).toEqual(['Running', 'Running']);
    expect(realOut).not.toHaveBeenCalled();
    expect(realErr).not.toHaveBeenCalled();
    expect(Object.getOwnPropertyDescriptor(process, 'stdout')).toEqual(before.out);
    expect(Object.getOwnPropertyDescriptor(process, 'stderr')).toEqual(before.err);
    expect(process.exitCode).toBeUndefined();
    expect(fs.existsSync(done[0]!.argv[3]!)).toBe(false);
  });

  it('never throws, and gives the streams and the exit code back, when a call fails or throws', async () => {
    const before = Object.getOwnPropertyDescriptor(process, 'stdout');
    process.exitCode = undefined;
    const done = await warmReadCommands(async (argv) => {
      process.stdout.write('x');
      process.exitCode = 3;
      if (argv.includes('inspect')) throw new Error('boom');
      return 1;
    });
    expect(done.map((d) => [d.code, d.out])).toEqual([
      [1, 'x'],
      [1, 'x'],
      [undefined, 'x'],
      [1, 'x'],
    ]);
    expect(Object.getOwnPropertyDescriptor(process, 'stdout')).toEqual(before);
    expect(process.exitCode).toBeUndefined();
  });

  it("keeps nothing of the builder's process or of its throwaway root: a later process with the builder's pid makes its own", async () => {
    let made: { paths?: object; self?: object } = {};
    const done = await warmReadCommands(async (argv) => {
      made = { paths: podPaths(argv[3]!, WARM_POD), self: selfIdentity() };
      return 0;
    });
    // what the calls made is forgotten: asked again, each is made anew
    expect(podPaths(done[0]!.argv[3]!, WARM_POD)).not.toBe(made.paths);
    expect(selfIdentity()).not.toBe(made.self);
    expect(selfIdentity()).toEqual(made.self);
  });
});
