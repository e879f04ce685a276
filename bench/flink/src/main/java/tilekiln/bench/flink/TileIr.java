package tilekiln.bench.flink;

/**
 * The tile's intermediate result for SUM(price), COUNT(price), AVERAGE(price) — Chronon's IR layout
 * [sum: double, count: long, average: {sum: double, count: int}] — plus the latest event time (Chronon's
 * TimestampedIR.latestTsMillis). All parts stay null until the first non-null price, as Chronon's RowAggregator.
 * Primitive fields rather than Chronon's Array[Any] of boxed values: again Flink's fast path.
 */
public class TileIr {
  public boolean seen;
  public double sum;
  public long count;
  public double avgSum;
  public int avgCount;
  public long latestTs = Long.MIN_VALUE;

  public TileIr() {}
}
