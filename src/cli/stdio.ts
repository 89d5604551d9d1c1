/**
 * process.stdout and process.stderr are made by Node when first read, and making one costs a call ~0.4 ms (a
 * file) to ~1.5 ms (the first pipe or terminal: Node loads its net or tty code, which a start-up snapshot does not
 * hold). A read command writes its output with write(2) (writeOut in ./output.ts) and nothing on stderr, so it
 * needs neither: whenStdioMade runs the CLI's stream setup (its 'error' handlers) when the stream is first made,
 * not by making both at every call.
 */

const WATCH = Symbol('barepod.stdio');

interface Watch {
  made: boolean;
}

type StdioName = 'stdout' | 'stderr';

/**
 * Runs `fn` on process[name] when Node makes it (now, if it is no getter: a stand-in put there). The watch lives
 * on the property itself, so nothing of it outlives the process object (a snapshot's build leaves none).
 */
export function whenStdioMade(name: StdioName, fn: (stream: NodeJS.WriteStream) => void): void {
  const d = Object.getOwnPropertyDescriptor(process, name);
  const getter = d?.get;
  if (!d || !getter || !d.configurable) {
    fn(process[name]);
    return;
  }
  const watch: Watch = { made: false };
  const get = Object.assign(
    function (this: unknown): NodeJS.WriteStream {
      const stream = getter.call(this) as NodeJS.WriteStream;
      if (!watch.made) {
        watch.made = true;
        fn(stream);
      }
      return stream;
    },
    { [WATCH]: watch },
  );
  Object.defineProperty(process, name, { configurable: true, enumerable: d.enumerable, get });
}

/** False only while whenStdioMade watches process[name] and nothing has read it yet; true otherwise. */
export function stdioMade(name: StdioName): boolean {
  const watch = (Object.getOwnPropertyDescriptor(process, name)?.get as { [WATCH]?: Watch } | undefined)?.[WATCH];
  return watch ? watch.made : true;
}
