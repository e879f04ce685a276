package tilekiln.bench.flink;

import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.connector.datagen.source.GeneratorFunction;

/**
 * Feeds ClickGenerator to DataGeneratorSource. The source runs with parallelism 1 and a single split, so indices
 * arrive in order and the one sequential generator yields exactly tilekiln's event sequence.
 */
public class GeneratorFn implements GeneratorFunction<Long, byte[]> {
  private final int keys;
  private final double zipf;
  private final int seed;
  private final long start;
  private final long step;
  private transient ClickGenerator gen;

  public GeneratorFn(int keys, double zipf, int seed, long start, long step) {
    this.keys = keys;
    this.zipf = zipf;
    this.seed = seed;
    this.start = start;
    this.step = step;
  }

  @Override
  public void open(SourceReaderContext readerContext) {
    gen = new ClickGenerator(keys, zipf, seed, start, step);
  }

  @Override
  public byte[] map(Long index) {
    if (index == 0) Stats.firstEventMillis = System.currentTimeMillis();
    return gen.next();
  }
}
