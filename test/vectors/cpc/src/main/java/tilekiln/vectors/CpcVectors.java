package tilekiln.vectors;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.datasketches.cpc.CpcSketch;
import org.apache.datasketches.cpc.CpcUnion;

/**
 * Writes the CPC test vectors that tilekiln's AssemblyScript sketch is checked against.
 *
 * Every sketch is built with datasketches-java (the library Chronon Zipline ships) exactly the way Chronon's
 * ApproxDistinctCount uses it: new CpcSketch(lgK) + update per input, CpcUnion(lgK) for merge and clone,
 * toByteArray for normalize, heapify for denormalize, getEstimate truncated to long for finalize. The same inputs are
 * also run through the Yahoo sketches-core 0.13.4 CPC (airbnb Chronon) and the generator fails if any byte differs.
 *
 * Usage: CpcVectors OUT.json ICON.json [TABLES.json]
 *   ICON.json receives the library's ICON polynomial coefficients (read by reflection): the one CPC table that cannot
 *   be derived from a definition, because it is the output of a numerical least-squares fit.
 *   TABLES.json (optional) is `node assembly/cpc/gen-tables.mjs --json`: the compression tables tilekiln derives
 *   itself; they are compared with the library's own and the run fails on any difference.
 */
public final class CpcVectors {

  // ---------------------------------------------------------------------------------------------------------------
  // Inputs. A list is either explicit values or a generated sequence that the TypeScript tests expand the same way.

  /** One input set: a Chronon input type and a way to produce its values. */
  static final class Input {
    final String type; // long | int | short | double | float | string | binary
    final List<Object> values; // explicit values (already in Java types), or null
    final String seq; // for generated sequences: long | string | double
    final long start;
    final long count;
    final String prefix;
    final double scale;

    Input(String type, List<Object> values) {
      this.type = type; this.values = values; this.seq = null; this.start = 0; this.count = 0; this.prefix = null; this.scale = 0;
    }

    Input(String type, String seq, long start, long count, String prefix, double scale) {
      this.type = type; this.values = null; this.seq = seq; this.start = start; this.count = count; this.prefix = prefix;
      this.scale = scale;
    }

    static Input longs(long start, long count) { return new Input("long", "long", start, count, null, 0); }
    static Input strings(String prefix, long start, long count) { return new Input("string", "string", start, count, prefix, 0); }
    static Input doubles(long start, long count, double scale) { return new Input("double", "double", start, count, null, scale); }

    interface Sink { void accept(Object v); }

    /** Feeds every value, already converted the way Chronon's ColumnAggregator converts it (int/short→long, float→double). */
    void forEach(Sink sink) {
      if (values != null) {
        for (Object v : values) sink.accept(v);
        return;
      }
      for (long i = start; i < start + count; i++) {
        switch (seq) {
          case "long": sink.accept(i); break;
          case "string": sink.accept(prefix + i); break;
          case "double": sink.accept(i * scale); break;
          default: throw new IllegalStateException(seq);
        }
      }
    }

    void toJson(StringBuilder sb) {
      sb.append("{\"type\":").append(q(type));
      if (values != null) {
        sb.append(",\"values\":[");
        for (int i = 0; i < values.size(); i++) {
          if (i > 0) sb.append(',');
          valueJson(sb, values.get(i));
        }
        sb.append(']');
      } else {
        sb.append(",\"seq\":{\"kind\":").append(q(seq)).append(",\"start\":").append(start).append(",\"count\":").append(count);
        if (prefix != null) sb.append(",\"prefix\":").append(q(prefix));
        if (seq.equals("double")) sb.append(",\"scale\":").append(scale);
        sb.append('}');
      }
      sb.append('}');
    }

    /** Original-typed value for JSON: longs as decimal strings (64-bit exact), doubles with specials as strings. */
    void valueJson(StringBuilder sb, Object v) {
      switch (type) {
        case "long": case "int": case "short": sb.append(q(Long.toString((Long) v))); break;
        case "double": case "float": {
          double d = (Double) v;
          if (Double.isNaN(d)) sb.append("\"NaN\"");
          else if (Double.isInfinite(d)) sb.append(d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
          else if (d == 0 && 1 / d < 0) sb.append("\"-0\"");
          else sb.append(Double.toString(d));
          break;
        }
        case "string": sb.append(q((String) v)); break;
        case "binary": sb.append(q(hex((byte[]) v))); break;
        default: throw new IllegalStateException(type);
      }
    }
  }

  static void update(CpcSketch s, Object v) {
    if (v instanceof Long) s.update((long) (Long) v);
    else if (v instanceof Double) s.update((double) (Double) v);
    else if (v instanceof String) s.update((String) v);
    else if (v instanceof byte[]) s.update((byte[]) v);
    else throw new IllegalArgumentException(String.valueOf(v));
  }

  static void updateYahoo(com.yahoo.sketches.cpc.CpcSketch s, Object v) {
    if (v instanceof Long) s.update((long) (Long) v);
    else if (v instanceof Double) s.update((double) (Double) v);
    else if (v instanceof String) s.update((String) v);
    else if (v instanceof byte[]) s.update((byte[]) v);
    else throw new IllegalArgumentException(String.valueOf(v));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Chronon's ApproxDistinctCount operations on top of the library.

  static CpcSketch build(int lgK, Input in) {
    CpcSketch s = new CpcSketch(lgK);
    in.forEach(v -> update(s, v));
    return s;
  }

  static com.yahoo.sketches.cpc.CpcSketch buildYahoo(int lgK, Input in) {
    com.yahoo.sketches.cpc.CpcSketch s = new com.yahoo.sketches.cpc.CpcSketch(lgK);
    in.forEach(v -> updateYahoo(s, v));
    return s;
  }

  static CpcSketch merge(int lgK, CpcSketch... sketches) {
    CpcUnion u = new CpcUnion(lgK);
    for (CpcSketch s : sketches) u.update(s);
    return u.getResult();
  }

  static com.yahoo.sketches.cpc.CpcSketch mergeYahoo(int lgK, com.yahoo.sketches.cpc.CpcSketch... sketches) {
    com.yahoo.sketches.cpc.CpcUnion u = new com.yahoo.sketches.cpc.CpcUnion(lgK);
    for (com.yahoo.sketches.cpc.CpcSketch s : sketches) u.update(s);
    return u.getResult();
  }

  static int yahooMismatches = 0;
  static int yahooChecks = 0;

  static void checkYahoo(String what, byte[] ours, byte[] yahoo) {
    yahooChecks++;
    if (!java.util.Arrays.equals(ours, yahoo)) {
      yahooMismatches++;
      System.err.println("sketches-core 0.13.4 differs from datasketches-java for " + what);
    }
  }

  /** The fields every sketch gets in the JSON: bytes, estimate, Chronon's finalized long, and its clone (ICON). */
  static void sketchJson(StringBuilder sb, String name, CpcSketch s, int lgK) {
    byte[] bytes = s.toByteArray();
    CpcSketch back = CpcSketch.heapify(bytes);
    if (back.getEstimate() != s.getEstimate()) {
      throw new IllegalStateException(name + ": heapify changed the estimate");
    }
    CpcSketch clone = merge(lgK, s);
    sb.append("\"bytes\":").append(q(hex(bytes)));
    sb.append(",\"estimate\":").append(s.getEstimate());
    sb.append(",\"finalized\":").append((long) s.getEstimate());
    sb.append(",\"cloneBytes\":").append(q(hex(clone.toByteArray())));
    sb.append(",\"cloneEstimate\":").append(clone.getEstimate());
  }

  // ---------------------------------------------------------------------------------------------------------------

  static List<Object> longsOf(long... xs) { List<Object> l = new ArrayList<>(); for (long x : xs) l.add(x); return l; }
  static List<Object> doublesOf(double... xs) { List<Object> l = new ArrayList<>(); for (double x : xs) l.add(x); return l; }
  static List<Object> floatsOf(float... xs) { List<Object> l = new ArrayList<>(); for (float x : xs) l.add((double) x); return l; }
  static List<Object> stringsOf(String... xs) { List<Object> l = new ArrayList<>(); for (String x : xs) l.add(x); return l; }
  static List<Object> binariesOf(String... hexes) {
    List<Object> l = new ArrayList<>();
    for (String h : hexes) l.add(unhex(h));
    return l;
  }

  static final class Case {
    final String name; final int lgK; final Input input;
    Case(String name, int lgK, Input input) { this.name = name; this.lgK = lgK; this.input = input; }
  }

  static List<Case> cases() {
    List<Case> c = new ArrayList<>();
    c.add(new Case("empty", 8, new Input("long", longsOf())));
    c.add(new Case("single long", 8, new Input("long", longsOf(42))));
    c.add(new Case("duplicates", 8, new Input("long", longsOf(7, 7, 7, 7, 7, 7))));
    c.add(new Case("long extremes", 10, new Input("long", longsOf(0, -1, 1, Long.MIN_VALUE, Long.MAX_VALUE,
        1L << 53, -(1L << 53), (1L << 53) + 1, 4294967296L, -4294967297L))));
    c.add(new Case("int as long", 8, new Input("int", longsOf(-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, Integer.MIN_VALUE, Integer.MAX_VALUE))));
    c.add(new Case("short as long", 8, new Input("short", longsOf(Short.MIN_VALUE, -1, 0, 1, Short.MAX_VALUE, 1))));
    c.add(new Case("double specials", 8, new Input("double", doublesOf(0.0, -0.0, Double.NaN, Double.longBitsToDouble(0x7ff8000000000123L),
        Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 1.5, -2.25, 1e300, Double.MIN_VALUE, 1.0, 1.0))));
    c.add(new Case("float as double", 8, new Input("float", floatsOf(0.1f, 1.5f, -3.25f, Float.MAX_VALUE, Float.MIN_VALUE, -0.0f, 0.0f))));
    c.add(new Case("strings utf8", 8, new Input("string", stringsOf("a", "b", "", "\u00e9", "\u65e5\u672c\u8a9e", "\ud83d\ude00",
        "a", "A longer string with spaces and punctuation!"))));
    c.add(new Case("strings lone surrogates", 8, new Input("string", stringsOf("\ud800x", "x\udc00", "\udbff", "?x", "x?", "?"))));
    c.add(new Case("binary", 8, new Input("binary", binariesOf("", "00", "0102", "ffeeddccbbaa99887766554433221100", "00", "61"))));
    c.add(new Case("string equals its utf8 binary", 8, new Input("binary", binariesOf("61", "62", "c3a9"))));
    c.add(new Case("lgK 4 100 longs", 4, Input.longs(0, 100)));
    c.add(new Case("lgK 4 1000 longs", 4, Input.longs(0, 1000)));
    c.add(new Case("lgK 5 300 longs", 5, Input.longs(1000, 300)));
    c.add(new Case("lgK 6 sparse 3", 6, Input.longs(-1, 3)));
    c.add(new Case("lgK 7 5000 longs", 7, Input.longs(-2500, 5000)));
    c.add(new Case("lgK 8 sparse 20", 8, Input.longs(0, 20)));
    c.add(new Case("lgK 8 hybrid 50", 8, Input.longs(0, 50)));
    c.add(new Case("lgK 8 pinned 200", 8, Input.longs(0, 200)));
    c.add(new Case("lgK 8 sliding 1000", 8, Input.longs(0, 1000)));
    c.add(new Case("lgK 8 10k longs", 8, Input.longs(0, 10000)));
    c.add(new Case("lgK 8 1M longs", 8, Input.longs(0, 1000000)));
    c.add(new Case("lgK 9 20k strings", 9, Input.strings("k", 0, 20000)));
    c.add(new Case("lgK 10 100k longs", 10, Input.longs(123456789, 100000)));
    c.add(new Case("lgK 10 100k strings", 10, Input.strings("user-", 0, 100000)));
    c.add(new Case("lgK 11 10k doubles", 11, Input.doubles(0, 10000, 0.5)));
    c.add(new Case("lgK 11 1M longs", 11, Input.longs(0, 1000000)));
    c.add(new Case("lgK 12 1M strings", 12, Input.strings("item:", 0, 1000000)));
    c.add(new Case("lgK 12 300 longs", 12, Input.longs(0, 300)));
    c.add(new Case("lgK 14 200k longs", 14, Input.longs(7, 200000)));
    c.add(new Case("lgK 16 50k longs", 16, Input.longs(0, 50000)));
    return c;
  }

  static final class UnionCase {
    final String name; final int unionLgK; final int[] lgKs; final Input[] inputs; final Input after;
    UnionCase(String name, int unionLgK, int[] lgKs, Input[] inputs, Input after) {
      this.name = name; this.unionLgK = unionLgK; this.lgKs = lgKs; this.inputs = inputs; this.after = after;
    }
  }

  static UnionCase u(String name, int unionLgK, int lgKA, Input a, int lgKB, Input b) {
    return new UnionCase(name, unionLgK, new int[] {lgKA, lgKB}, new Input[] {a, b}, null);
  }

  static List<UnionCase> unionCases() {
    List<UnionCase> c = new ArrayList<>();
    c.add(u("empty + empty", 8, 8, new Input("long", longsOf()), 8, new Input("long", longsOf())));
    c.add(u("empty + sparse", 8, 8, new Input("long", longsOf()), 8, Input.longs(0, 5)));
    c.add(u("sparse + empty", 8, 8, Input.longs(0, 5), 8, new Input("long", longsOf())));
    c.add(u("sparse + sparse overlap", 8, 8, Input.longs(0, 10), 8, Input.longs(5, 10)));
    c.add(u("sparse + sparse graduates", 8, 8, Input.longs(0, 20), 8, Input.longs(20, 20)));
    c.add(u("golden A,B,D + A,B", 8, 8, new Input("string", stringsOf("A", "B", "D")), 8, new Input("string", stringsOf("A", "B"))));
    c.add(u("golden A,B,D + A,B lgK 10", 10, 10, new Input("string", stringsOf("A", "B", "D")), 10, new Input("string", stringsOf("A", "B"))));
    c.add(u("hybrid + pinned", 8, 8, Input.longs(0, 50), 8, Input.longs(1000, 200)));
    c.add(u("sliding + sparse", 8, 8, Input.longs(0, 1000), 8, Input.longs(5000, 10)));
    c.add(u("sparse + sliding", 8, 8, Input.longs(5000, 10), 8, Input.longs(0, 1000)));
    c.add(u("sliding + sliding overlap", 8, 8, Input.longs(0, 1000), 8, Input.longs(500, 1000)));
    c.add(u("1M + 1M lgK 11", 11, 11, Input.longs(0, 1000000), 11, Input.longs(500000, 1000000)));
    c.add(u("strings lgK 12", 12, 12, Input.strings("user-", 0, 50000), 12, Input.strings("user-", 25000, 50000)));
    c.add(u("lgK 10 + lgK 8 into union 10", 10, 10, Input.longs(0, 10000), 8, Input.longs(5000, 10000)));
    c.add(u("lgK 8 + lgK 11 into union 8", 8, 8, Input.longs(0, 3000), 11, Input.longs(0, 3000)));
    c.add(u("sparse lgK 10 + sparse lgK 8 into union 10", 10, 10, Input.longs(0, 60), 8, Input.longs(100, 10)));
    c.add(u("sparse lgK 12 into union 6", 6, 12, Input.longs(0, 300), 12, Input.longs(300, 5)));
    c.add(u("lgK 4 sliding + lgK 4", 4, 4, Input.longs(0, 1000), 4, Input.longs(0, 7)));
    c.add(new UnionCase("five-way lgK 8", 8, new int[] {8, 8, 8, 8, 8},
        new Input[] {Input.longs(0, 3), Input.longs(0, 30), Input.longs(100, 300), Input.strings("s", 0, 2000), Input.longs(0, 100)}, null));
    c.add(new UnionCase("merged then updated", 8, new int[] {8, 8},
        new Input[] {Input.longs(0, 100), Input.longs(50, 100)}, Input.longs(1000, 2000)));
    c.add(new UnionCase("sparse merged then updated", 8, new int[] {8, 8},
        new Input[] {Input.longs(0, 3), Input.longs(2, 3)}, Input.longs(1000, 30)));
    return c;
  }

  /** Snapshot sweeps through every flavour, pseudo-phase and column permutation of the compressor. */
  static final int[][] SWEEPS = { {4, 1200, 3}, {5, 2000, 7}, {6, 3000, 11}, {10, 20000, 397} };

  // ---------------------------------------------------------------------------------------------------------------

  public static void main(String[] args) throws Exception {
    if (args.length < 2) throw new IllegalArgumentException("usage: CpcVectors OUT.json ICON.json [TABLES.json]");
    StringBuilder sb = new StringBuilder();
    sb.append("{\n\"generator\":\"test/vectors/cpc/src/main/java/tilekiln/vectors/CpcVectors.java\",\n");
    sb.append("\"library\":\"org.apache.datasketches:datasketches-java:6.1.1\",\n");
    sb.append("\"seed\":9001,\n");

    sb.append("\"cases\":[\n");
    List<Case> cases = cases();
    for (int i = 0; i < cases.size(); i++) {
      Case k = cases.get(i);
      CpcSketch s = build(k.lgK, k.input);
      checkYahoo(k.name, s.toByteArray(), buildYahoo(k.lgK, k.input).toByteArray());
      sb.append("{\"name\":").append(q(k.name)).append(",\"lgK\":").append(k.lgK).append(",\"input\":");
      k.input.toJson(sb);
      sb.append(',');
      sketchJson(sb, k.name, s, k.lgK);
      sb.append('}').append(i + 1 < cases.size() ? ",\n" : "\n");
    }
    sb.append("],\n");

    sb.append("\"unions\":[\n");
    List<UnionCase> unions = unionCases();
    for (int i = 0; i < unions.size(); i++) {
      UnionCase k = unions.get(i);
      CpcSketch[] parts = new CpcSketch[k.inputs.length];
      com.yahoo.sketches.cpc.CpcSketch[] yparts = new com.yahoo.sketches.cpc.CpcSketch[k.inputs.length];
      sb.append("{\"name\":").append(q(k.name)).append(",\"unionLgK\":").append(k.unionLgK).append(",\"parts\":[");
      for (int j = 0; j < parts.length; j++) {
        parts[j] = build(k.lgKs[j], k.inputs[j]);
        yparts[j] = buildYahoo(k.lgKs[j], k.inputs[j]);
        if (j > 0) sb.append(',');
        sb.append("{\"lgK\":").append(k.lgKs[j]).append(",\"input\":");
        k.inputs[j].toJson(sb);
        sb.append(",\"bytes\":").append(q(hex(parts[j].toByteArray()))).append('}');
      }
      sb.append("],");
      CpcSketch result = merge(k.unionLgK, parts);
      com.yahoo.sketches.cpc.CpcSketch yresult = mergeYahoo(k.unionLgK, yparts);
      checkYahoo("union " + k.name, result.toByteArray(), yresult.toByteArray());
      // Merging the deserialized parts must give the same result (Chronon merges heapified tile IRs).
      CpcSketch[] heapified = new CpcSketch[parts.length];
      for (int j = 0; j < parts.length; j++) heapified[j] = CpcSketch.heapify(parts[j].toByteArray());
      if (!java.util.Arrays.equals(merge(k.unionLgK, heapified).toByteArray(), result.toByteArray())) {
        throw new IllegalStateException("union of heapified parts differs for " + k.name);
      }
      sketchJson(sb, k.name, result, k.unionLgK);
      if (k.after != null) {
        final CpcSketch r = result;
        k.after.forEach(v -> update(r, v));
        final com.yahoo.sketches.cpc.CpcSketch yr = yresult;
        k.after.forEach(v -> updateYahoo(yr, v));
        checkYahoo("updated union " + k.name, r.toByteArray(), yr.toByteArray());
        sb.append(",\"after\":{\"input\":");
        k.after.toJson(sb);
        sb.append(',');
        sketchJson(sb, k.name + " after", r, k.unionLgK);
        sb.append('}');
      }
      sb.append('}').append(i + 1 < unions.size() ? ",\n" : "\n");
    }
    sb.append("],\n");

    sb.append("\"sweeps\":[\n");
    for (int i = 0; i < SWEEPS.length; i++) {
      int lgK = SWEEPS[i][0], n = SWEEPS[i][1], every = SWEEPS[i][2];
      CpcSketch s = new CpcSketch(lgK);
      com.yahoo.sketches.cpc.CpcSketch ys = new com.yahoo.sketches.cpc.CpcSketch(lgK);
      sb.append("{\"lgK\":").append(lgK).append(",\"input\":");
      Input.longs(0, n).toJson(sb);
      sb.append(",\"every\":").append(every).append(",\"snapshots\":[\n");
      boolean first = true;
      for (long x = 0; x < n; x++) {
        s.update(x);
        ys.update(x);
        if ((x + 1) % every != 0) continue;
        byte[] b = s.toByteArray();
        checkYahoo("sweep lgK " + lgK + " n " + (x + 1), b, ys.toByteArray());
        if (!first) sb.append(",\n");
        first = false;
        sb.append("{\"n\":").append(x + 1).append(",\"bytes\":").append(q(hex(b))).append(",\"estimate\":").append(s.getEstimate())
          .append(",\"cloneEstimate\":").append(merge(lgK, s).getEstimate()).append('}');
      }
      sb.append("]}").append(i + 1 < SWEEPS.length ? ",\n" : "\n");
    }
    sb.append("],\n");

    // ICON estimates straight from the library's estimator for a spread of coupon counts at every lgK.
    Class<?> icon = Class.forName("org.apache.datasketches.cpc.IconEstimator");
    Method est = icon.getDeclaredMethod("getIconEstimate", int.class, long.class);
    est.setAccessible(true);
    sb.append("\"icon\":[\n");
    for (int lgK = 4; lgK <= 26; lgK++) {
      long k = 1L << lgK;
      TreeMap<Long, Double> m = new TreeMap<>();
      for (long c = 0; c <= 64; c++) m.put(c, (Double) est.invoke(null, lgK, c));
      for (long c = 65; c <= 7 * k; c = c + 1 + c / 23) m.put(c, (Double) est.invoke(null, lgK, c));
      for (double f : new double[] {5.6, 5.7}) {
        long c = (long) Math.floor(f * k);
        for (long d = c - 2; d <= c + 2; d++) m.put(d, (Double) est.invoke(null, lgK, d));
      }
      sb.append("{\"lgK\":").append(lgK).append(",\"c\":[");
      boolean first = true;
      for (Long c : m.keySet()) { if (!first) sb.append(','); first = false; sb.append(c); }
      sb.append("],\"estimate\":[");
      first = true;
      for (Double v : m.values()) { if (!first) sb.append(','); first = false; sb.append(v); }
      sb.append("]}").append(lgK < 26 ? ",\n" : "\n");
    }
    sb.append("],\n");
    sb.append("\"yahooSketchesCore0134\":{\"checks\":").append(yahooChecks).append(",\"mismatches\":").append(yahooMismatches).append("}\n");
    sb.append("}\n");
    Files.write(Path.of(args[0]), sb.toString().getBytes(StandardCharsets.UTF_8));
    System.out.println("wrote " + args[0] + ": " + cases.size() + " cases, " + unions.size() + " unions; sketches-core 0.13.4 "
        + (yahooMismatches == 0 ? "byte-identical in all " + yahooChecks + " checks" : "DIFFERS in " + yahooMismatches + " of " + yahooChecks));

    writeIconCoefficients(Path.of(args[1]));
    if (args.length > 2) checkTables(Path.of(args[2]));
  }

  static void writeIconCoefficients(Path out) throws Exception {
    Class<?> c = Class.forName("org.apache.datasketches.cpc.IconPolynomialCoefficients");
    double[] coefficients = (double[]) field(c, "iconPolynomialCoefficents");
    StringBuilder sb = new StringBuilder();
    sb.append("{\n\"source\":\"org.apache.datasketches.cpc.IconPolynomialCoefficients.iconPolynomialCoefficents, ")
      .append("datasketches-java 6.1.1, read by reflection\",\n\"lgK\":[4,26],\n\"perLgK\":20,\n\"coefficients\":[\n");
    for (int i = 0; i < coefficients.length; i++) {
      sb.append(coefficients[i]).append(i + 1 < coefficients.length ? (i % 5 == 4 ? ",\n" : ",") : "\n");
    }
    sb.append("]\n}\n");
    Files.write(out, sb.toString().getBytes(StandardCharsets.UTF_8));
    System.out.println("wrote " + out + ": " + coefficients.length + " ICON coefficients");
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Compares tilekiln's self-derived compression tables with the library's (read by reflection, never written out).

  static void checkTables(Path tablesJson) throws Exception {
    String json = Files.readString(tablesJson);
    Class<?> data = Class.forName("org.apache.datasketches.cpc.CompressionData");
    short[] unary = (short[]) field(data, "lengthLimitedUnaryEncodingTable65");
    short[][] bytes = (short[][]) field(data, "encodingTablesForHighEntropyByte");
    byte[][] perms = (byte[][]) field(data, "columnPermutationsForEncoding");
    int bad = 0;
    bad += compare("unary65", toInts(unary), numbers(json, "unary65"));
    for (int t = 0; t < bytes.length; t++) bad += compare("byteTable" + t, toInts(bytes[t]), numbers(json, "byteTable" + t));
    for (int p = 0; p < perms.length; p++) {
      int[] lib = new int[perms[p].length];
      for (int i = 0; i < lib.length; i++) lib[i] = perms[p][i];
      bad += compare("permutation" + p, lib, numbers(json, "permutation" + p));
    }
    if (bad > 0) throw new IllegalStateException(bad + " derived compression tables differ from datasketches-java's");
    System.out.println("derived compression tables: all 1 + " + bytes.length + " codes and " + perms.length
        + " column permutations equal datasketches-java's");
  }

  static Object field(Class<?> c, String name) throws Exception {
    Field f = c.getDeclaredField(name);
    f.setAccessible(true);
    return f.get(null);
  }

  static int[] toInts(short[] s) { int[] r = new int[s.length]; for (int i = 0; i < s.length; i++) r[i] = s[i] & 0xffff; return r; }

  static int[] numbers(String json, String key) {
    Matcher m = Pattern.compile("\"" + key + "\"\\s*:\\s*\\[([^\\]]*)\\]").matcher(json);
    if (!m.find()) throw new IllegalArgumentException("no " + key + " in tables JSON");
    String[] parts = m.group(1).split(",");
    int[] r = new int[parts.length];
    for (int i = 0; i < parts.length; i++) r[i] = Integer.parseInt(parts[i].trim());
    return r;
  }

  static int compare(String what, int[] lib, int[] ours) {
    if (java.util.Arrays.equals(lib, ours)) return 0;
    System.err.println(what + " differs");
    return 1;
  }

  // ---------------------------------------------------------------------------------------------------------------

  static final char[] HEX = "0123456789abcdef".toCharArray();

  static String hex(byte[] b) {
    char[] c = new char[b.length * 2];
    for (int i = 0; i < b.length; i++) { c[2 * i] = HEX[(b[i] >> 4) & 15]; c[2 * i + 1] = HEX[b[i] & 15]; }
    return new String(c);
  }

  static byte[] unhex(String h) {
    byte[] b = new byte[h.length() / 2];
    for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
    return b;
  }

  /** JSON string with everything outside printable ASCII escaped, so lone surrogates survive the trip. */
  static String q(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      if (ch == '"' || ch == '\\') sb.append('\\').append(ch);
      else if (ch < 0x20 || ch > 0x7e) sb.append(String.format("\\u%04x", (int) ch));
      else sb.append(ch);
    }
    return sb.append('"').toString();
  }
}
