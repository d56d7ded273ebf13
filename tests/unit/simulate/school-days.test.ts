import assert from 'node:assert/strict';
import { test } from 'node:test';
import { schoolDay, schoolDays } from '../../../src/simulate/school-days.ts';

test('school days are consecutive weekdays that are not holidays', () => {
  const days = schoolDays('2018-10-05', 4, ['2018-10-08']);
  assert.deepEqual(
    days.map((d) => d.date),
    ['2018-10-05', '2018-10-09', '2018-10-10', '2018-10-11'],
  );
  assert.deepEqual(
    schoolDays('2018-10-06', 1).map((d) => d.date),
    ['2018-10-08'],
  );
});

test('New York offsets follow daylight saving time (ends 2018-11-04, starts 2019-03-10)', () => {
  assert.equal(schoolDay('2018-11-02').offset, '-04:00');
  assert.equal(schoolDay('2018-11-05').offset, '-05:00');
  assert.equal(schoolDay('2019-03-08').offset, '-05:00');
  assert.equal(schoolDay('2019-03-11').offset, '-04:00');
  const d = schoolDay('2018-11-05');
  assert.equal(new Date(d.midnightEpoch * 1000).toISOString(), '2018-11-05T05:00:00.000Z');
});

test('a start date that is not a date is a usage error', () => {
  assert.throws(() => schoolDays('2018-02-30', 1), /MDL_USAGE|not a date/);
});
