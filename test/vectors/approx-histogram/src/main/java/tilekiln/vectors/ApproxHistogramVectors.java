package tilekiln.vectors;

import ai.chronon.aggregator.base.ApproxHistogramIrSerializable;
import ai.chronon.aggregator.base.FrequentItemsFriendly$;
import com.yahoo.sketches.ArrayOfDoublesSerDe;
import com.yahoo.sketches.ArrayOfItemsSerDe;
import com.yahoo.sketches.ArrayOfLongsSerDe;
import com.yahoo.sketches.ArrayOfStringsSerDe;
import com.yahoo.sketches.frequencies.ItemsSketch;
import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Writes approx-histogram-serialized.json: APPROX_HISTOGRAM_K (airbnb Chronon) IRs exactly as Chronon's
 * ApproxHistogram.normalize writes them, with ObjectOutputStream over an ApproxHistogramIrSerializable (compiled here
 * from a declaration of Chronon's shape, see src/main/scala). The IRs are built as Chronon's ApproxHistogram builds
 * them (SimpleAggregators.scala, airbnb/chronon 5edd4fc): prepare = new HashMap + put(input, 1L); update = put(input,
 * getOrDefault(input, 0) + 1) and, once the map holds more than k items, a yahoo ItemsSketch(sketchSize) fed with
 * the map's entries in iteration order (then updated item by item); the sketch is stored as FrequentItems.normalize
 * stores it: its item type id (String 0, Long 1, Double 2) then ItemsSketch.toByteArray.
 *
 * Usage: java ... tilekiln.vectors.ApproxHistogramVectors OUTPUT.json
 */
public final class ApproxHistogramVectors {
  static String hex(byte[] bytes) {
    StringBuilder b = new StringBuilder();
    for (byte x : bytes) b.append(String.format("%02x", x & 0xff));
    return b.toString();
  }

  static String q(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }

  static String json(Object item) {
    if (item instanceof String) return q((String) item);
    if (item instanceof Long) return "\"" + item + "\"";
    double d = (Double) item;
    if (Double.isNaN(d)) return "\"NaN\"";
    if (Double.isInfinite(d)) return d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
    if (d == 0 && 1 / d < 0) return "\"-0\"";
    return Double.toString(d);
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  static String irCase(String name, String type, int k, List<Object> inputs) throws Exception {
    int sketchSize = k > 1 ? Integer.highestOneBit(k - 1) << 1 : 2;
    ArrayOfItemsSerDe serde = type.equals("string") ? new ArrayOfStringsSerDe() : type.equals("long") ? new ArrayOfLongsSerDe() : new ArrayOfDoublesSerDe();
    int typeId = type.equals("string") ? 0 : type.equals("long") ? 1 : 2;
    Object evidence = type.equals("string") ? FrequentItemsFriendly$.MODULE$.forString() : type.equals("long") ? FrequentItemsFriendly$.MODULE$.forLong() : FrequentItemsFriendly$.MODULE$.forDouble();
    HashMap<Object, Long> hist = null;
    ItemsSketch sketch = null;
    for (Object in : inputs) {
      if (sketch != null) { sketch.update(in); continue; }
      if (hist == null) { hist = new HashMap<>(); hist.put(in, 1L); continue; } // prepare (no size check)
      hist.put(in, hist.getOrDefault(in, 0L) + 1L);
      if (hist.size() > k) { // toIr → toSketch
        sketch = new ItemsSketch(sketchSize);
        for (Map.Entry<Object, Long> e : hist.entrySet()) sketch.update(e.getKey(), e.getValue());
        hist = null;
      }
    }
    scala.Option sketchOpt;
    if (sketch != null) {
      byte[] body = sketch.toByteArray(serde);
      byte[] bytes = new byte[body.length + 1];
      bytes[0] = (byte) typeId;
      System.arraycopy(body, 0, bytes, 1, body.length);
      sketchOpt = new scala.Some(bytes);
    } else {
      sketchOpt = scala.None$.MODULE$;
    }
    scala.Option histOpt = hist == null ? scala.None$.MODULE$ : new scala.Some(hist);
    ApproxHistogramIrSerializable ir = new ApproxHistogramIrSerializable(sketch != null, sketchOpt, histOpt, (ai.chronon.aggregator.base.FrequentItemsFriendly) evidence);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) { out.writeObject(ir); }
    StringJoiner ins = new StringJoiner(",", "[", "]");
    for (Object in : inputs) ins.add(json(in));
    StringJoiner order = new StringJoiner(",", "[", "]");
    if (hist != null) for (Object key : hist.keySet()) order.add(json(key));
    return "{\"name\":" + q(name) + ",\"type\":\"" + type + "\",\"k\":" + k + ",\"inputs\":" + ins
        + ",\"approx\":" + (sketch != null) + ",\"histOrder\":" + order + ",\"ir\":\"" + hex(bytes.toByteArray()) + "\"}";
  }

  static List<Object> strings(String... xs) { return new ArrayList<>(List.of((Object[]) xs)); }

  public static void main(String[] args) throws Exception {
    StringJoiner cases = new StringJoiner(",\n", "[\n", "\n]");
    cases.add(irCase("one string", "string", 4, strings("a")));
    cases.add(irCase("strings with repeats", "string", 8, strings("b", "a", "b", "c", "a", "b", "i5", "i2")));
    cases.add(irCase("colliding strings", "string", 8, strings("Aa", "BB", "AaAa", "BBBB", "AaBB", "Aa")));
    cases.add(irCase("unicode and empty", "string", 8, strings("", "é", "日本語", "😀", "\u0000x", "é")));
    List<Object> many = new ArrayList<>();
    for (int i = 0; i < 40; i++) many.add("item" + (i * 7 % 13));
    cases.add(irCase("13 strings, k = 16", "string", 16, many));
    cases.add(irCase("to a sketch: strings, k = 3", "string", 3, many));
    List<Object> longs = new ArrayList<>();
    for (long i = 0; i < 30; i++) longs.add((i * i) % 11 - 5 + (i % 3 == 0 ? 1L << 40 : 0));
    cases.add(irCase("longs, k = 20", "long", 20, longs));
    cases.add(irCase("to a sketch: longs, k = 4", "long", 4, longs));
    // Long.valueOf caches -128..127: keys and counts at and past the bounds (count 127 shares key 127's instance)
    List<Object> bounds = new ArrayList<>(List.of(127L, 128L, -128L, -129L));
    for (int i = 0; i < 126; i++) bounds.add(127L);
    for (int i = 0; i < 127; i++) bounds.add(128L);
    cases.add(irCase("longs at the Long.valueOf cache bounds", "long", 10, bounds));
    List<Object> doubles = new ArrayList<>(List.of(1.5, -0.0, 0.0, 2.25, 1.5, Double.NaN, 1e300, -7.0));
    cases.add(irCase("doubles, k = 10", "double", 10, doubles));
    cases.add(irCase("to a sketch: doubles, k = 2", "double", 2, doubles));
    String uid = Long.toString(ObjectStreamClass.lookup(ApproxHistogramIrSerializable.class).getSerialVersionUID());
    String json = "{\"generator\":\"test/vectors/approx-histogram/src/main/java/tilekiln/vectors/ApproxHistogramVectors.java\""
        + ",\"java\":" + q(System.getProperty("java.vm.name") + " " + System.getProperty("java.version"))
        + ",\"serialVersionUID\":\"" + uid + "\""
        + ",\n\"cases\":" + cases + "}\n";
    try (Writer w = new OutputStreamWriter(new FileOutputStream(args[0]), StandardCharsets.UTF_8)) { w.write(json); }
  }
}
