// The classic protocol's member metadata, byte for byte: ConsumerProtocolSubscription v2 and ConsumerProtocolAssignment
// as Kafka's own schemas define them (clients/src/main/resources/common/message/ConsumerProtocol*.json), so that Java
// members of the same group read ours and we read theirs.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from '../../src/kafka/platformatic/group-classic.ts'

test('subscription v2: version, topics, null user data, owned partitions, generation', () => {
  const b = encodeSubscription('ab', [1, 3], 9)
  assert.equal(b.toString('hex'),
    '0002' + '00000001' + '0002' + '6162' + 'ffffffff' + '00000001' + '0002' + '6162' + '00000002' + '00000001' + '00000003' + '00000009')
  const d = decodeSubscription('m', null, 'ab', b)
  assert.deepEqual([d.topics, d.owned, d.generation], [['ab'], [1, 3], 9])
})

test('subscriptions of older versions (a v0 member owns nothing it can prove) and of other topics', () => {
  const v0 = Buffer.from('0000' + '00000001' + '0002' + '6162' + '00000003' + '010203', 'hex')
  assert.deepEqual(decodeSubscription('m', null, 'ab', v0), { memberId: 'm', instanceId: null, owned: [], generation: -1, topics: ['ab'] })
  const v1 = Buffer.from('0001' + '00000001' + '0002' + '6162' + 'ffffffff' + '00000002' + '0002' + '6162' + '00000001' + '00000004' + '0001' + '78' + '00000001' + '00000007', 'hex')
  const d = decodeSubscription('m', 'i', 'ab', v1)
  assert.deepEqual([d.owned, d.generation, d.instanceId], [[4], -1, 'i'])
  assert.deepEqual(decodeSubscription('m', null, 'ab', null).owned, [])
})

test('assignment: round trip, other topics ignored, empty and missing assignments', () => {
  const b = encodeAssignment('ab', [5, 2])
  assert.equal(b.toString('hex'), '0001' + '00000001' + '0002' + '6162' + '00000002' + '00000005' + '00000002' + 'ffffffff')
  assert.deepEqual(decodeAssignment('ab', b), [2, 5])
  assert.deepEqual(decodeAssignment('zz', b), [])
  assert.deepEqual(decodeAssignment('ab', Buffer.alloc(0)), [])
  assert.deepEqual(decodeAssignment('ab', null), [])
})
