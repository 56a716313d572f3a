import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import {
  type GroupSubject,
  MAX_GROUP_EXPRESSION_DEPTH,
  matchesGroup,
  parseGroupExpression,
} from '../../src/fleet/group-expression.js';

const device = (over: Partial<GroupSubject> = {}): GroupSubject => ({
  deviceId: 'vin-1',
  status: 'accepted',
  model: 'gw-200',
  hardwareRevision: '3',
  hardwareIds: ['gateway', 'brake'],
  installed: ['fw/gw-1.2.0.img'],
  attributes: { site: 'oslo', tier: 'canary' },
  ...over,
});

const matches = (expr: string, d: GroupSubject = device()) =>
  matchesGroup(parseGroupExpression(expr), d);

describe('parseGroupExpression', () => {
  it('parses the issue example into an and of three comparisons', () => {
    expect(parseGroupExpression('model=gw-200 and hwrev>=3 and site=oslo')).toEqual({
      kind: 'and',
      terms: [
        { kind: 'compare', field: 'model', op: '=', value: 'gw-200' },
        { kind: 'compare', field: 'hwrev', op: '>=', value: '3' },
        { kind: 'compare', field: 'site', op: '=', value: 'oslo' },
      ],
    });
  });

  it('binds and tighter than or, and honours parentheses and not', () => {
    expect(parseGroupExpression('a=1 or b=2 and c=3')).toEqual({
      kind: 'or',
      terms: [
        { kind: 'compare', field: 'a', op: '=', value: '1' },
        {
          kind: 'and',
          terms: [
            { kind: 'compare', field: 'b', op: '=', value: '2' },
            { kind: 'compare', field: 'c', op: '=', value: '3' },
          ],
        },
      ],
    });
    expect(parseGroupExpression('not (a=1 OR b=2)')).toEqual({
      kind: 'not',
      term: {
        kind: 'or',
        terms: [
          { kind: 'compare', field: 'a', op: '=', value: '1' },
          { kind: 'compare', field: 'b', op: '=', value: '2' },
        ],
      },
    });
  });

  it('reads quoted values with escapes, keeping SQL-looking text literal', () => {
    expect(parseGroupExpression(`site="o'slo \\"x\\" ; DROP TABLE devices"`)).toEqual({
      kind: 'compare',
      field: 'site',
      op: '=',
      value: `o'slo "x" ; DROP TABLE devices`,
    });
  });

  it.each([
    ['', 'nothing'],
    ['model', 'an operator'],
    ['model=', 'a value after'],
    ['model=a and', 'a missing condition'],
    ['(model=a', 'a missing ")"'],
    ['model=a b=c', '"b" where "and", "or" or the end was expected'],
    ['model="abc', 'an unterminated string'],
    ['model=a;b', 'an unexpected character ";"'],
    ['1x=a', 'a field name expected'],
    ['site="a\\nb"', 'an escape other than'],
  ])('refuses %j with a FormatError saying %s', (source, why) => {
    expect(() => parseGroupExpression(source)).toThrow(FormatError);
    expect(() => parseGroupExpression(source)).toThrow(why);
  });

  it('caps length and nesting depth', () => {
    expect(() => parseGroupExpression(`site=${'a'.repeat(1100)}`)).toThrow('at most 1024');
    const deep = `${'('.repeat(MAX_GROUP_EXPRESSION_DEPTH + 2)}a=1${')'.repeat(MAX_GROUP_EXPRESSION_DEPTH + 2)}`;
    expect(() => parseGroupExpression(deep)).toThrow('nesting deeper than');
    const ok = `${'('.repeat(MAX_GROUP_EXPRESSION_DEPTH)}a=1${')'.repeat(MAX_GROUP_EXPRESSION_DEPTH)}`;
    expect(parseGroupExpression(ok)).toEqual({ kind: 'compare', field: 'a', op: '=', value: '1' });
  });
});

describe('matchesGroup', () => {
  it('evaluates the issue example', () => {
    expect(matches('model=gw-200 and hwrev>=3 and site=oslo')).toBe(true);
    expect(
      matches('model=gw-200 and hwrev>=3 and site=oslo', device({ hardwareRevision: '2' })),
    ).toBe(false);
    expect(
      matches(
        'model=gw-200 and hwrev>=3 and site=oslo',
        device({ attributes: { site: 'bergen' } }),
      ),
    ).toBe(false);
  });

  it('orders decimal numbers numerically, not as text', () => {
    expect(matches('hwrev>=3', device({ hardwareRevision: '10' }))).toBe(true);
    expect(matches('hwrev<3', device({ hardwareRevision: '10' }))).toBe(false);
  });

  it('orders semantic versions by precedence', () => {
    expect(matches('fw>=1.10.0', device({ attributes: { fw: '1.9.3' } }))).toBe(false);
    expect(matches('fw>1.9.3', device({ attributes: { fw: '1.10.0' } }))).toBe(true);
    expect(matches('fw<1.0.0', device({ attributes: { fw: '1.0.0-rc.1' } }))).toBe(true);
  });

  it('matches multi-valued fields when any value does; != when none equals', () => {
    expect(matches('hardwareId=brake')).toBe(true);
    expect(matches('hardwareId!=brake')).toBe(false);
    expect(matches('hardwareId!=radio')).toBe(true);
    expect(matches('installed^=fw/gw-1.')).toBe(true);
    expect(matches('installed^=fw/gw-2.')).toBe(false);
  });

  it('treats a missing field as false, except for !=', () => {
    expect(matches('rack=7')).toBe(false);
    expect(matches('rack>=0')).toBe(false);
    expect(matches('rack!=7')).toBe(true);
    expect(matches('model=gw-200', device({ model: undefined }))).toBe(false);
  });

  it('does not read inherited properties as attributes', () => {
    expect(matches('constructor^=f')).toBe(false);
    expect(matches('__proto__=x')).toBe(false);
  });

  it('combines with not, and, or', () => {
    expect(matches('not tier=canary')).toBe(false);
    expect(matches('tier=stable or site=oslo')).toBe(true);
    expect(matches('(tier=stable or site=oslo) and status=accepted')).toBe(true);
    expect(matches('(tier=stable or site=oslo) and status=pending')).toBe(false);
  });
});
