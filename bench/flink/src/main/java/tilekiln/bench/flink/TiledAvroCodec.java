package tilekiln.bench.flink;

import java.io.ByteArrayOutputStream;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.configuration.Configuration;

/**
 * Chronon's TiledAvroCodecFn: the entity key Avro-encoded as the `Key` record (Chronon's key schema, from
 * tilekiln's KeyCodec), paired with the tile bytes into a put request.
 */
public class TiledAvroCodec extends RichMapFunction<TimestampedTile, TilePut> {
  private final String keySchemaJson;
  private transient Schema keySchema;
  private transient GenericDatumWriter<GenericRecord> writer;
  private transient ByteArrayOutputStream bytes;
  private transient BinaryEncoder encoder;

  public TiledAvroCodec(String keySchemaJson) {
    this.keySchemaJson = keySchemaJson;
  }

  @Override
  public void open(Configuration parameters) {
    keySchema = new Schema.Parser().parse(keySchemaJson);
    writer = new GenericDatumWriter<>(keySchema);
    bytes = new ByteArrayOutputStream(32);
  }

  @Override
  public TilePut map(TimestampedTile t) throws Exception {
    GenericRecord key = new GenericData.Record(keySchema);
    key.put("user_id", t.userId);
    bytes.reset();
    encoder = EncoderFactory.get().binaryEncoder(bytes, encoder);
    writer.write(key, encoder);
    encoder.flush();
    TilePut p = new TilePut();
    p.keyBytes = bytes.toByteArray();
    p.valueBytes = t.tileBytes;
    p.tileStart = t.tileStart;
    p.eventTs = t.latestTs;
    return p;
  }
}
