// A second process on the same embedded store, for test/sink/embedded-store.test.ts. Commands (argv after the
// store dir), each printing one JSON line:
//   epochs SCOPE PARTITION N          acquire N epochs, print them
//   own SCOPE PARTITION KEYHEX VALUE  acquire an epoch, write the tile (KEYHEX, start 0) under it and a checkpoint,
//                                     print { epoch, outcome, checkpoint }
import { EmbeddedStore } from '../../src/sink/embedded-store.ts'
import { TilePuts, TilePutsWriter } from '../../src/sink/tile-puts.ts'

const [dir, command, scope, partitionText, ...rest] = process.argv.slice(2)
const partition = Number(partitionText)
const store = new EmbeddedStore(dir!)
try {
  if (command === 'epochs') {
    const out: number[] = []
    for (let i = 0; i < Number(rest[0]); i++) out.push(await store.acquireEpoch(scope!, partition))
    process.stdout.write(JSON.stringify(out) + '\n')
  } else if (command === 'own') {
    const epoch = await store.acquireEpoch(scope!, partition)
    const w = new TilePutsWriter()
    w.begin()
    w.beginPut(Buffer.from(rest[0]!, 'hex'), 0).raw(Buffer.from(rest[1]!))
    w.endValue()
    const outcome = await store.writeTiles('TEST_EMBEDDED_STREAMING', 300_000, new TilePuts(w.finish(), Int32Array.of(partition)), { scope: scope!, epochs: new Map([[partition, epoch]]) })
    const checkpoint = await store.writeCheckpoint(scope!, partition, epoch, Buffer.from('child'))
    process.stdout.write(JSON.stringify({ epoch, outcome, checkpoint }) + '\n')
  } else {
    throw new Error(`unknown command ${String(command)}`)
  }
} finally {
  await store.close()
}
