import type { BarepodError } from '../../src/errors.js';

/**
 * Calls `fn` and returns what it threw, failing the test when it did not throw.
 * Typed as a BarepodError (the tests read its code, hint and exit status); a
 * test expecting another class names it: `thrown<TypeError>(...)`.
 */
export function thrown<E = BarepodError>(fn: () => unknown): E {
  try {
    fn();
  } catch (e) {
    return e as E;
  }
  throw new Error('expected a throw');
}
