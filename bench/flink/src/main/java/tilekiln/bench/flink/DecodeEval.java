package tilekiln.bench.flink;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.flink.api.common.functions.RichFlatMapFunction;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.util.Collector;

/**
 * Chronon's SparkExpressionEvalFn for this GroupBy: decode the raw Avro record, apply the selects
 * (user_id → user_id, price → price) and the time column (ts). Chronon evaluates these with Spark Catalyst per
 * row; here the selects are plain column references, so a direct field read is the honest minimum (and far
 * cheaper than Catalyst). Decoding uses the Avro library with a reused decoder and record. A row with a null key
 * or time is dropped and counted (tilekiln dead-letters it).
 */
public class DecodeEval extends RichFlatMapFunction<byte[], Click> {
  private final String inputSchemaJson;
  private transient GenericDatumReader<GenericRecord> reader;
  private transient BinaryDecoder decoder;
  private transient GenericRecord reuse;
  private transient int userIdPos;
  private transient int tsPos;
  private transient int pricePos;
  private transient Counter errors;

  public DecodeEval(String inputSchemaJson) {
    this.inputSchemaJson = inputSchemaJson;
  }

  @Override
  public void open(Configuration parameters) {
    Schema schema = new Schema.Parser().parse(inputSchemaJson);
    reader = new GenericDatumReader<>(schema);
    userIdPos = schema.getField("user_id").pos();
    tsPos = schema.getField("ts").pos();
    pricePos = schema.getField("price").pos();
    errors = getRuntimeContext().getMetricGroup().counter("spark_expr_eval_errors");
  }

  @Override
  public void flatMap(byte[] value, Collector<Click> out) throws Exception {
    decoder = DecoderFactory.get().binaryDecoder(value, decoder);
    reuse = reader.read(reuse, decoder);
    Object user = reuse.get(userIdPos);
    Object ts = reuse.get(tsPos);
    if (user == null || ts == null) {
      errors.inc();
      return;
    }
    Click c = new Click();
    c.userId = (Long) user;
    c.ts = (Long) ts;
    Object price = reuse.get(pricePos);
    if (price != null) {
      c.price = (Double) price;
      c.hasPrice = true;
    }
    out.collect(c);
  }
}
