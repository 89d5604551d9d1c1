/**
 * `--explain`: a narration of what barepod really does, for people learning
 * how a pod is made. Off unless a command turns it on, and then free: every
 * call site tests one module-level flag (or hands a thunk that is never
 * called), as BAREPOD_TRACE does in exec.ts. When on, numbered steps and the
 * lines under them go to stderr (stdout stays clean for --json and scripts),
 * coloured only on a terminal. Steps that run in parallel (a pod's app
 * containers, its stops) are printed whole, one after the other, in the
 * order they began: an AsyncLocalStorage tells whose line is whose.
 */
import type { AsyncLocalStorage } from 'node:async_hooks';

/** Whether the narration is on: call sites test it before building a line. */
export let explaining = false;

type Text = string | (() => string);
type Kind = 'detail' | 'run' | 'result' | 'fail' | 'sub';

interface Section {
  title: string;
  n: number;
  /** rendered lines, the title first */
  lines: string[];
  printed: number;
  done: boolean;
}

const ANSI = { bold: '\x1b[1m', dim: '\x1b[2m', cyan: '\x1b[36m', red: '\x1b[31m', green: '\x1b[32m', reset: '\x1b[0m' };
const MARK: Record<Kind, string> = { detail: '', run: '$ ', result: '→ ', fail: '✗ ', sub: '» ' };
const COLOUR: Record<Kind, string> = { detail: '', run: ANSI.cyan, result: ANSI.green, fail: ANSI.red, sub: ANSI.bold };

/**
 * The narration's layout: numbered steps, their lines indented under them,
 * and the ordering of parallel steps (the earliest unfinished step streams,
 * later ones wait, whole, for their turn). Writes through `write`, so it is
 * tested without a terminal.
 */
export class Narrator {
  private sections: Section[] = [];
  private count = 0;

  constructor(
    private readonly write: (text: string) => void,
    private readonly colour: boolean,
  ) {}

  /** Opens the next numbered step. */
  open(title: string): Section {
    const n = ++this.count;
    const s: Section = { title, n, lines: [this.paint(`${n}. `, ANSI.bold + ANSI.cyan) + this.paint(title, ANSI.bold)], printed: 0, done: false };
    this.sections.push(s);
    this.pump();
    return s;
  }

  /** A line under a step; without one, under the latest step (or on its own before the first). */
  line(section: Section | undefined, text: string, kind: Kind = 'detail'): void {
    const target = section ?? this.sections[this.sections.length - 1];
    const indent = target ? ' '.repeat(String(target.n).length + 2) : '   ';
    const rendered = text.split('\n').map((l, i) => indent + (i === 0 ? this.paint(MARK[kind] + l, COLOUR[kind]) : ' '.repeat(MARK[kind].length) + l));
    // before the first step, or late for a step already printed and gone: straight out
    if (!target || !this.sections.includes(target)) {
      this.write(rendered.join('\n') + '\n');
      return;
    }
    target.lines.push(...rendered);
    this.pump();
  }

  /** Ends a step; a failure is said under it. */
  close(section: Section, error?: unknown): void {
    if (error !== undefined) this.line(section, `failed: ${error instanceof Error ? error.message : String(error)}`, 'fail');
    section.done = true;
    this.pump();
  }

  /** Prints what may be printed: the earliest unfinished step and every finished one before it. The latest step is kept for late lines. */
  private pump(): void {
    for (;;) {
      const head = this.sections[0];
      if (!head) return;
      if (head.printed < head.lines.length) {
        this.write(head.lines.slice(head.printed).join('\n') + '\n');
        head.printed = head.lines.length;
      }
      if (!head.done || this.sections.length === 1) return;
      this.sections.shift();
    }
  }

  private paint(text: string, code: string): string {
    return this.colour && code ? `${code}${text}${ANSI.reset}` : text;
  }
}

let narrator: Narrator | undefined;
let current: AsyncLocalStorage<Section> | undefined;

/** Turns the narration on for this process (the --explain flag). */
export function enableExplain(
  write: (text: string) => void = (t) => process.stderr.write(t),
  colour = process.stderr.isTTY === true && !process.env.NO_COLOR,
): void {
  narrator = new Narrator(write, colour);
  // async_hooks loaded here, not at module load: Node does not verify it in a V8 startup snapshot
  current = new (process.getBuiltinModule('node:async_hooks').AsyncLocalStorage)<Section>();
  explaining = true;
}

/** Turns it off again (tests). */
export function disableExplain(): void {
  narrator = undefined;
  current = undefined;
  explaining = false;
}

const text = (t: Text): string => (typeof t === 'function' ? t() : t);

/**
 * Runs `fn` as one numbered step titled `title`: the lines said while it
 * runs (its programs included) go under it. Inside another step it is a
 * sub-heading of that one. Off, it is just `fn()`.
 */
export async function explainStep<T>(title: Text, fn: () => Promise<T>): Promise<T> {
  if (!narrator || !current) return fn();
  const outer = current.getStore();
  if (outer && !outer.done) {
    narrator.line(outer, text(title), 'sub');
    return fn();
  }
  const n = narrator;
  const section = n.open(text(title));
  try {
    const value = await current.run(section, fn);
    n.close(section);
    return value;
  } catch (e) {
    n.close(section, e);
    throw e;
  }
}

/** A line under the current step. */
export function explain(line: Text): void {
  if (narrator) narrator.line(current?.getStore(), text(line));
}

/** A result under the current step ("→ pid 4300"). */
export function explainResult(line: Text): void {
  if (narrator) narrator.line(current?.getStore(), text(line), 'result');
}

/** A program barepod runs, as one would type it ("$ runc --root … start web.app"). */
export function explainRun(words: Text): void {
  if (narrator) narrator.line(current?.getStore(), text(words), 'run');
}

/** A failure under the current step (a program that exited non-zero). */
export function explainFailure(line: Text): void {
  if (narrator) narrator.line(current?.getStore(), text(line), 'fail');
}
