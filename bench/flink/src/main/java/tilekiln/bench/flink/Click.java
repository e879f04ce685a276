package tilekiln.bench.flink;

/**
 * One input row after the GroupBy's selects and time column. Chronon's job carries a Scala Map[String, Any] here
 * (serialized by Kryo across the keyBy); a typed POJO travels through Flink's PojoSerializer, which is Flink's
 * fast path — we give Flink the better of the two.
 */
public class Click {
  public long userId;
  public long ts;
  public double price;
  /** False when the price column is null (then the aggregations skip the row, as Chronon's RowAggregator does). */
  public boolean hasPrice;

  public Click() {}
}
