package tilekiln.bench.flink;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.File;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.lmdbjava.Dbi;
import org.lmdbjava.DbiFlags;
import org.lmdbjava.Env;
import org.lmdbjava.EnvFlags;
import org.lmdbjava.Txn;

/**
 * The Flink side's KV store: LMDB, with the same physical layout as tilekiln's embedded store (layout 3,
 * src/sink/embedded-store.ts) — database `tiles`, key = u32 BE dataset id | u16 BE key length | Avro key bytes |
 * u64 BE tile size | i64 BE tile start with the sign bit flipped, value = i64 BE latest event time ‖ the Avro tile
 * record; database `datasets`, dataset UTF-8 → u32 BE id (the job writes one dataset: id 1) — so
 * bench/flink.ts can compare the two stores entry by entry (through `dump`: lmdb-js bundles a patched LMDB that
 * cannot open files written by the stock LMDB lmdbjava ships, so the runner reads this store through Java).
 *
 * It works the way lmdb-js works under tilekiln: sink subtasks hand puts to one write thread (LMDB has one writer
 * at a time), which commits everything queued in one transaction. lmdb-js's default `overlappingSync` commits
 * without syncing, acknowledges the writes, then fdatasyncs on the same write thread before the next transaction
 * (while new puts keep queueing); we do the same with MDB_NOSYNC + mdb_env_sync. A put counts as written when its
 * transaction commits, as a tilekiln put does when its lmdb-js promise resolves. The queue is bounded, so a slow
 * store back-pressures the job. (A separate sync thread, tried first, halved throughput: fdatasync running beside
 * the next transaction's page writes stalls them on ext4.)
 */
public final class LmdbStore implements AutoCloseable {
  private static final ConcurrentHashMap<String, LmdbStore> OPEN = new ConcurrentHashMap<>();
  private static final int MAX_BATCH = 16_384;
  /** The id of the store's one dataset in database `datasets`. */
  private static final byte DATASET_ID = 1;

  /** The store a sink subtask writes into (opened by the job's main before execution). */
  public static LmdbStore get(String path) {
    LmdbStore s = OPEN.get(path);
    if (s == null) throw new IllegalStateException("LMDB store not open: " + path);
    return s;
  }

  private final String path;
  private final byte[] head;
  private final long tileSizeMillis;
  private final boolean discard;
  private final Env<ByteBuffer> env;
  private final Dbi<ByteBuffer> tiles;
  private final ArrayBlockingQueue<TilePut> queue = new ArrayBlockingQueue<>(1 << 16);
  private final AtomicLong enqueued = new AtomicLong();
  private volatile long committed = 0;
  private volatile boolean running = true;
  private volatile Throwable failure;
  private final Object progress = new Object();
  private final Thread writer;
  /** Event time → commit, per put (ms). Written by the writer thread only. */
  public final Histogram latency = new Histogram(MAX_LATENCY, 3);
  private static final long MAX_LATENCY = 3_600_000L;
  public volatile long lastCommitMillis;
  public long transactions;
  /** Wall time the write thread spent inside transactions (ns): how busy the store was. */
  public long busyNanos;
  /** Wall time the write thread spent in fdatasync after commits (ns). */
  public long syncNanos;

  /**
   * @param discard keep the queue and the write thread but drop every batch instead of writing it: Flink's
   *     throughput without the store's cost (an upper bound; tilekiln always writes)
   */
  public static LmdbStore open(String path, String dataset, long tileSizeMillis, boolean discard) {
    LmdbStore s = new LmdbStore(path, dataset, tileSizeMillis, discard);
    if (OPEN.putIfAbsent(path, s) != null) {
      s.close();
      throw new IllegalStateException("LMDB store already open: " + path);
    }
    return s;
  }

  private LmdbStore(String path, String dataset, long tileSizeMillis, boolean discard) {
    this.path = path;
    this.discard = discard;
    head = new byte[] {0, 0, 0, DATASET_ID};
    this.tileSizeMillis = tileSizeMillis;
    if (discard) {
      env = null;
      tiles = null;
    } else {
      File dir = new File(path);
      dir.mkdirs();
      env = Env.create().setMapSize(1L << 30).setMaxDbs(4).setMaxReaders(126).open(dir, EnvFlags.MDB_NOSYNC);
      tiles = env.openDbi("tiles", DbiFlags.MDB_CREATE);
      env.openDbi("meta", DbiFlags.MDB_CREATE); // tilekiln's store always has it; its readers expect it
      Dbi<ByteBuffer> datasets = env.openDbi("datasets", DbiFlags.MDB_CREATE);
      byte[] ds = dataset.getBytes(UTF_8);
      ByteBuffer k = ByteBuffer.allocateDirect(ds.length).put(ds).flip();
      ByteBuffer v = ByteBuffer.allocateDirect(4).putInt(DATASET_ID).flip();
      datasets.put(k, v);
    }
    writer = new Thread(this::writeLoop, "lmdb-writer");
    writer.setDaemon(true);
    writer.start();
  }

  /** Queues one put; blocks while the queue is full (back-pressure). */
  public void put(TilePut p) throws InterruptedException {
    check();
    queue.put(p);
    enqueued.incrementAndGet();
  }

  /** Waits until every put queued so far is committed. */
  public void awaitCommitted() throws InterruptedException {
    long target = enqueued.get();
    synchronized (progress) {
      while (committed < target) {
        check();
        progress.wait(10);
      }
    }
  }

  public long committed() {
    return committed;
  }

  private void check() {
    if (failure != null) throw new IllegalStateException("LMDB writer failed", failure);
  }

  private void writeLoop() {
    List<TilePut> batch = new ArrayList<>(MAX_BATCH);
    ByteBuffer key = ByteBuffer.allocateDirect(511);
    ByteBuffer value = ByteBuffer.allocateDirect(4096);
    try {
      while (running || !queue.isEmpty()) {
        TilePut first = queue.poll(5, TimeUnit.MILLISECONDS);
        if (first == null) continue;
        batch.clear();
        batch.add(first);
        queue.drainTo(batch, MAX_BATCH - 1);
        long t0 = System.nanoTime();
        if (!discard) try (Txn<ByteBuffer> txn = env.txnWrite()) {
          for (int i = 0; i < batch.size(); i++) {
            TilePut p = batch.get(i);
            key.clear();
            key.put(head);
            key.putShort((short) p.keyBytes.length);
            key.put(p.keyBytes);
            key.putLong(tileSizeMillis);
            key.putLong(p.tileStart ^ Long.MIN_VALUE);
            key.flip();
            if (value.capacity() < 8 + p.valueBytes.length) value = ByteBuffer.allocateDirect((8 + p.valueBytes.length) * 2);
            value.clear();
            value.putLong(p.eventTs); // the tile's latest event time, as tilekiln's embedded store keeps it
            value.put(p.valueBytes);
            value.flip();
            tiles.put(txn, key, value);
          }
          txn.commit();
        }
        busyNanos += System.nanoTime() - t0;
        long now = System.currentTimeMillis();
        // Clamped: a synthetic clock (--start) puts event times years back.
        for (int i = 0; i < batch.size(); i++) latency.recordValue(Math.min(MAX_LATENCY, Math.max(0, now - batch.get(i).eventTs)));
        transactions++;
        lastCommitMillis = now;
        synchronized (progress) {
          committed += batch.size();
          progress.notifyAll();
        }
        if (!discard) {
          long t1 = System.nanoTime();
          env.sync(true);
          syncNanos += System.nanoTime() - t1;
        }
      }
    } catch (Throwable t) {
      failure = t;
    }
  }

  /** Prints every entry of a store's `tiles` database as "hex(key) hex(value)" lines, in key order. */
  public static void dump(String path, java.io.PrintStream out) {
    try (Env<ByteBuffer> env = Env.create().setMaxDbs(4).open(new File(path), EnvFlags.MDB_RDONLY_ENV)) {
      Dbi<ByteBuffer> tiles = env.openDbi("tiles");
      try (Txn<ByteBuffer> txn = env.txnRead(); org.lmdbjava.CursorIterable<ByteBuffer> it = tiles.iterate(txn)) {
        StringBuilder b = new StringBuilder();
        for (org.lmdbjava.CursorIterable.KeyVal<ByteBuffer> kv : it) {
          b.setLength(0);
          hex(b, kv.key()).append(' ');
          hex(b, kv.val());
          out.println(b);
        }
      }
    }
  }

  private static StringBuilder hex(StringBuilder b, ByteBuffer buf) {
    for (int i = buf.position(); i < buf.limit(); i++) {
      int v = buf.get(i) & 0xff;
      b.append(Character.forDigit(v >>> 4, 16)).append(Character.forDigit(v & 15, 16));
    }
    return b;
  }

  @Override
  public void close() {
    running = false;
    try {
      writer.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (env != null) {
      if (failure == null) env.sync(true);
      env.close();
    }
    OPEN.remove(path, this);
    check();
  }
}
