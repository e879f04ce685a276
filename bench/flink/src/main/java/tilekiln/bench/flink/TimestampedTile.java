package tilekiln.bench.flink;

/** Chronon's TimestampedTile: entity key, encoded tile IR, and the latest event time (for the lag metric). */
public class TimestampedTile {
  public long userId;
  public long tileStart;
  public byte[] tileBytes;
  public long latestTs;

  public TimestampedTile() {}
}
