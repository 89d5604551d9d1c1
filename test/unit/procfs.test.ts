import { describe, expect, it } from 'vitest';
import { parseProcStatus, readProcStatus } from '../../src/runtime/procfs.js';

const STATUS = `Name:\tsleep
Umask:\t0022
State:\tS (sleeping)
Tgid:\t12717
Ngid:\t0
Pid:\t12717
PPid:\t12707
TracerPid:\t0
Uid:\t1000\t1000\t1000\t1000
Gid:\t0\t0\t0\t0
NStgid:\t12717\t11
NSpid:\t12717\t11
NSpgid:\t12707\t6
VmRSS:\t    1376 kB
RssAnon:\t      48 kB
`;

describe('parseProcStatus', () => {
  it('state letter, ppid, real uid, RSS in bytes, and the pid in each pid namespace', () => {
    expect(parseProcStatus(STATUS)).toEqual({ state: 'S', ppid: 12707, uid: 1000, rssBytes: 1376 * 1024, nspid: [12717, 11] });
  });

  it('a zombie has no VmRSS: 0; a kernel without NSpid: the Pid line', () => {
    const zombie = STATUS.replace('State:\tS (sleeping)', 'State:\tZ (zombie)')
      .replace(/^VmRSS:.*\n/m, '')
      .replace(/^NSpid:.*\n/m, '');
    expect(parseProcStatus(zombie)).toEqual({ state: 'Z', ppid: 12707, uid: 1000, rssBytes: 0, nspid: [12717] });
  });

  it('undefined for text that is not a status file', () => {
    expect(parseProcStatus('')).toBeUndefined();
    expect(parseProcStatus('State:\tS (sleeping)\n')).toBeUndefined();
  });

  it('reads this process, and nothing for a pid that does not exist', () => {
    const me = readProcStatus(process.pid);
    expect(me?.nspid.at(0)).toBe(process.pid);
    expect(me?.ppid).toBe(process.ppid);
    expect(readProcStatus(2 ** 30)).toBeUndefined();
  });
});
