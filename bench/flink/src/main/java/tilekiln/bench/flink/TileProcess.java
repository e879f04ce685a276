package tilekiln.bench.flink;

import java.io.ByteArrayOutputStream;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/**
 * Chronon's FlinkRowAggProcessFunction: on every fire, encode the window's IR as the Avro tile record
 * {collapsedIr, isComplete} (TileCodec.makeTileIr: a GenericRecord written by GenericDatumWriter) and emit it with
 * the key and the latest event time. isComplete = watermark ≥ window end, exactly as Chronon computes it.
 * The schema comes from tilekiln's own TileCodec (bench/flink.ts passes it), so both engines write the same bytes.
 */
public class TileProcess extends ProcessWindowFunction<TileIr, TimestampedTile, Long, TimeWindow> {
  private final String tileSchemaJson;
  private transient Schema tileSchema;
  private transient Schema windowedSchema;
  private transient Schema avgSchema;
  private transient GenericDatumWriter<GenericRecord> writer;
  private transient ByteArrayOutputStream bytes;
  private transient BinaryEncoder encoder;

  public TileProcess(String tileSchemaJson) {
    this.tileSchemaJson = tileSchemaJson;
  }

  @Override
  public void open(Configuration parameters) {
    tileSchema = new Schema.Parser().parse(tileSchemaJson);
    windowedSchema = nonNull(tileSchema.getField("collapsedIr").schema());
    avgSchema = nonNull(windowedSchema.getField("price_average").schema());
    writer = new GenericDatumWriter<>(tileSchema);
    bytes = new ByteArrayOutputStream(128);
  }

  private static Schema nonNull(Schema union) {
    for (Schema s : union.getTypes()) if (s.getType() != Schema.Type.NULL) return s;
    throw new IllegalArgumentException("union without a non-null branch: " + union);
  }

  @Override
  public void process(Long key, Context ctx, Iterable<TileIr> elements, Collector<TimestampedTile> out) throws Exception {
    TileIr ir = elements.iterator().next();
    boolean isComplete = ctx.currentWatermark() >= ctx.window().getEnd();
    GenericRecord windowed = new GenericData.Record(windowedSchema);
    if (ir.seen) {
      GenericRecord avg = new GenericData.Record(avgSchema);
      avg.put("sum", ir.avgSum);
      avg.put("count", ir.avgCount);
      windowed.put("price_sum", ir.sum);
      windowed.put("price_count", ir.count);
      windowed.put("price_average", avg);
    }
    GenericRecord tile = new GenericData.Record(tileSchema);
    tile.put("collapsedIr", windowed);
    tile.put("isComplete", isComplete);
    bytes.reset();
    encoder = EncoderFactory.get().binaryEncoder(bytes, encoder);
    writer.write(tile, encoder);
    encoder.flush();
    TimestampedTile t = new TimestampedTile();
    t.userId = key;
    t.tileStart = ctx.window().getStart();
    t.tileBytes = bytes.toByteArray();
    t.latestTs = ir.latestTs;
    out.collect(t);
  }
}
