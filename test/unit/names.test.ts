import { describe, it, expect } from 'vitest';
import { BarepodError } from '../../src/errors.js';
import { DNS1123_LABEL_RULE, validateName } from '../../src/names.js';
import { thrown } from '../helpers/thrown.js';

describe('validateName: valid DNS-1123 labels', () => {
  it.each([['a'], ['0'], ['web'], ['web-1'], ['1web'], ['a-b-c'], ['a--b'], ['x'.repeat(63)], ['a' + '-'.repeat(61) + 'z']])(
    'accepts %j and returns it unchanged',
    (name) => {
      expect(validateName('pod', name)).toBe(name);
      expect(validateName('container', name)).toBe(name);
    },
  );
});

describe('validateName: invalid names', () => {
  it.each([
    ['../x', 'a path traversal'],
    ['Web', 'upper-case letters'],
    ['x'.repeat(64), 'a 64-character name'],
    ['', 'the empty name'],
    ['-a', 'a leading dash'],
    ['a-', 'a trailing dash'],
    ['a_b', 'an underscore'],
    ['a.b', 'a dot (a subdomain, not a label)'],
    ['a b', 'a space'],
    ['a/b', 'a slash'],
    ['_pause', 'the reserved sandbox name'],
    ['é', 'a non-ASCII letter'],
    ['web\n', 'a trailing newline'],
  ])('rejects %j (%s) with code invalid-name, exit 2 and the rule', (name) => {
    const err = thrown(() => validateName('pod', name));
    expect(err).toBeInstanceOf(BarepodError);
    const e = err as BarepodError;
    expect(e.code).toBe('invalid-name');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(DNS1123_LABEL_RULE);
    expect(e.message).toContain(`invalid pod name "${name}"`);
  });

  it('states the rule in words: length, allowed characters, first and last character', () => {
    expect(DNS1123_LABEL_RULE).toMatch(/at most 63 characters/);
    expect(DNS1123_LABEL_RULE).toMatch(/lower-case letters, digits and '-'/);
    expect(DNS1123_LABEL_RULE).toMatch(/starting and ending with a letter or digit/);
  });

  it('names the kind and the actual length of a too-long name', () => {
    const e = thrown(() => validateName('container', 'x'.repeat(64))) as BarepodError;
    expect(e.message).toMatch(/^invalid container name "x{64}": 64 characters, must be /);
  });
});
