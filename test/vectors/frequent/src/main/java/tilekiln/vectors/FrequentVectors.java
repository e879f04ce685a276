package tilekiln.vectors;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Writes frequent-items test vectors from the real DataSketches libraries: ItemsSketch<String|Long|Double> of
 * com.yahoo.sketches 0.13.4 ("yahoo", airbnb Chronon) and org.apache.datasketches 6.1.1 ("apache", Zipline), plus
 * expected results of Chronon's APPROX_HISTOGRAM_K (airbnb) computed with java.util.HashMap and the 0.13.4 sketch,
 * following the semantics of ApproxHistogram in airbnb Chronon's SimpleAggregators.scala (re-implemented here).
 *
 * Usage: java ... tilekiln.vectors.FrequentVectors OUTPUT.json
 */
public final class FrequentVectors {

  // ---- inputs (same generator in test/agg/frequent.test.ts) -----------------------------------------------------
  static final class Spm {
    long state;
    Spm(long seed) { state = seed; }
    long next() {
      state += 0x9E3779B97F4A7C15L;
      long z = state;
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      return z ^ (z >>> 31);
    }
  }

  /** One update: item and count. */
  static final class Upd { final Object item; final long count; Upd(Object i, long c) { item = i; count = c; } }

  static String str(long v) {
    final long r = Math.floorMod(v, 77L);
    final String p = r % 11 == 0 ? "\uD83D\uDE00" : r % 7 == 0 ? "\u00e9" : "i";
    return p + v;
  }

  static Object convert(String type, long v) {
    switch (type) {
      case "string": return str(v);
      case "long": return v;
      case "double": return (double) v / 8.0;
      default: throw new IllegalArgumentException(type);
    }
  }

  /** kind: uniform | skewed | weighted | big; m: number of distinct base values. */
  static List<Upd> generate(String type, String kind, int count, long seed, long m) {
    final Spm g = new Spm(seed);
    final List<Upd> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      switch (kind) {
        case "uniform": out.add(new Upd(convert(type, Long.remainderUnsigned(g.next(), m)), 1)); break;
        case "skewed": {
          final double u = (double) (g.next() >>> 11) * 0x1.0p-53;
          out.add(new Upd(convert(type, (long) (m * u * u * u)), 1));
          break;
        }
        case "weighted": {
          final long v = Long.remainderUnsigned(g.next(), m);
          final long c = 1 + Long.remainderUnsigned(g.next(), 5);
          out.add(new Upd(convert(type, v), c));
          break;
        }
        case "big": {
          final long z = g.next();
          out.add(new Upd(convert(type, Long.remainderUnsigned(z, m) * 0x100000001L + Long.MIN_VALUE / 3), 1));
          break;
        }
        default: throw new IllegalArgumentException(kind);
      }
    }
    return out;
  }

  // ---- flavour-neutral sketch view ------------------------------------------------------------------------------
  interface Sk {
    void update(Object item, long count);
    void merge(Sk o);
    byte[] bytes();
    Sk copyViaBytes();
    List<Object[]> rows(boolean noFalsePositives); // {item, est, ub, lb}
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  static final class YahooSk implements Sk {
    final com.yahoo.sketches.frequencies.ItemsSketch s;
    final String type;
    YahooSk(String type, int maxMapSize) { this.type = type; s = new com.yahoo.sketches.frequencies.ItemsSketch(maxMapSize); }
    YahooSk(String type, com.yahoo.sketches.frequencies.ItemsSketch s) { this.type = type; this.s = s; }
    static com.yahoo.sketches.ArrayOfItemsSerDe serde(String t) {
      return t.equals("string") ? new com.yahoo.sketches.ArrayOfStringsSerDe()
          : t.equals("long") ? new com.yahoo.sketches.ArrayOfLongsSerDe() : new com.yahoo.sketches.ArrayOfDoublesSerDe();
    }
    public void update(Object item, long count) { s.update(item, count); }
    public void merge(Sk o) { s.merge(((YahooSk) o).s); }
    public byte[] bytes() { return s.toByteArray(serde(type)); }
    public Sk copyViaBytes() {
      return new YahooSk(type, com.yahoo.sketches.frequencies.ItemsSketch.getInstance(
          com.yahoo.memory.Memory.wrap(bytes()), serde(type)));
    }
    public List<Object[]> rows(boolean nfp) {
      final List<Object[]> out = new ArrayList<>();
      for (final Object o : s.getFrequentItems(nfp ? com.yahoo.sketches.frequencies.ErrorType.NO_FALSE_POSITIVES
          : com.yahoo.sketches.frequencies.ErrorType.NO_FALSE_NEGATIVES)) {
        final com.yahoo.sketches.frequencies.ItemsSketch.Row r = (com.yahoo.sketches.frequencies.ItemsSketch.Row) o;
        out.add(new Object[] {r.getItem(), r.getEstimate(), r.getUpperBound(), r.getLowerBound()});
      }
      return out;
    }
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  static final class ApacheSk implements Sk {
    final org.apache.datasketches.frequencies.ItemsSketch s;
    final String type;
    ApacheSk(String type, int maxMapSize) { this.type = type; s = new org.apache.datasketches.frequencies.ItemsSketch(maxMapSize); }
    ApacheSk(String type, org.apache.datasketches.frequencies.ItemsSketch s) { this.type = type; this.s = s; }
    static org.apache.datasketches.common.ArrayOfItemsSerDe serde(String t) {
      return t.equals("string") ? new org.apache.datasketches.common.ArrayOfStringsSerDe()
          : t.equals("long") ? new org.apache.datasketches.common.ArrayOfLongsSerDe()
          : new org.apache.datasketches.common.ArrayOfDoublesSerDe();
    }
    public void update(Object item, long count) { s.update(item, count); }
    public void merge(Sk o) { s.merge(((ApacheSk) o).s); }
    public byte[] bytes() { return s.toByteArray(serde(type)); }
    public Sk copyViaBytes() {
      return new ApacheSk(type, org.apache.datasketches.frequencies.ItemsSketch.getInstance(
          org.apache.datasketches.memory.Memory.wrap(bytes()), serde(type)));
    }
    public List<Object[]> rows(boolean nfp) {
      final List<Object[]> out = new ArrayList<>();
      for (final Object o : s.getFrequentItems(nfp ? org.apache.datasketches.frequencies.ErrorType.NO_FALSE_POSITIVES
          : org.apache.datasketches.frequencies.ErrorType.NO_FALSE_NEGATIVES)) {
        final org.apache.datasketches.frequencies.ItemsSketch.Row r = (org.apache.datasketches.frequencies.ItemsSketch.Row) o;
        out.add(new Object[] {r.getItem(), r.getEstimate(), r.getUpperBound(), r.getLowerBound()});
      }
      return out;
    }
  }

  static Sk newSk(String flavour, String type, int maxMapSize) {
    return flavour.equals("yahoo") ? new YahooSk(type, maxMapSize) : new ApacheSk(type, maxMapSize);
  }

  static Sk build(String flavour, String type, int maxMapSize, List<Upd> ups) {
    final Sk s = newSk(flavour, type, maxMapSize);
    for (final Upd u : ups) s.update(u.item, u.count);
    return s;
  }

  // ---- JSON -----------------------------------------------------------------------------------------------------
  static String hex(byte[] b) {
    final StringBuilder sb = new StringBuilder(b.length * 2);
    for (final byte x : b) sb.append(String.format("%02x", x & 0xff));
    return sb.toString();
  }

  static String jstr(String s) {
    final StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      final char c = s.charAt(i);
      if (c == '"' || c == '\\') sb.append('\\').append(c);
      else if (c < 0x20 || c > 0x7e) sb.append(String.format("\\u%04x", (int) c));
      else sb.append(c);
    }
    return sb.append('"').toString();
  }

  /** An item as JSON: strings as strings, longs as decimal strings, doubles as {"bits": hex, "str": toString}. */
  static String item(Object o) {
    if (o instanceof String) return jstr((String) o);
    if (o instanceof Long) return "\"" + o + "\"";
    final double d = (Double) o;
    return "{\"bits\":\"" + Long.toHexString(Double.doubleToRawLongBits(d)) + "\",\"str\":" + jstr(Double.toString(d)) + "}";
  }

  static String rowsJson(List<Object[]> rows) {
    final StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < rows.size(); i++) {
      final Object[] r = rows.get(i);
      if (i > 0) sb.append(',');
      sb.append('[').append(item(r[0])).append(',').append(r[1]).append(',').append(r[2]).append(',').append(r[3]).append(']');
    }
    return sb.append(']').toString();
  }

  static String mapJson(Map<String, Long> m) {
    final StringBuilder sb = new StringBuilder("{");
    boolean first = true;
    for (final Map.Entry<String, Long> e : new java.util.TreeMap<>(m).entrySet()) {
      if (!first) sb.append(',');
      first = false;
      sb.append(jstr(e.getKey())).append(':').append(e.getValue());
    }
    return sb.append('}').toString();
  }

  static String specJson(String type, String kind, int count, long seed, long m) {
    return "{\"type\":\"" + type + "\",\"kind\":\"" + kind + "\",\"count\":" + count + ",\"seed\":" + seed + ",\"m\":" + m + "}";
  }

  static String result(Sk s) {
    final byte[] b = s.bytes();
    return "{\"bytes\":\"" + hex(b) + "\",\"reserialized\":\"" + hex(s.copyViaBytes().bytes()) + "\",\"nfn\":"
        + rowsJson(s.rows(false)) + ",\"nfp\":" + rowsJson(s.rows(true)) + "}";
  }

  /** Chronon FrequentItems.finalize: a max-heap by estimate fed with the sorted rows (so: the first k rows). */
  static Map<String, Long> chrononFinal(List<Object[]> rows, int k) {
    final Map<String, Long> out = new HashMap<>();
    if (k <= 0) return out;
    final PriorityQueue<Object[]> heap = new PriorityQueue<>(Comparator.comparingLong((Object[] r) -> (Long) r[1]).reversed());
    for (final Object[] r : rows) {
      if (heap.size() < k) heap.add(r);
      else if ((Long) heap.peek()[1] < (Long) r[1]) { heap.poll(); heap.add(r); }
    }
    for (final Object[] r : heap) out.put(String.valueOf(r[0]), (Long) r[1]);
    return out;
  }

  static int ziplineSketchSize(int k) {
    final int eff = (int) Math.ceil(k / (0.75 * 0.5));
    return eff > 1 ? Integer.highestOneBit(eff - 1) << 1 : 2;
  }

  static int airbnbSketchSize(int k) {
    return k > 1 ? Integer.highestOneBit(k - 1) << 1 : 2;
  }

  // ---- APPROX_HISTOGRAM_K reference (airbnb semantics, own code) ------------------------------------------------
  @SuppressWarnings({"unchecked", "rawtypes"})
  static final class AH {
    final int k; final String type;
    com.yahoo.sketches.frequencies.ItemsSketch sketch; // non-null when approximate
    HashMap<Object, Long> hist;                         // non-null when exact
    AH(int k, String type) { this.k = k; this.type = type; }

    static AH prepare(int k, String type, Object x) {
      final AH a = new AH(k, type);
      a.hist = new HashMap<>();
      a.hist.put(x, 1L);
      return a;
    }
    void update(Object x) {
      if (hist != null) { hist.put(x, hist.getOrDefault(x, 0L) + 1); toIr(); } else sketch.update(x);
    }
    void toIr() {
      if (hist.size() > k) {
        sketch = new com.yahoo.sketches.frequencies.ItemsSketch(airbnbSketchSize(k));
        for (final Map.Entry<Object, Long> e : hist.entrySet()) sketch.update(e.getKey(), e.getValue());
        hist = null;
      }
    }
    /** merge b into this (b's sketch is mutated in the hist+sketch case, as in Chronon; callers pass copies). */
    AH merge(AH b) {
      if (hist != null && b.hist != null) {
        final HashMap<Object, Long> h = new HashMap<>();
        for (final Map.Entry<Object, Long> e : hist.entrySet()) h.put(e.getKey(), h.getOrDefault(e.getKey(), 0L) + e.getValue());
        for (final Map.Entry<Object, Long> e : b.hist.entrySet()) h.put(e.getKey(), h.getOrDefault(e.getKey(), 0L) + e.getValue());
        final AH r = new AH(k, type);
        r.hist = h;
        r.toIr();
        return r;
      }
      if (sketch != null && b.sketch != null) { sketch.merge(b.sketch); return this; }
      if (hist != null) {
        for (final Map.Entry<Object, Long> e : hist.entrySet()) b.sketch.update(e.getKey(), e.getValue());
        return b;
      }
      for (final Map.Entry<Object, Long> e : b.hist.entrySet()) sketch.update(e.getKey(), e.getValue());
      return this;
    }
    Map<String, Long> finalizeIr() {
      if (hist != null) {
        final Map<String, Long> out = new HashMap<>();
        for (final Map.Entry<Object, Long> e : hist.entrySet()) out.put(String.valueOf(e.getKey()), e.getValue());
        return out;
      }
      final List<Object[]> rows = new YahooSk(type, sketch).rows(true);
      return chrononFinal(rows, k);
    }
    /** normalize + denormalize: sketch through its bytes, histogram through Java serialization (readObject). */
    AH roundTrip() throws Exception {
      final AH r = new AH(k, type);
      if (hist != null) {
        final ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ObjectOutputStream oos = new ObjectOutputStream(bos)) { oos.writeObject(hist); }
        try (ObjectInputStream ois = new ObjectInputStream(new ByteArrayInputStream(bos.toByteArray()))) {
          r.hist = (HashMap<Object, Long>) ois.readObject();
        }
      } else {
        r.sketch = ((YahooSk) new YahooSk(type, sketch).copyViaBytes()).s;
      }
      return r;
    }
    /** Chronon's clone: a HashMap copy, or the sketch through its bytes. */
    AH cloneIr() {
      final AH r = new AH(k, type);
      if (hist != null) r.hist = new HashMap<>(hist);
      else r.sketch = ((YahooSk) new YahooSk(type, sketch).copyViaBytes()).s;
      return r;
    }
    String json() { return "{\"isApprox\":" + (sketch != null) + ",\"final\":" + mapJson(finalizeIr()) + "}"; }
  }

  static AH buildAh(int k, String type, List<Upd> ups) {
    AH a = null;
    for (final Upd u : ups) {
      for (long c = 0; c < u.count; c++) {
        if (a == null) a = AH.prepare(k, type, u.item); else a.update(u.item);
      }
    }
    return a;
  }

  public static void main(String[] args) throws Exception {
    final String outPath = args.length > 0 ? args[0] : "frequent-cases.json";
    final StringBuilder out = new StringBuilder();
    out.append("{\n\"generator\":\"test/vectors/frequent (datasketches-java 6.1.1, sketches-core 0.13.4)\",\n\"cases\":[\n");
    // {type, kind, count, seed, m, maxMapSize}
    final Object[][] defs = {
        {"string", "uniform", 0, 1L, 10L, 8},
        {"long", "uniform", 0, 1L, 10L, 32},
        {"string", "uniform", 1, 2L, 10L, 8},
        {"long", "uniform", 1, 3L, 10L, 8},
        {"double", "uniform", 1, 4L, 10L, 8},
        {"string", "uniform", 5, 5L, 3L, 2},
        {"long", "uniform", 40, 6L, 9L, 4},
        {"string", "skewed", 100, 7L, 50L, 8},
        {"long", "skewed", 1000, 8L, 200L, 16},
        {"double", "skewed", 1000, 9L, 200L, 16},
        {"string", "uniform", 1000, 10L, 1000L, 32},
        {"long", "weighted", 2000, 11L, 300L, 32},
        {"string", "weighted", 2000, 12L, 300L, 64},
        {"double", "uniform", 5000, 13L, 64L, 64},
        {"long", "big", 5000, 14L, 500L, 64},
        {"string", "skewed", 100000, 15L, 100000L, 256},
        {"long", "skewed", 100000, 16L, 100000L, 1024},
        {"double", "skewed", 100000, 17L, 5000L, 128},
        {"string", "skewed", 1000000, 18L, 1000000L, 2048},
        {"long", "uniform", 1000000, 19L, 5000L, 512},
        {"long", "skewed", 1000000, 20L, 1000000L, 32},
        {"string", "uniform", 300, 21L, 20L, 32},
        {"double", "weighted", 3000, 22L, 100L, 8},
    };
    for (int c = 0; c < defs.length; c++) {
      final String type = (String) defs[c][0];
      final String kind = (String) defs[c][1];
      final int count = (Integer) defs[c][2];
      final long seed = (Long) defs[c][3];
      final long m = (Long) defs[c][4];
      final int mms = (Integer) defs[c][5];
      final List<Upd> ups = generate(type, kind, count, seed, m);
      out.append(c > 0 ? ",\n" : "").append("{\"id\":\"").append(type).append('-').append(kind).append('-')
          .append(count).append("-mms").append(mms).append("\",\"maxMapSize\":").append(mms).append(",\"input\":")
          .append(specJson(type, kind, count, seed, m));
      for (final String fl : new String[] {"yahoo", "apache"}) {
        out.append(",\"").append(fl).append("\":").append(result(build(fl, type, mms, ups)));
      }
      out.append('}');
      System.err.println("frequent case " + c);
    }
    out.append("\n],\n\"merges\":[\n");
    final Object[][] merges = {
        // {type, mms, specA(kind,count,seed,m), specB}
        {"string", 8, "uniform", 0, 30L, 10L, "skewed", 100, 31L, 50L},
        {"long", 16, "skewed", 1000, 32L, 200L, "uniform", 0, 33L, 10L},
        {"long", 16, "skewed", 1000, 34L, 200L, "skewed", 2000, 35L, 300L},
        {"string", 32, "weighted", 3000, 36L, 400L, "uniform", 500, 37L, 40L},
        {"double", 64, "skewed", 20000, 38L, 5000L, "skewed", 20000, 39L, 5000L},
        {"string", 1024, "skewed", 200000, 40L, 100000L, "skewed", 100000, 41L, 50000L},
    };
    for (int c = 0; c < merges.length; c++) {
      final Object[] d = merges[c];
      final String type = (String) d[0];
      final int mms = (Integer) d[1];
      final List<Upd> a = generate(type, (String) d[2], (Integer) d[3], (Long) d[4], (Long) d[5]);
      final List<Upd> b = generate(type, (String) d[6], (Integer) d[7], (Long) d[8], (Long) d[9]);
      out.append(c > 0 ? ",\n" : "").append("{\"id\":\"merge-").append(c).append("\",\"maxMapSize\":").append(mms)
          .append(",\"inputA\":").append(specJson(type, (String) d[2], (Integer) d[3], (Long) d[4], (Long) d[5]))
          .append(",\"inputB\":").append(specJson(type, (String) d[6], (Integer) d[7], (Long) d[8], (Long) d[9]));
      for (final String fl : new String[] {"yahoo", "apache"}) {
        final Sk sa = build(fl, type, mms, a);
        sa.merge(build(fl, type, mms, b));
        final Sk ta = build(fl, type, mms, a).copyViaBytes();
        ta.merge(build(fl, type, mms, b).copyViaBytes());
        out.append(",\"").append(fl).append("\":{\"direct\":").append(result(sa)).append(",\"viaBytes\":")
            .append(result(ta)).append('}');
      }
      out.append('}');
    }
    out.append("\n],\n\"chronon\":[\n");
    // Chronon finals (Zipline sizing) for APPROX_FREQUENT_K (nfn) and APPROX_HEAVY_HITTERS_K (nfp)
    final Object[][] finals = {
        {"string", "skewed", 5000, 50L, 2000L, 8},
        {"long", "skewed", 5000, 51L, 2000L, 3},
        {"double", "uniform", 5000, 52L, 40L, 10},
        {"string", "uniform", 5000, 53L, 12L, 20},
        {"long", "weighted", 5000, 54L, 1000L, 100},
        {"string", "skewed", 100, 55L, 30L, 1},
    };
    for (int c = 0; c < finals.length; c++) {
      final Object[] d = finals[c];
      final String type = (String) d[0];
      final int k = (Integer) d[5];
      final List<Upd> ups = generate(type, (String) d[1], (Integer) d[2], (Long) d[3], (Long) d[4]);
      final Sk s = build("apache", type, ziplineSketchSize(k), ups);
      out.append(c > 0 ? ",\n" : "").append("{\"k\":").append(k).append(",\"sketchSize\":")
          .append(ziplineSketchSize(k)).append(",\"input\":")
          .append(specJson(type, (String) d[1], (Integer) d[2], (Long) d[3], (Long) d[4]))
          .append(",\"frequentK\":").append(mapJson(chrononFinal(s.rows(false), k)))
          .append(",\"heavyHittersK\":").append(mapJson(chrononFinal(s.rows(true), k))).append('}');
    }
    out.append("\n],\n\"approxHistogram\":[\n");
    // {type, k, specA, specB}
    final Object[][] ahs = {
        {"string", 3, "uniform", 3, 60L, 3L, "uniform", 2, 61L, 3L},
        {"string", 8, "skewed", 200, 62L, 12L, "uniform", 30, 63L, 5L},
        {"long", 8, "uniform", 500, 64L, 9L, "skewed", 500, 65L, 40L},
        {"long", 16, "skewed", 3000, 66L, 300L, "skewed", 3000, 67L, 300L},
        {"double", 5, "uniform", 100, 68L, 5L, "uniform", 100, 69L, 4L},
        {"double", 12, "skewed", 2000, 70L, 100L, "uniform", 50, 71L, 6L},
        {"string", 20, "uniform", 400, 72L, 15L, "uniform", 400, 73L, 15L},
        {"string", 1, "uniform", 10, 74L, 2L, "uniform", 10, 75L, 1L},
        {"string", 50, "skewed", 20000, 76L, 5000L, "skewed", 20000, 77L, 5000L},
        {"long", 4, "uniform", 40, 78L, 3L, "uniform", 40, 79L, 4L},
    };
    for (int c = 0; c < ahs.length; c++) {
      final Object[] d = ahs[c];
      final String type = (String) d[0];
      final int k = (Integer) d[1];
      final List<Upd> a = generate(type, (String) d[2], (Integer) d[3], (Long) d[4], (Long) d[5]);
      final List<Upd> b = generate(type, (String) d[6], (Integer) d[7], (Long) d[8], (Long) d[9]);
      out.append(c > 0 ? ",\n" : "").append("{\"k\":").append(k)
          .append(",\"inputA\":").append(specJson(type, (String) d[2], (Integer) d[3], (Long) d[4], (Long) d[5]))
          .append(",\"inputB\":").append(specJson(type, (String) d[6], (Integer) d[7], (Long) d[8], (Long) d[9]));
      out.append(",\"a\":").append(buildAh(k, type, a).json());
      out.append(",\"b\":").append(buildAh(k, type, b).json());
      out.append(",\"ab\":").append(buildAh(k, type, a).merge(buildAh(k, type, b)).json());
      out.append(",\"ba\":").append(buildAh(k, type, b).merge(buildAh(k, type, a)).json());
      out.append(",\"abRoundTrip\":").append(buildAh(k, type, a).roundTrip().merge(buildAh(k, type, b).roundTrip()).json());
      out.append(",\"abClone\":").append(buildAh(k, type, a).cloneIr().merge(buildAh(k, type, b).cloneIr()).json());
      // a chain: a, then b merged into the round-tripped clone of a, then 3 more copies of b
      AH acc = buildAh(k, type, a).roundTrip().cloneIr();
      for (int i = 0; i < 4; i++) acc = acc.merge(buildAh(k, type, b));
      out.append(",\"chain\":").append(acc.json()).append('}');
    }
    out.append("\n]\n}\n");
    try (Writer w = new OutputStreamWriter(new FileOutputStream(outPath), StandardCharsets.UTF_8)) {
      w.write(out.toString());
    }
    System.err.println("wrote " + outPath);
  }
}
