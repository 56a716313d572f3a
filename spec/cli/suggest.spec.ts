/**
 * "Did you mean": close typos are matched, distant words are not (a wrong guess is worse than
 * none).
 */
import { describe, expect, it } from 'vitest';
import { closestMatch, editDistance } from '../../src/cli/suggest.js';

const COMMANDS = ['init', 'key', 'add-target', 'remove-target', 'publish', 'status', 'serve'];

describe('editDistance', () => {
  it.each([
    ['publish', 'publish', 0],
    ['pubish', 'publish', 1],
    ['pbulish', 'publish', 1], // one swap of adjacent letters
    ['sttaus', 'status', 1],
    ['serve', 'status', 5],
    ['', 'key', 3],
  ])('%s → %s is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('closestMatch', () => {
  it.each([
    ['pubish', 'publish'],
    ['pbulish', 'publish'],
    ['stat', 'status'], // a prefix
    ['add-traget', 'add-target'],
    ['kye', 'key'],
    ['--hardware', '--hardware-id'],
  ])('%s → %s', (typed, meant) => {
    expect(closestMatch(typed, [...COMMANDS, '--hardware-id', '--version'])).toBe(meant);
  });

  it.each(['frobnicate', 'x', 'deploy', 'rm'])('offers nothing for %s', (typed) => {
    expect(closestMatch(typed, COMMANDS)).toBeUndefined();
  });
});
