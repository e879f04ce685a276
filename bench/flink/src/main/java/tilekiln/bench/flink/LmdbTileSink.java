package tilekiln.bench.flink;

import java.io.IOException;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;

/**
 * The job's sink: every tile put goes to the JVM's LmdbStore. Chronon writes through AsyncDataStream with at most
 * 10 single-put requests in flight per subtask (sized for a remote KV store); against a local store that would
 * throttle Flink on commit round-trips, so this sink batches instead, like tilekiln's writer. flush() (checkpoint
 * or end of input) waits until everything handed over is committed.
 */
public class LmdbTileSink implements Sink<TilePut> {
  private final String path;

  public LmdbTileSink(String path) {
    this.path = path;
  }

  @Override
  public SinkWriter<TilePut> createWriter(InitContext context) {
    LmdbStore store = LmdbStore.get(path);
    return new SinkWriter<>() {
      @Override
      public void write(TilePut element, Context ctx) throws InterruptedException {
        store.put(element);
      }

      @Override
      public void flush(boolean endOfInput) throws IOException, InterruptedException {
        store.awaitCommitted();
        if (endOfInput) Stats.sinkFinished(System.currentTimeMillis());
      }

      @Override
      public void close() {}
    };
  }
}
