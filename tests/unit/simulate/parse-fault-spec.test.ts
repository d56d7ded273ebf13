import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MedallionError } from '../../../src/core/errors.ts';
import { NO_FAULTS, parseFaultSpec, resolveFaultRates } from '../../../src/simulate/index.ts';

const defaults = {
  duplicate: 0.004,
  late: 0.002,
  outOfOrder: 0.01,
  malformed: 0.001,
  invalid: 0.001,
  unknownSchool: 0.001,
};

test('parseFaultSpec accepts default, none and kind=rate lists', () => {
  assert.equal(parseFaultSpec('default'), 'default');
  assert.equal(parseFaultSpec(' none '), 'none');
  assert.deepEqual(parseFaultSpec('duplicate=0.01,late=0,malformed=0.002'), {
    duplicate: 0.01,
    late: 0,
    malformed: 0.002,
  });
  assert.deepEqual(parseFaultSpec('none,duplicate=0.01'), { ...NO_FAULTS, duplicate: 0.01 });
  assert.deepEqual(parseFaultSpec('default, unknownSchool=.5'), { unknownSchool: 0.5 });
});

test('a SPEC overrides the config rates it names and keeps the others', () => {
  assert.deepEqual(resolveFaultRates(parseFaultSpec('duplicate=0.01,late=0'), defaults), {
    ...defaults,
    duplicate: 0.01,
    late: 0,
  });
  assert.deepEqual(resolveFaultRates('none', defaults), NO_FAULTS);
  assert.deepEqual(resolveFaultRates(undefined, defaults), defaults);
});

test('parseFaultSpec rejects bad kinds and rates with MDL_USAGE', () => {
  const bad = [
    'duplicat=0.1',
    'late=abc',
    'late=0.6',
    'late=-0.1',
    'late=',
    'late',
    '',
    'late=0.1,late=0.2',
    'late=1e',
    'late=0.1,',
  ];
  for (const spec of bad) {
    assert.throws(
      () => parseFaultSpec(spec),
      (err: unknown) => err instanceof MedallionError && err.code === 'MDL_USAGE' && err.hint !== undefined,
      spec,
    );
  }
  assert.throws(() => parseFaultSpec('duplicat=0.1'), /unknown fault kind "duplicat"/);
  assert.throws(() => parseFaultSpec('late=0.6'), /not a number from 0 to 0.5/);
  assert.throws(() => resolveFaultRates({ late: 2 }, defaults), /not a number from 0 to 0.5/);
  assert.throws(() => resolveFaultRates({ nope: 0.1 } as never, defaults), /Unknown fault kind/);
});
