import { BarepodError } from '../errors.js';

/** podman's and docker's default: Ctrl-P then Ctrl-Q. */
export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/**
 * Parses a detach key sequence as podman and docker write it: keys joined by
 * commas, each one character or `ctrl-X` with X one of a-z @ [ \ ] ^ _.
 * The empty string turns detaching off (every byte goes to the container).
 */
export function parseDetachKeys(text: string): Buffer {
  if (text === '') return Buffer.alloc(0);
  const bytes: number[] = [];
  for (const key of text.split(',')) {
    const ctrl = /^ctrl-(.)$/i.exec(key);
    if (ctrl) {
      const c = ctrl[1]!.toLowerCase();
      if (c >= 'a' && c <= 'z') bytes.push(c.charCodeAt(0) - 96);
      else if ('@[\\]^_'.includes(c)) bytes.push(c.charCodeAt(0) - 64);
      else throw badKeys(text, key);
    } else if (key.length === 1 && key.charCodeAt(0) < 128) {
      bytes.push(key.charCodeAt(0));
    } else {
      throw badKeys(text, key);
    }
  }
  return Buffer.from(bytes);
}

function badKeys(text: string, key: string): BarepodError {
  return new BarepodError('invalid-value', `--detach-keys "${text}": "${key}" is not a key`, {
    hint: 'keys joined by commas, each a single character or ctrl-X (X: a-z, @, [, \\, ], ^, _), e.g. ctrl-p,ctrl-q; "" turns detaching off',
  });
}

/**
 * Watches the bytes typed for the detach sequence. Bytes that could begin it
 * are held back until the sequence is complete (detach: they are never sent)
 * or broken (they go on, in order), as podman does.
 */
export class DetachMatcher {
  private held: number[] = [];

  constructor(private readonly keys: Buffer) {}

  feed(chunk: Buffer): { forward: Buffer; detach: boolean } {
    if (this.keys.length === 0) return { forward: chunk, detach: false };
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.held.length]) {
        this.held.push(b);
        if (this.held.length === this.keys.length) {
          this.held = [];
          return { forward: Buffer.from(out), detach: true };
        }
        continue;
      }
      out.push(...this.held);
      this.held = [];
      if (b === this.keys[0]) {
        this.held.push(b);
        if (this.keys.length === 1) return { forward: Buffer.from(out), detach: true };
      } else out.push(b);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}
