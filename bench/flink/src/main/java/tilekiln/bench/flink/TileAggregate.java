package tilekiln.bench.flink;

import org.apache.flink.api.common.functions.AggregateFunction;

/**
 * Chronon's FlinkRowAggregationFunction for SUM/COUNT/AVERAGE(price): update the tile IR per element, never
 * finalize (the IR is what gets written). Chronon's update returns a fresh TimestampedIR per element; we mutate
 * the accumulator in place, which heap state allows and which is cheaper.
 */
public class TileAggregate implements AggregateFunction<Click, TileIr, TileIr> {
  @Override
  public TileIr createAccumulator() {
    return new TileIr();
  }

  @Override
  public TileIr add(Click c, TileIr ir) {
    if (c.hasPrice) {
      if (!ir.seen) {
        ir.seen = true;
        ir.sum = c.price;
        ir.count = 1;
        ir.avgSum = c.price;
        ir.avgCount = 1;
      } else {
        ir.sum += c.price;
        ir.count += 1;
        ir.avgSum += c.price;
        ir.avgCount += 1;
      }
    }
    ir.latestTs = c.ts;
    return ir;
  }

  @Override
  public TileIr getResult(TileIr ir) {
    return ir;
  }

  @Override
  public TileIr merge(TileIr a, TileIr b) {
    if (!b.seen) {
      a.latestTs = Math.max(a.latestTs, b.latestTs);
      return a;
    }
    if (!a.seen) {
      b.latestTs = Math.max(a.latestTs, b.latestTs);
      return b;
    }
    a.sum += b.sum;
    a.count += b.count;
    a.avgSum += b.avgSum;
    a.avgCount += b.avgCount;
    a.latestTs = Math.max(a.latestTs, b.latestTs);
    return a;
  }
}
