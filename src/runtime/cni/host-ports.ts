/**
 * Host-port probing: a pod's host ports are refused before anything is
 * created when a process binds them or a portmap rule forwards them already.
 */
import net from 'node:net';
import { BarepodError } from '../../errors.js';
import type { PortMapping } from '../../model.js';
import { forwardedPortsOf } from '../../plan/iptables-save.js';
import { savedTable } from './iptables.js';

/**
 * Refuses host ports that are taken, before anything is created: bound by a
 * process (a bind probe on the mapping's address), or forwarded already by
 * a portmap DNAT rule (which binds nothing, so a probe cannot see it).
 */
export async function checkHostPorts(ports: PortMapping[], pod: string): Promise<void> {
  if (ports.length === 0) return;
  const forwarded = forwardedPortsOf(await savedTable('nat'));
  for (const p of ports) {
    const taken = forwarded.has(`${p.protocol}/${p.hostPort}`) ? 'forwarded to another pod (a CNI portmap rule)' : await probe(p);
    if (taken) {
      throw new BarepodError(
        'already-exists',
        `pod "${pod}": host port ${p.hostIP ? `${p.hostIP}:` : ''}${p.hostPort}/${p.protocol} is already in use (${taken}); nothing was created`,
        {
          hint: `choose another host port (-p OTHER:${p.containerPort}), or stop what holds it (ss -ltnup 'sport = :${p.hostPort}')`,
        },
      );
    }
  }
}

function probe(p: PortMapping): Promise<string | undefined> {
  const host = p.hostIP || '0.0.0.0';
  return new Promise((resolve) => {
    const fail = (e: NodeJS.ErrnoException) =>
      resolve(e.code === 'EADDRINUSE' ? 'bound by a process on the host' : e.code === 'EADDRNOTAVAIL' ? `${host} is not an address of this host` : undefined);
    if (p.protocol === 'udp') {
      // dgram loaded on first use, not at module load: Node does not verify it in a V8 startup snapshot
      const s = process.getBuiltinModule('node:dgram').createSocket('udp4');
      s.once('error', (e) => {
        s.close();
        fail(e);
      });
      s.bind({ port: p.hostPort, address: host, exclusive: true }, () => s.close(() => resolve(undefined)));
    } else {
      const s = net.createServer();
      s.once('error', fail);
      s.listen({ port: p.hostPort, host, exclusive: true }, () => s.close(() => resolve(undefined)));
    }
  });
}
