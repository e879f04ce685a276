package tilekiln.vectors;

import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.StringJoiner;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;

/**
 * Writes the vectors of test/agg/chronon-parity.test.ts: what Chronon's JVM code produces where tilekiln has to
 * match it bit for bit. Chronon's artifacts are not on Maven Central, so its few steps involved are reproduced here
 * line for line (each cites the Chronon source it follows, airbnb/chronon at 5edd4fc) on the real JDK classes and
 * the real Avro encoder:
 *
 *   mapTiles  - one tile of a GroupBy with HISTOGRAM(s), SUM(v) by b and HISTOGRAM(s) by b. IRs are built as
 *               Histogram.update and BucketedColumnAggregator.update build them (java.util.HashMap puts),
 *               normalized as MapColumnAggregatorBase.normalize does (new HashMap() + a put per entry), copied as
 *               Row.to does before Avro sees them (new HashMap(map.size()) + a put per entry, nested maps too),
 *               then written by Avro's GenericDatumWriter (entry order = that last HashMap's iteration order).
 *   nullKeys  - tiles of keys with null values (KeySelector's List(null)): the Key record's bytes and the tile's.
 *   skew      - Skew.finalize and Kurtosis.finalize (SimpleAggregators.scala) over 10,000 random moment IRs, with
 *               Math.pow(m2, 1.5) and StrictMath.pow(m2, 1.5) (fdlibm) on their own; everything as IEEE-754 bit
 *               patterns (hex): [n, m1, m2, m3, m4, Math.pow, skew, kurtosis, StrictMath.pow].
 *
 * Usage: java ... tilekiln.vectors.ParityVectors OUTPUT.json
 */
public final class ParityVectors {
  // The tile schema Chronon's TileCodec derives (AvroConversions.fromChrononSchema) for the GroupBy "parity" with
  // the three aggregations above; the test checks that tilekiln derives the same.
  static final String TILE_SCHEMA = "{\"type\":\"record\",\"name\":\"parity_TILE_IR\",\"namespace\":\"ai.chronon.data\",\"doc\":\"\",\"fields\":["
      + "{\"name\":\"collapsedIr\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"WindowedIr\",\"namespace\":\"ai.chronon.data\",\"doc\":\"\",\"fields\":["
      + "{\"name\":\"s_histogram\",\"type\":[\"null\",{\"type\":\"map\",\"values\":\"int\"}],\"doc\":\"\",\"default\":null},"
      + "{\"name\":\"v_sum_by_b\",\"type\":[\"null\",{\"type\":\"map\",\"values\":\"long\"}],\"doc\":\"\",\"default\":null},"
      + "{\"name\":\"s_histogram_by_b\",\"type\":[\"null\",{\"type\":\"map\",\"values\":{\"type\":\"map\",\"values\":\"int\"}}],\"doc\":\"\",\"default\":null}]}],"
      + "\"doc\":\"\",\"default\":null},{\"name\":\"isComplete\",\"type\":[\"null\",\"boolean\"],\"doc\":\"\",\"default\":null}]}";

  static final Schema SCHEMA = new Schema.Parser().parse(TILE_SCHEMA);
  static final Schema WINDOWED = SCHEMA.getField("collapsedIr").schema().getTypes().get(1);

  static long seed = 20261205L;
  static int rnd(int n) { seed = seed * 6364136223846793005L + 1442695040888963407L; return (int) ((seed >>> 33) % n); }

  // ---- JSON helpers -----------------------------------------------------------------------------------------------
  static String q(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }

  static String keyList(Map<String, ?> m) {
    StringJoiner j = new StringJoiner(",", "[", "]");
    for (String k : m.keySet()) j.add(q(k));
    return j.toString();
  }

  static String hex(byte[] bytes) {
    StringBuilder b = new StringBuilder();
    for (byte x : bytes) b.append(String.format("%02x", x & 0xff));
    return b.toString();
  }

  static String bits(double d) { return String.format("%016x", Double.doubleToRawLongBits(d)); }

  // ---- map tiles --------------------------------------------------------------------------------------------------
  /** One input row of the tile: s (histogram input), v (sum input), b (bucket). */
  record Event(String s, long v, String b) {}

  /** Histogram.update / incrementInMap on a HashMap created by Histogram.prepare. */
  static HashMap<String, Integer> histogramAdd(HashMap<String, Integer> ir, String input) {
    if (ir == null) {
      HashMap<String, Integer> m = new HashMap<>();
      m.put(input, 1);
      return m;
    }
    Integer old = ir.get(input);
    int next = old == null ? 1 : old + 1;
    if (next == 0) ir.remove(input); else ir.put(input, next);
    return ir;
  }

  /** MapColumnAggregatorBase.guardedApply(agg.normalize): new HashMap() + a put per entry, in iteration order. */
  static <V> HashMap<String, V> normalizeCopy(Map<String, V> ir) {
    HashMap<String, V> out = new HashMap<>();
    for (Map.Entry<String, V> e : ir.entrySet()) out.put(e.getKey(), e.getValue());
    return out;
  }

  /** Row.to, MapType case: new HashMap(map.size()) + a put per entry (keys and values edited recursively). */
  @SuppressWarnings("unchecked")
  static Object rowTo(Object value) {
    if (value instanceof Map) {
      Map<Object, Object> map = (Map<Object, Object>) value;
      HashMap<Object, Object> newMap = new HashMap<>(map.size());
      for (Map.Entry<Object, Object> e : map.entrySet()) newMap.put(e.getKey().toString(), rowTo(e.getValue()));
      return newMap;
    }
    return value;
  }

  static String mapTile(String name, List<Event> events) throws Exception {
    HashMap<String, Integer> hist = null;
    HashMap<String, Long> sumByB = null;
    HashMap<String, HashMap<String, Integer>> histByB = null;
    for (Event e : events) {
      hist = histogramAdd(hist, e.s);
      // BucketedColumnAggregator.update: new map on the first row, prepare on a new bucket, else update + put
      if (sumByB == null) sumByB = new HashMap<>();
      Long cur = sumByB.get(e.b);
      sumByB.put(e.b, cur == null ? e.v : cur + e.v);
      if (histByB == null) histByB = new HashMap<>();
      HashMap<String, Integer> inner = histByB.get(e.b);
      histByB.put(e.b, histogramAdd(inner, e.s));
    }
    // RowAggregator.normalize: Histogram's is the identity, the bucketed columns copy their outer map
    Object[] normalized = { hist, normalizeCopy(sumByB), normalizeCopy(histByB) };
    GenericData.Record windowed = new GenericData.Record(WINDOWED);
    Map<?, ?>[] written = new Map<?, ?>[3];
    for (int i = 0; i < 3; i++) {
      written[i] = (Map<?, ?>) rowTo(normalized[i]);
      windowed.put(i, written[i]);
    }
    GenericData.Record tile = new GenericData.Record(SCHEMA);
    tile.put(0, windowed);
    tile.put(1, Boolean.FALSE);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    BinaryEncoder enc = EncoderFactory.get().binaryEncoder(bytes, null);
    new GenericDatumWriter<GenericData.Record>(SCHEMA).write(tile, enc);
    enc.flush();

    StringJoiner ev = new StringJoiner(",", "[", "]");
    for (Event e : events) ev.add("[" + q(e.s) + "," + e.v + "," + q(e.b) + "]");
    @SuppressWarnings("unchecked")
    Map<String, Map<String, ?>> nested = (Map<String, Map<String, ?>>) written[2];
    StringJoiner inner = new StringJoiner(",", "[", "]");
    for (Map.Entry<String, Map<String, ?>> e : nested.entrySet()) inner.add("[" + q(e.getKey()) + "," + keyList(e.getValue()) + "]");
    return "{\"name\":" + q(name) + ",\"events\":" + ev
        + ",\"order\":{\"s_histogram\":" + keyList((Map<String, ?>) written[0]) + ",\"v_sum_by_b\":" + keyList((Map<String, ?>) written[1])
        + ",\"s_histogram_by_b\":" + inner + ",\"irOrder\":" + keyList(hist) + "}"
        + ",\"tile\":\"" + hex(bytes.toByteArray()) + "\"}";
  }

  /** Events over the given keys: s and b both drawn from `keys`, `count` events, repeats allowed. */
  static List<Event> eventsOver(List<String> keys, int count, boolean inOrder) {
    List<Event> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String s = inOrder && i < keys.size() ? keys.get(i) : keys.get(rnd(keys.size()));
      String b = inOrder && i < keys.size() ? keys.get(keys.size() - 1 - i) : keys.get(rnd(keys.size()));
      out.add(new Event(s, rnd(1000) - 100, b));
    }
    return out;
  }

  static String randomKey() {
    String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_";
    int len = 1 + rnd(8);
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < len; i++) b.append(alphabet.charAt(rnd(alphabet.length())));
    return b.toString();
  }

  static List<String> distinctKeys(int n, String prefix) {
    List<String> out = new ArrayList<>();
    for (int i = 0; out.size() < n; i++) {
      String k = prefix == null ? randomKey() : prefix + i;
      if (!out.contains(k)) out.add(k);
    }
    return out;
  }

  /** 2^depth strings over {"Aa", "BB"}: all have one String.hashCode. */
  static List<String> fullyColliding(int depth, int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      StringBuilder b = new StringBuilder();
      for (int d = 0; d < depth; d++) b.append(((i >> d) & 1) == 0 ? "Aa" : "BB");
      out.add(b.toString());
    }
    return out;
  }

  /** Distinct keys whose spread hashes agree in their low `bits` bits (same bucket in tables up to 2^bits). */
  static List<String> sameLowBits(int n, int bits) {
    List<String> out = new ArrayList<>();
    int mask = (1 << bits) - 1;
    int target = -1;
    for (int i = 0; out.size() < n; i++) {
      String k = "k" + i;
      int h = k.hashCode();
      h ^= h >>> 16;
      if (target == -1) target = h & mask;
      if ((h & mask) == target) out.add(k);
    }
    return out;
  }

  static String mapTiles() throws Exception {
    StringJoiner cases = new StringJoiner(",\n", "[\n", "\n]");
    // the example: {"i2":1,"i5":1} in a 16-bucket IR, {"i5":1,"i2":1} after Row.to's 4-bucket copy
    cases.add(mapTile("i2 and i5", List.of(new Event("i2", 1, "i2"), new Event("i5", 2, "i5"))));
    cases.add(mapTile("one key", List.of(new Event("x", 5, "y"))));
    cases.add(mapTile("fully colliding pair", eventsOver(fullyColliding(1, 2), 6, true)));
    cases.add(mapTile("eight fully colliding", eventsOver(fullyColliding(3, 8), 20, true)));
    cases.add(mapTile("ten fully colliding (chains resize small tables)", eventsOver(fullyColliding(4, 10), 30, true)));
    cases.add(mapTile("same bucket below 16", eventsOver(sameLowBits(6, 4), 12, true)));
    cases.add(mapTile("same bucket below 64", eventsOver(sameLowBits(9, 6), 20, true)));
    for (int n : new int[] {2, 3, 4, 5, 6, 7, 11, 12, 13, 24, 25, 48, 49, 97}) {
      cases.add(mapTile(n + " random keys", eventsOver(distinctKeys(n, null), n, true)));
      cases.add(mapTile(n + " numbered keys, repeats", eventsOver(distinctKeys(n, "i"), 3 * n, false)));
    }
    for (int i = 0; i < 40; i++) {
      int n = 1 + rnd(40);
      cases.add(mapTile("random " + i, eventsOver(distinctKeys(n, null), 1 + rnd(3 * n), false)));
    }
    return cases.toString();
  }

  // ---- null entity keys -------------------------------------------------------------------------------------------
  // The GroupBy test.null_keys.v1 (test/engine/null-keys.test.ts): SUM(price), AVERAGE(price) and
  // HISTOGRAM(CAST(price AS STRING)) keyed by listing_id, or by (listing_id, region). KeySelector keys a row with a
  // null listing_id by List(null), the job tiles it, and AvroCodecFn writes the key with the Key record below.
  static final String NULL_KEY_TILE_SCHEMA = "{\"type\":\"record\",\"name\":\"test_null_keys_v1_TILE_IR\",\"namespace\":\"ai.chronon.data\",\"doc\":\"\",\"fields\":["
      + "{\"name\":\"collapsedIr\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"WindowedIr\",\"namespace\":\"ai.chronon.data\",\"doc\":\"\",\"fields\":["
      + "{\"name\":\"price_sum\",\"type\":[\"null\",\"long\"],\"doc\":\"\",\"default\":null},"
      + "{\"name\":\"price_average\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"AvgIr\",\"namespace\":\"ai.chronon.data\",\"doc\":\"\",\"fields\":["
      + "{\"name\":\"sum\",\"type\":[\"null\",\"double\"],\"doc\":\"\",\"default\":null},{\"name\":\"count\",\"type\":[\"null\",\"int\"],\"doc\":\"\",\"default\":null}]}],\"doc\":\"\",\"default\":null},"
      + "{\"name\":\"price_str_histogram\",\"type\":[\"null\",{\"type\":\"map\",\"values\":\"int\"}],\"doc\":\"\",\"default\":null}]}],\"doc\":\"\",\"default\":null},"
      + "{\"name\":\"isComplete\",\"type\":[\"null\",\"boolean\"],\"doc\":\"\",\"default\":null}]}";
  static final String KEY_SCHEMA_1 = "{\"type\":\"record\",\"name\":\"Key\",\"namespace\":\"ai.chronon.data\",\"doc\":\"\",\"fields\":["
      + "{\"name\":\"listing_id\",\"type\":[\"null\",\"long\"],\"doc\":\"\",\"default\":null}]}";
  static final String KEY_SCHEMA_2 = "{\"type\":\"record\",\"name\":\"Key\",\"namespace\":\"ai.chronon.data\",\"doc\":\"\",\"fields\":["
      + "{\"name\":\"listing_id\",\"type\":[\"null\",\"long\"],\"doc\":\"\",\"default\":null},"
      + "{\"name\":\"region\",\"type\":[\"null\",\"string\"],\"doc\":\"\",\"default\":null}]}";

  static byte[] avro(Schema schema, GenericData.Record record) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    BinaryEncoder enc = EncoderFactory.get().binaryEncoder(bytes, null);
    new GenericDatumWriter<GenericData.Record>(schema).write(record, enc);
    enc.flush();
    return bytes.toByteArray();
  }

  /** One key's tile: the key record's bytes and the tile's, for the prices of its events (all in one tile). */
  static String nullKeyTile(String keySchemaJson, Object[] key, long[] prices, boolean isComplete) throws Exception {
    Schema keySchema = new Schema.Parser().parse(keySchemaJson);
    GenericData.Record keyRecord = new GenericData.Record(keySchema);
    for (int i = 0; i < key.length; i++) keyRecord.put(i, key[i]); // Row.to of the key List: null stays null
    Schema tileSchema = new Schema.Parser().parse(NULL_KEY_TILE_SCHEMA);
    Schema windowedSchema = tileSchema.getField("collapsedIr").schema().getTypes().get(1);
    Schema avgSchema = windowedSchema.getField("price_average").schema().getTypes().get(1);
    // Sum (Long), Average (Array(sum: Double, count: Int)), Histogram (HashMap) as RowAggregator.update builds them
    long sum = 0;
    double avgSum = 0;
    int count = 0;
    HashMap<String, Integer> hist = null;
    for (long p : prices) {
      sum += p;
      avgSum += p;
      count++;
      hist = histogramAdd(hist, Long.toString(p));
    }
    GenericData.Record avg = new GenericData.Record(avgSchema);
    avg.put(0, avgSum);
    avg.put(1, count);
    GenericData.Record windowed = new GenericData.Record(windowedSchema);
    windowed.put(0, sum);
    windowed.put(1, avg);
    windowed.put(2, rowTo(hist));
    GenericData.Record tile = new GenericData.Record(tileSchema);
    tile.put(0, windowed);
    tile.put(1, isComplete);
    StringJoiner k = new StringJoiner(",", "[", "]");
    for (Object x : key) k.add(x == null ? "null" : x instanceof String ? q((String) x) : x.toString());
    StringJoiner ps = new StringJoiner(",", "[", "]");
    for (long p : prices) ps.add(Long.toString(p));
    return "{\"key\":" + k + ",\"prices\":" + ps + ",\"keyBytes\":\"" + hex(avro(keySchema, keyRecord))
        + "\",\"tile\":\"" + hex(avro(tileSchema, tile)) + "\"}";
  }

  static String nullKeys() throws Exception {
    StringJoiner one = new StringJoiner(",\n", "[\n", "\n]");
    one.add(nullKeyTile(KEY_SCHEMA_1, new Object[] {null}, new long[] {8}, true)); // the listing
    one.add(nullKeyTile(KEY_SCHEMA_1, new Object[] {5L}, new long[] {3, 4}, true));
    StringJoiner two = new StringJoiner(",\n", "[\n", "\n]");
    two.add(nullKeyTile(KEY_SCHEMA_2, new Object[] {null, "eu"}, new long[] {8}, true));
    two.add(nullKeyTile(KEY_SCHEMA_2, new Object[] {5L, null}, new long[] {3, 4}, true));
    two.add(nullKeyTile(KEY_SCHEMA_2, new Object[] {null, null}, new long[] {2}, true));
    two.add(nullKeyTile(KEY_SCHEMA_2, new Object[] {null, "null"}, new long[] {1}, true));
    return "{\"tileSchema\":" + NULL_KEY_TILE_SCHEMA + ",\"oneKey\":{\"keySchema\":" + KEY_SCHEMA_1 + ",\"tiles\":" + one + "}"
        + ",\"twoKeys\":{\"keySchema\":" + KEY_SCHEMA_2 + ",\"tiles\":" + two + "}}";
  }

  // ---- SKEW / KURTOSIS --------------------------------------------------------------------------------------------
  /** Skew.finalize (SimpleAggregators.scala). */
  static double skew(double n, double m2, double m3) {
    return (n < 3 || m2 == 0) ? Double.NaN : Math.sqrt(n) * m3 / Math.pow(m2, 1.5);
  }

  /** Kurtosis.finalize (SimpleAggregators.scala). */
  static double kurtosis(double n, double m2, double m4) {
    return (n < 4 || m2 == 0) ? Double.NaN : n * m4 / (m2 * m2) - 3;
  }

  static double randomMagnitude(Random r) {
    // a log-uniform magnitude over most of the double range, and a random mantissa
    return Math.pow(2, r.nextInt(1400) - 700) * (1 + r.nextDouble());
  }

  static String skewCases() {
    Random r = new Random(1205);
    StringJoiner cases = new StringJoiner(",\n", "[\n", "\n]");
    int powDiffStrict = 0;
    int powNotNearest = 0;
    for (int i = 0; i < 10000; i++) {
      double n = i % 10 == 0 ? r.nextInt(6) : 1 + r.nextInt(1_000_000);
      double m1 = (r.nextDouble() - 0.5) * randomMagnitude(r);
      // m2 >= 0 for a real IR; a few zeros; most values in a realistic range, some anywhere in the double range
      double m2 = i % 97 == 0 ? 0 : (i % 3 == 0 ? randomMagnitude(r) : r.nextDouble() * Math.pow(10, r.nextInt(13) - 2));
      // every 50th: a perfect square y^2 (y odd, 18 bits), whose power 1.5 is y^3, exactly a rounding midpoint
      if (i % 50 == 1) { double y = (1 << 17) + 2 * r.nextInt(1 << 16) + 1; m2 = y * y; }
      double m3 = (r.nextDouble() - 0.5) * (i % 3 == 0 ? randomMagnitude(r) : Math.pow(10, r.nextInt(13)));
      double m4 = r.nextDouble() * (i % 3 == 0 ? randomMagnitude(r) : Math.pow(10, r.nextInt(20)));
      double pow = Math.pow(m2, 1.5);
      if (Double.doubleToRawLongBits(pow) != Double.doubleToRawLongBits(StrictMath.pow(m2, 1.5))) powDiffStrict++;
      if (m2 > 0 && !Double.isInfinite(pow) && pow != 0 && pow >= Double.MIN_NORMAL) {
        BigDecimal exact = new BigDecimal(m2).multiply(new BigDecimal(m2)).multiply(new BigDecimal(m2)).sqrt(new MathContext(60));
        if (exact.doubleValue() != pow) powNotNearest++;
      }
      cases.add("[\"" + bits(n) + "\",\"" + bits(m1) + "\",\"" + bits(m2) + "\",\"" + bits(m3) + "\",\"" + bits(m4)
          + "\",\"" + bits(pow) + "\",\"" + bits(skew(n, m2, m3)) + "\",\"" + bits(kurtosis(n, m2, m4))
          + "\",\"" + bits(StrictMath.pow(m2, 1.5)) + "\"]");
    }
    System.err.println("Math.pow(m2, 1.5) vs StrictMath.pow: " + powDiffStrict + " differ; vs the nearest double: " + powNotNearest + " differ (of 10000)");
    return cases.toString();
  }

  public static void main(String[] args) throws Exception {
    String json = "{\"generator\":\"test/vectors/chronon/src/main/java/tilekiln/vectors/ParityVectors.java\""
        + ",\"java\":" + q(System.getProperty("java.vm.name") + " " + System.getProperty("java.version") + " " + System.getProperty("os.arch"))
        + ",\"tileSchema\":" + TILE_SCHEMA
        + ",\n\"mapTiles\":" + mapTiles()
        + ",\n\"nullKeys\":" + nullKeys()
        + ",\n\"skew\":" + skewCases()
        + "}\n";
    try (Writer w = new OutputStreamWriter(new FileOutputStream(args[0]), StandardCharsets.UTF_8)) {
      w.write(json);
    }
  }
}
