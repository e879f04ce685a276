import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseTopicInfo } from '../../src/source/topic-info.ts'
import { goldenCase } from '../helpers/reference.ts'

test('topic strings parse as Chronon (and Zipline) parse them (golden topic_info_parse)', () => {
  for (const c of goldenCase('topic_info_parse').subcases as { in: string, out: unknown }[]) {
    assert.deepEqual(parseTopicInfo(c.in), c.out, c.in)
  }
})
