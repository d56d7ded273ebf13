import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asMedallionError, MedallionError } from '../../src/core/errors.ts';

test('MedallionError carries a stable code and a one-line user message', () => {
  const err = new MedallionError('MDL_CONFIG_INVALID', 'events.kafka: unknown key "topik".', {
    hint: 'Correct the key.',
  });
  assert.equal(err.code, 'MDL_CONFIG_INVALID');
  assert.equal(err.toUserLine(), 'MDL_CONFIG_INVALID: events.kafka: unknown key "topik". Correct the key.');
  assert.equal(err.retriable, false);
});

test('asMedallionError keeps Medallion errors and wraps others as internal', () => {
  const own = new MedallionError('MDL_USAGE', 'x');
  assert.equal(asMedallionError(own), own);
  const wrapped = asMedallionError(new Error('boom'));
  assert.equal(wrapped.code, 'MDL_INTERNAL');
  assert.match(wrapped.toUserLine(), /^MDL_INTERNAL: boom/);
});
