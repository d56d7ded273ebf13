import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bronzeFileName, parseBronzeFileName } from '../../../src/ingest/bronze-writer.ts';

test('bronze file names round-trip stream and offsets, and sort by offset', () => {
  for (const stream of ['medallion.nyc.attendance-events:2', 'events-20181001T000000000Z-s1-00001.jsonl', 'a+b c']) {
    const name = bronzeFileName(stream, 17, 12345);
    assert.deepEqual(parseBronzeFileName(name), { stream, firstOffset: 17, lastOffset: 12345 });
  }
  assert.ok(bronzeFileName('t:0', 9, 10) < bronzeFileName('t:0', 10, 20));
  assert.equal(parseBronzeFileName('notes.txt'), undefined);
});
