package tilekiln.bench.flink;

/** Chronon's PutRequest for a tile: Avro key bytes, tile bytes, and where the tile starts. */
public class TilePut {
  public byte[] keyBytes;
  public byte[] valueBytes;
  public long tileStart;
  /** Event time of the newest event in the tile: the sink measures event → store latency from it. */
  public long eventTs;

  public TilePut() {}
}
