/**
 * Attack class: a host path bound with `run -v` that lies inside another
 * host path a container can write (CVE-2017-1002101 by the command line).
 * The writer turns the inner directory into a link to a host directory; a
 * plain bind of `<outer>/<inner>` would follow it (runc resolves a mount
 * source on the host). barepod mounts the inner path as a subPath of the
 * outer volume, resolved inside it: the link is refused, as a manifest's
 * subPath would be. Judged on the host: the canary directory is untouched.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect } from 'vitest';
import { eventually, skipReason, test } from '../helpers/harness.js';
import { snapshot } from '../helpers/security.js';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe.skipIf(skipReason)('run -v inside another writable host path', () => {
  test('a sibling links the inner directory to a host directory: the inner -v is refused at its start; a writer of the outer path is refused while the inner one is mounted; the host directory is untouched', async ({
    t,
  }) => {
    const canary = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-canary-'));
    made.push(canary);
    fs.writeFileSync(path.join(canary, 'secret'), 'secret\n', { mode: 0o600 });
    const before = snapshot(canary);
    const data = path.join(t.root, 'host', 'data');
    fs.mkdirSync(path.join(data, 'sub'), { recursive: true });
    const pod = t.pod('nest');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    // the inner one started first: a writer of the outer path then is refused (it could lead the inner one's next start out)
    await t.ok(['run', '--pod', pod, '--name', 'inner', '-v', `${data}/sub:/s`, '--', 'sleep', '3600']);
    const held = await t.bp([
      'run',
      '--pod',
      pod,
      '--name',
      'writer',
      '-v',
      `${data}:/d`,
      '--',
      'sh',
      '-c',
      `rm -rf /d/sub; ln -s ${canary} /d/sub; exec sleep 3600`,
    ]);
    expect(held.code).not.toBe(0);
    expect(held.stderr).toContain(`holds ${data}/sub, the host path of volume "inner-0"`);
    expect(fs.lstatSync(path.join(data, 'sub')).isDirectory()).toBe(true);
    await t.ok(['rm', '-f', pod, 'inner']);
    // the writer first: it links sub to the host directory; a container naming the inner path resolves it inside the outer volume
    await t.ok(['run', '--pod', pod, '--name', 'writer', '-v', `${data}:/d`, '--', 'sh', '-c', `rm -rf /d/sub; ln -s ${canary} /d/sub; exec sleep 3600`]);
    await eventually(() => fs.lstatSync(path.join(data, 'sub')).isSymbolicLink(), 15_000, 'the link');
    const r = await t.bp([
      'run',
      '--pod',
      pod,
      '--name',
      'victim',
      '-v',
      `${data}/sub:/s`,
      '--',
      'sh',
      '-c',
      'cat /s/secret > /s/seen 2>&1; echo pwned > /s/new; exec sleep 3600',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('subPath "sub"');
    // both in one run, the inner one named first: the same
    const both = await t.bp([
      'run',
      '--pod',
      pod,
      '--name',
      'victim',
      '-v',
      `${data}/sub:/s`,
      '-v',
      `${data}:/d:ro`,
      '--',
      'sh',
      '-c',
      'echo pwned > /s/new; exec sleep 3600',
    ]);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toContain('subPath "sub"');
    expect(snapshot(canary)).toEqual(before);
    await t.ok(['pod', 'rm', '-f', pod]);
    expect(snapshot(canary)).toEqual(before);
  });
});
