/**
 * The per-pod /etc files (hosts, resolv.conf, hostname), as text. They are
 * written in the pod's state dir and bind-mounted into every container,
 * never written through a rootfs a container controls. Pure.
 */
import { isIP } from 'node:net';
import { BarepodError } from '../errors.js';
import type { HostAlias } from '../model.js';
import { isHostName } from './network.js';

/** /etc/hosts of a pod: localhost, the pod hostname on its IP (when it has one), then the host aliases (Kubernetes' layout). */
export function hostsFile(pod: string, hostname: string, ip: string | undefined, aliases: HostAlias[]): string {
  const lines = [
    `# barepod: the /etc/hosts of pod ${pod}`,
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  if (ip) lines.push(`${ip}\t${hostname}`);
  return hostsWithAliases(lines.join('\n') + '\n', aliases);
}

/** A hosts file with the pod's host aliases appended. */
export function hostsWithAliases(base: string, aliases: HostAlias[]): string {
  if (!aliases.length) return base;
  const head = base === '' || base.endsWith('\n') ? base : `${base}\n`;
  // the parsers refuse these already; a record written by an older barepod must not add lines either
  for (const a of aliases) {
    const bad = !isIP(a.ip) ? a.ip : a.hostnames.find((n) => !isHostName(n));
    if (bad !== undefined) {
      throw new BarepodError(
        'invalid-value',
        `hostAliases: ${JSON.stringify(bad)} is not ${bad === a.ip ? 'an IP address' : 'a host name'}: it would change /etc/hosts beyond its line`,
        {
          hint: 'remove the pod and create it again from a corrected manifest or --add-host',
        },
      );
    }
  }
  const lines = ['# entries added by hostAliases (--add-host)', ...aliases.map((a) => `${a.ip}\t${a.hostnames.join('\t')}`)];
  return `${head}${head ? '\n' : ''}${lines.join('\n')}\n`;
}

const isLoopback = (ip: string) => ip.startsWith('127.') || ip === '::1' || ip === '0:0:0:0:0:0:0:1';

/**
 * /etc/resolv.conf of a pod: the host's, with loopback nameservers (such as
 * systemd-resolved's 127.0.0.53, unreachable from the pod's own netns)
 * replaced by the real upstreams (systemd-resolved's own resolv.conf) when
 * known, or dropped. A host-network pod keeps the host's file as it is.
 */
export function resolvConf(hostResolv: string, upstreamResolv: string | undefined, hostNetwork: boolean): { text: string; dropped: string[] } {
  if (hostNetwork) return { text: hostResolv, dropped: [] };
  const nameservers = (text: string) =>
    text
      .split('\n')
      .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
      .filter((x): x is string => !!x);
  const host = nameservers(hostResolv);
  const loop = host.filter(isLoopback);
  if (loop.length === 0) return { text: hostResolv, dropped: [] };
  const upstream = upstreamResolv ? nameservers(upstreamResolv).filter((n) => !isLoopback(n)) : [];
  const out: string[] = [];
  let replaced = false;
  for (const line of hostResolv.split('\n')) {
    const ns = /^\s*nameserver\s+(\S+)/.exec(line)?.[1];
    if (ns && isLoopback(ns)) {
      if (!replaced) out.push(...upstream.filter((u) => !host.includes(u)).map((u) => `nameserver ${u}`));
      replaced = true;
      continue;
    }
    out.push(line);
  }
  return { text: out.join('\n'), dropped: upstream.length ? [] : loop };
}
