/**
 * A systemd unit that brings a pod back at boot: barepod has no daemon, so the
 * unit is a oneshot that stays "active" after `up` and runs `down` on stop.
 * Pure: the paths come in, the unit text goes out.
 */
export interface UnitInput {
  pod: string;
  /** how to run barepod: the launcher's absolute path (or node and the script) */
  barepod: string[];
  /** the stored copy of the pod's manifest */
  manifest: string;
  /** a state root other than the default, passed with --root */
  root?: string;
  /** the pod's grace period: the stop timeout leaves room for it */
  graceSeconds: number;
  /** the unit's suggested name without `.service` (default `barepod-<pod>`; another state root's pods get the root's tag in it) */
  unit?: string;
}

/** systemd's quoting for one word of a command line. */
const quote = (word: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/(["\\])/g, '\\$1')}"`);

export function systemdUnit(u: UnitInput): string {
  const bp = [...u.barepod, ...(u.root ? ['--root', u.root] : [])].map(quote).join(' ');
  return `# barepod pod "${u.pod}": made by \`barepod generate systemd ${u.pod}\`
# Install: copy to /etc/systemd/system/, then: systemctl daemon-reload && systemctl enable --now ${u.unit ?? `barepod-${u.pod}`}.service
[Unit]
Description=barepod pod ${u.pod}
Wants=network-online.target
After=network-online.target local-fs.target

[Service]
Type=oneshot
RemainAfterExit=yes
# finish what a crash or a reboot left (idempotent), then the pod from its stored manifest
ExecStartPre=${bp} gc
ExecStart=${bp} up -f ${quote(u.manifest)} --wait --timeout 120s
ExecStop=${bp} down ${quote(u.pod)}
TimeoutStartSec=300
TimeoutStopSec=${u.graceSeconds + 60}

[Install]
WantedBy=multi-user.target
`;
}
