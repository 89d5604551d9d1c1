/**
 * What lets a restart keep its overlay mounted: the overlay read from
 * mountinfo, and the upper dir's fingerprint, which any change moves.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { overlayAt, stillFresh, treeFingerprint } from '../../src/runtime/fresh-overlay.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});
const tmp = () => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-fresh-')));

const R = '/run/bp/pods/web/containers/app';
const ovl = (mp: string, lower: string) =>
  `97 27 0:67 / ${mp} rw,relatime - overlay overlay rw,lowerdir=${lower},upperdir=${R}/upper,workdir=${R}/work,uuid=on`;
function mountinfo(...lines: string[]): string {
  const file = path.join(tmp(), 'mountinfo');
  fs.writeFileSync(file, ['25 1 254:0 / / rw,relatime - ext4 /dev/vda rw', ...lines].join('\n') + '\n');
  return file;
}

describe('overlayAt', () => {
  it('reads the layers, upper and work dirs of the overlay mounted there', () => {
    expect(overlayAt(`${R}/rootfs`, mountinfo(ovl(`${R}/rootfs`, '/img/l2:/img/l1')))).toEqual({
      lower: ['/img/l2', '/img/l1'],
      upper: `${R}/upper`,
      work: `${R}/work`,
    });
  });
  it('unescapes what mountinfo escapes (a space in a path)', () => {
    expect(overlayAt(`${R}/rootfs`, mountinfo(ovl(`${R}/rootfs`, '/img/my\\040layer')))?.lower).toEqual(['/img/my layer']);
  });
  it.each([
    ['nothing mounted there', [ovl(`${R}/other`, '/img/l1')]],
    ['another file system', [`97 27 0:67 / ${R}/rootfs rw - tmpfs tmpfs rw`]],
    ['a mount below it', [ovl(`${R}/rootfs`, '/img/l1'), `98 97 0:68 / ${R}/rootfs/proc rw - proc proc rw`]],
    ['two mounts stacked on it', [ovl(`${R}/rootfs`, '/img/l1'), ovl(`${R}/rootfs`, '/img/l1')]],
  ])('is undefined for %s', (_what, lines) => {
    expect(overlayAt(`${R}/rootfs`, mountinfo(...lines))).toBeUndefined();
  });
});

describe('treeFingerprint', () => {
  const upper = () => {
    const d = path.join(tmp(), 'upper');
    fs.mkdirSync(path.join(d, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(d, 'etc', 'hostname'), '');
    return d;
  };
  it('is stable while nothing changes', () => {
    const d = upper();
    expect(treeFingerprint(d)).toBe(treeFingerprint(d));
  });
  it.each<[string, (d: string) => void]>([
    ['a new file', (d) => fs.writeFileSync(path.join(d, 'x'), '')],
    ['a new file deep down', (d) => fs.writeFileSync(path.join(d, 'etc', 'y'), '')],
    ['a rewritten file of the same size', (d) => fs.writeFileSync(path.join(d, 'etc', 'hostname'), '')],
    ['a chmod', (d) => fs.chmodSync(path.join(d, 'etc', 'hostname'), 0o600)],
    ['a removed file', (d) => fs.rmSync(path.join(d, 'etc', 'hostname'))],
    [
      'a file replaced by another of the same name',
      (d) => {
        fs.rmSync(path.join(d, 'etc', 'hostname'));
        fs.writeFileSync(path.join(d, 'etc', 'hostname'), '');
      },
    ],
  ])('changes with %s', async (_what, change) => {
    const d = upper();
    const before = treeFingerprint(d);
    await new Promise((r) => setTimeout(r, 5)); // a later ctime even on a coarse clock
    change(d);
    expect(treeFingerprint(d)).not.toBe(before);
  });
  it('is undefined when the dir is gone', () => {
    expect(treeFingerprint(path.join(tmp(), 'none'))).toBeUndefined();
  });
});

describe('stillFresh', () => {
  const setup = () => {
    const d = tmp();
    const upper = path.join(d, 'upper');
    fs.mkdirSync(path.join(upper, 'etc'), { recursive: true });
    const want = { lower: ['/img/l1'], upper, work: path.join(d, 'work') };
    const info = path.join(d, 'mountinfo');
    const mount = (lower: string) =>
      fs.writeFileSync(info, `97 27 0:67 / ${d}/rootfs rw - overlay overlay rw,lowerdir=${lower},upperdir=${upper},workdir=${d}/work\n`);
    mount('/img/l1');
    const note = path.join(d, 'note.json');
    fs.writeFileSync(note, JSON.stringify({ ...want, fingerprint: treeFingerprint(upper) }));
    return { d, upper, want, info, mount, note, target: `${d}/rootfs` };
  };
  it('holds when the note, the mount and the upper dir all still match', () => {
    const s = setup();
    expect(stillFresh(s.note, s.target, s.want, s.info)).toBe(true);
  });
  it('fails when the image changed (other layers wanted than mounted and noted)', () => {
    const s = setup();
    expect(stillFresh(s.note, s.target, { ...s.want, lower: ['/img/l2', '/img/l1'] }, s.info)).toBe(false);
  });
  it('fails when the mounted layers are not the noted ones', () => {
    const s = setup();
    s.mount('/img/other');
    expect(stillFresh(s.note, s.target, s.want, s.info)).toBe(false);
  });
  it('fails when the upper dir changed', () => {
    const s = setup();
    fs.writeFileSync(path.join(s.upper, 'etc', 'written'), 'x');
    expect(stillFresh(s.note, s.target, s.want, s.info)).toBe(false);
  });
  it('fails without a note, or with a torn one', () => {
    const s = setup();
    fs.writeFileSync(s.note, '{"lower":');
    expect(stillFresh(s.note, s.target, s.want, s.info)).toBe(false);
    fs.rmSync(s.note);
    expect(stillFresh(s.note, s.target, s.want, s.info)).toBe(false);
  });
});
