// Preloaded (node --require) before a bundle of barepod's modules is evaluated: records every read of the
// process's run-time state (environment, arguments, cwd, ids, terminals, clocks, randomness, host facts, files,
// child processes) and every Node built-in required (and by whom) while the bundle's modules load, i.e. what a V8 startup
// snapshot would freeze at build time. Writes them as JSON to the file named by LOAD_TRAP_OUT when the process exits.
// Used by test/unit/no-load-time-env.test.ts.
'use strict';
const fs = require('node:fs');
const Module = require('node:module');
const out = process.env.LOAD_TRAP_OUT;
const reads = [];
const builtins = [];
let armed = false;
let inTrap = false;

/** The first stack frame outside this file and Node's own code: who read it. */
function site() {
  const lines = (new Error().stack || '').split('\n').slice(1);
  for (const l of lines) {
    if (l.includes('load-time-trap.cjs') || l.includes('node:internal') || /\(node:|at node:/.test(l)) continue;
    return l.trim().replace(/^at /, '');
  }
  return '?';
}
function record(what) {
  if (!armed || inTrap) return;
  inTrap = true;
  try {
    reads.push({ what, at: site(), ...(process.env.LOAD_TRAP_STACKS ? { stack: new Error().stack } : {}) });
  } finally {
    inTrap = false;
  }
}
function wrapFns(obj, label, names) {
  for (const name of names) {
    const orig = obj[name];
    if (typeof orig !== 'function') continue;
    const wrapped = function (...args) {
      record(`${label}.${name}()`);
      return new.target ? Reflect.construct(orig, args, new.target) : orig.apply(this, args);
    };
    Object.assign(wrapped, orig);
    try {
      obj[name] = wrapped;
    } catch {}
  }
}
function wrapGetter(obj, name, label) {
  const d = Object.getOwnPropertyDescriptor(obj, name);
  if (!d || !d.configurable) return;
  const get = d.get ? d.get : () => d.value;
  Object.defineProperty(obj, name, {
    configurable: true,
    enumerable: d.enumerable,
    get() {
      record(label);
      return get.call(this);
    },
    set(v) {
      if (d.set) d.set.call(this, v);
      else Object.defineProperty(obj, name, { value: v, writable: true, configurable: true, enumerable: d.enumerable });
    },
  });
}

// the environment (a Proxy: any key read, listed or tested)
const env = process.env;
process.env = new Proxy(env, {
  get(t, k) {
    if (typeof k === 'string') record(`process.env.${k}`);
    return Reflect.get(t, k);
  },
  has(t, k) {
    if (typeof k === 'string') record(`process.env.${k} (in)`);
    return Reflect.has(t, k);
  },
  ownKeys(t) {
    record('process.env (keys)');
    return Reflect.ownKeys(t);
  },
});
for (const p of ['argv', 'argv0', 'execArgv', 'pid', 'ppid', 'stdout', 'stderr', 'stdin', 'title', 'exitCode']) wrapGetter(process, p, `process.${p}`);
wrapFns(process, 'process', ['cwd', 'getuid', 'geteuid', 'getgid', 'getegid', 'getgroups', 'uptime', 'memoryUsage', 'cpuUsage', 'resourceUsage', 'umask']);
const hrtime = process.hrtime;
const hrbig = hrtime.bigint;
process.hrtime = function (...a) {
  record('process.hrtime()');
  return hrtime.apply(this, a);
};
process.hrtime.bigint = function () {
  record('process.hrtime.bigint()');
  return hrbig();
};

// clocks and randomness
const RealDate = Date;
wrapFns(Date, 'Date', ['now']);
globalThis.Date = new Proxy(RealDate, {
  construct(t, args, nt) {
    if (args.length === 0) record('new Date()');
    return Reflect.construct(t, args, nt === globalThis.Date ? t : nt);
  },
  apply(t, self, args) {
    record('Date()');
    return Reflect.apply(t, self, args);
  },
});
wrapFns(performance, 'performance', ['now']);
wrapGetter(Object.getPrototypeOf(performance), 'timeOrigin', 'performance.timeOrigin');
wrapFns(Math, 'Math', ['random']);
const crypto = require('node:crypto');
wrapFns(crypto, 'crypto', ['randomBytes', 'randomUUID', 'randomInt', 'randomFillSync', 'getRandomValues']);

// host facts, files, terminals, child processes
const os = require('node:os');
wrapFns(
  os,
  'os',
  Object.keys(os).filter((k) => typeof os[k] === 'function'),
);
wrapFns(
  fs,
  'fs',
  Object.keys(fs).filter((k) => typeof fs[k] === 'function' && /^[a-z]/.test(k)),
);
wrapFns(
  fs.promises,
  'fs.promises',
  Object.keys(fs.promises).filter((k) => typeof fs.promises[k] === 'function'),
);
wrapFns(require('node:tty'), 'tty', ['isatty']);
const cp = require('node:child_process');
wrapFns(
  cp,
  'child_process',
  Object.keys(cp).filter((k) => typeof cp[k] === 'function'),
);

// which built-ins the bundle requires while it loads
const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (armed && !inTrap && Module.isBuiltin(request)) {
    inTrap = true; // site() formats a stack, which reads the cwd (source maps)
    try {
      builtins.push({ what: request.replace(/^node:/, ''), at: site() });
    } finally {
      inTrap = false;
    }
  }
  return load.call(this, request, parent, isMain);
};

process.on('exit', () => {
  armed = false;
  fs.writeFileSync(out, JSON.stringify({ reads, builtins }));
});
// the bundle starts its load by calling this (its first module), and ends it by calling __loadTrapDone
globalThis.__loadTrapStart = () => {
  armed = true;
};
// the bundle ends its load by calling this (set by the test's entry): what runs after is run time
globalThis.__loadTrapDone = () => {
  armed = false;
};
