/**
 * A systemd unit that brings a pod back at boot: barepod has no daemon, so the
 * unit is a oneshot that stays "active" after `up` and runs `down` on stop.
 * Pure: the paths come in, the unit text goes out. Every value is escaped
 * for systemd (`%` → `%%`, `$` → `$$` in command lines) and one holding a
 * newline or control character is refused.
 */
import { BarepodError } from '../errors.js';

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

/**
 * A value systemd would read past: a newline (or any control character) ends
 * the line and starts a directive of the value's choosing (`ExecStartPost=`).
 */
function refuseControl(value: string, what: string): string {
  const m = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u.exec(value);
  if (m) {
    const code = `U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    throw new BarepodError(
      'invalid-value',
      `generate systemd: the ${what} ${JSON.stringify(value)} holds a control character (${code}) a unit file cannot carry`,
      {
        hint: `use a ${what} without newlines or control characters`,
      },
    );
  }
  return value;
}

/** `%` starts a specifier everywhere in a unit (%h, %n): written `%%`. */
const escapeSpecifiers = (v: string): string => v.replace(/%/g, '%%');

/**
 * systemd's quoting for one word of an Exec*= command line: specifiers
 * (`%`) and variables (`$`) are escaped, then the word is double-quoted
 * (with `"` and `\` escaped) unless it is plain.
 */
export function execWord(word: string, what: string): string {
  const w = escapeSpecifiers(refuseControl(word, what)).replace(/\$/g, '$$$$');
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) && !w.includes('$') ? w : `"${w.replace(/(["\\])/g, '\\$1')}"`;
}

export function systemdUnit(u: UnitInput): string {
  refuseControl(u.pod, 'pod name');
  const bp = [...u.barepod.map((w) => execWord(w, 'barepod command')), ...(u.root ? ['--root', execWord(u.root, 'state root')] : [])].join(' ');
  const pod = escapeSpecifiers(u.pod);
  const quote = (w: string, what: string) => execWord(w, what);
  return `# barepod pod "${u.pod}": made by \`barepod generate systemd ${u.pod}\`
# Install: copy to /etc/systemd/system/, then: systemctl daemon-reload && systemctl enable --now ${u.unit ?? `barepod-${u.pod}`}.service
[Unit]
Description=barepod pod ${pod}
Wants=network-online.target
After=network-online.target local-fs.target

[Service]
Type=oneshot
RemainAfterExit=yes
# finish what a crash or a reboot left (idempotent), then the pod from its stored manifest
ExecStartPre=${bp} gc
ExecStart=${bp} up -f ${quote(u.manifest, 'manifest path')} --wait --timeout 120s
ExecStop=${bp} down ${quote(u.pod, 'pod name')}
TimeoutStartSec=300
TimeoutStopSec=${u.graceSeconds + 60}

[Install]
WantedBy=multi-user.target
`;
}
