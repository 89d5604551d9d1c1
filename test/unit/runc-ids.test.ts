// Runc.ids: the container ids runc keeps state for, read from its --root without running runc; with a prefix
// (one pod's "<pod>."), only that pod's, without looking at the other containers' state files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Runc } from '../../src/runtime/runc.js';

let dir: string | undefined;
afterEach(() => {
  vi.restoreAllMocks();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A runc root with a state.json for each id, and a bare directory (no state) for each of `bare`. */
function rootWith(ids: string[], bare: string[] = []): Runc {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-runc-ids-'));
  for (const id of ids) {
    fs.mkdirSync(path.join(dir, id));
    fs.writeFileSync(path.join(dir, id, 'state.json'), '{}');
  }
  for (const id of bare) fs.mkdirSync(path.join(dir, id));
  return new Runc('/usr/sbin/runc', dir);
}

describe('Runc.ids', () => {
  const others = Array.from({ length: 50 }, (_, i) => [`web-${i}._pause`, `web-${i}.a`, `web-${i}.b`]).flat();

  it('lists every container with runc state, not a directory without it', () => {
    const r = rootWith(['web._pause', 'web.a', ...others], ['web.half']);
    expect(r.ids().sort()).toEqual(['web._pause', 'web.a', ...others].sort());
  });

  it("with a pod's prefix, lists that pod's containers only (not web-1's or webx's) and checks no other container's state", () => {
    const r = rootWith(['web._pause', 'web.a', 'webx.a', ...others], ['web.half']);
    const checked: string[] = [];
    const exists = fs.existsSync;
    vi.spyOn(fs, 'existsSync').mockImplementation((p) => (checked.push(String(p)), exists(p)));
    expect(r.ids('web.').sort()).toEqual(['web._pause', 'web.a']);
    expect(checked.map((p) => path.basename(path.dirname(p))).sort()).toEqual(['web._pause', 'web.a', 'web.half']);
  });

  it('is empty when the root does not exist', () => {
    expect(new Runc('/usr/sbin/runc', '/nonexistent/bp-runc-ids').ids('web.')).toEqual([]);
  });
});
