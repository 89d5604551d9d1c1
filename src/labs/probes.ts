/**
 * What the labs read from /proc to check their claims: listening sockets,
 * the processes of a pid namespace and their states. Plain readers of the
 * kernel's own files, so a claim never rests on barepod's say-so.
 */
import fs from 'node:fs';
import { childrenOf, identify, isAlive, namespaceInode, readComm, readProcStatus } from '../runtime/procfs.js';

/** Every host pid of the processes in a pid namespace (by its inode), zombies included. */
export function pidsInPidNamespace(inode: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if (namespaceInode(Number(name), 'pid') === inode) out.push(Number(name));
  }
  return out;
}

/** The zombies (state Z) of a pid namespace: exited processes whose parent has not waited for them. */
export function zombiesInPidNamespace(inode: number): number[] {
  return pidsInPidNamespace(inode).filter((pid) => readProcStatus(pid)?.state === 'Z');
}

/**
 * The inode of the socket listening on a TCP port in a process's network
 * namespace, from /proc/<pid>/net/tcp and tcp6 (busybox listens on ::, which
 * takes IPv4 too); undefined when nothing listens there.
 */
export function listeningSocketInode(pid: number, port: number): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode; 0A = LISTEN
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A') return Number(f[9]);
    }
  }
  return undefined;
}

/** The socket inodes a process holds open (its /proc/<pid>/fd links of the form socket:[N]). */
export function socketInodesOf(pid: number): number[] {
  const out: number[] = [];
  let fds: string[] = [];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.push(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** The live (not zombie) processes at and below a host pid, with their command names. */
export function liveTree(pid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  const visit = (p: number) => {
    if (!isAlive(identify(p))) return;
    out.push({ pid: p, comm: readComm(p) ?? '?' });
    for (const c of childrenOf(p)) visit(c);
  };
  visit(pid);
  return out;
}
