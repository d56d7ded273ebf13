import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MedallionError } from '../../../../src/core/errors.ts';
import { parseBrokers } from '../../../../src/sources/kafka/parse-brokers.ts';

test('parseBrokers reads host:port lists, trimming blanks and empty entries', () => {
  assert.deepEqual(parseBrokers('127.0.0.1:9092'), ['127.0.0.1:9092']);
  assert.deepEqual(parseBrokers(' kafka-1:9092 , kafka-2.internal:19092,, '), [
    'kafka-1:9092',
    'kafka-2.internal:19092',
  ]);
});

test('parseBrokers defaults the port to 9092, keeps IPv6 in brackets and drops duplicates', () => {
  assert.deepEqual(parseBrokers('localhost'), ['localhost:9092']);
  assert.deepEqual(parseBrokers('[::1]:9093,[::1]'), ['[::1]:9093', '[::1]:9092']);
  assert.deepEqual(parseBrokers('a:1,a:1,b:2'), ['a:1', 'b:2']);
});

test('parseBrokers rejects empty and malformed lists with MDL_USAGE', () => {
  for (const bad of [
    '',
    ' , ',
    'host:',
    'host:0',
    'host:65536',
    'host:port',
    'PLAINTEXT://h:9092',
    '::1:9092',
    'bad host:1',
    'a:1:2',
  ]) {
    assert.throws(
      () => parseBrokers(bad),
      (err: unknown) =>
        err instanceof MedallionError && err.code === 'MDL_USAGE' && /Invalid Kafka broker list/.test(err.message),
      `expected ${JSON.stringify(bad)} to be rejected`,
    );
  }
});
