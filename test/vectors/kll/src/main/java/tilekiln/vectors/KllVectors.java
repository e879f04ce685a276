package tilekiln.vectors;

import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Writes KLL floats test vectors from the real DataSketches libraries, in both flavours Chronon uses:
 * yahoo = com.yahoo.sketches 0.13.4 (airbnb Chronon), apache = org.apache.datasketches 6.1.1 (Zipline).
 *
 * Java draws KLL compaction coins from one static java.util.Random (KllHelper.random in 0.13.4, KllSketch.random in
 * 6.x). This generator reaches that object by reflection and calls setSeed on it, which reproduces tilekiln's two
 * deterministic coin modes:
 *   pure   - before every update: setSeed(seedForUpdate(n)); before every merge: setSeed(seedForMerge(nA, nB))
 *   stream - setSeed(seed) once before a sketch's first update (and before a merge); coins then flow as in Java
 * A third build per input ("random") leaves the Random alone, as production Java does; its bytes are used to test
 * that tilekiln reads and merges genuinely random Java sketches.
 *
 * Float values are written as their IEEE-754 bit patterns (unsigned ints) so that -0.0, infinities and every
 * rounding survive JSON exactly.
 *
 * Usage: java ... tilekiln.vectors.KllVectors OUTPUT.json
 */
public final class KllVectors {
  static final double[] RANKS = {0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0};
  static final long STREAM_SEED_A = 12345L;
  static final long STREAM_SEED_B = 67890L;
  static final long STREAM_SEED_MERGE = 424242L;

  // ---- seeds of the pure mode (must match assembly/kll.ts) ----------------------------------------------------
  static long mix64(long z) {
    z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
    z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
    return z ^ (z >>> 33);
  }
  static final long GOLDEN = 0x9E3779B97F4A7C15L;
  static long seedForUpdate(long n) { return mix64(n + GOLDEN); }
  static long seedForMerge(long n, long m) { return mix64(mix64(n + GOLDEN) ^ m); }

  // ---- the libraries' static Random ----------------------------------------------------------------------------
  static Random staticRandom(String className) throws Exception {
    final Field f = Class.forName(className).getDeclaredField("random");
    f.setAccessible(true);
    return (Random) f.get(null);
  }
  static Random YAHOO_RANDOM;
  static Random APACHE_RANDOM;

  // ---- a flavour-neutral view of the two sketch classes ---------------------------------------------------------
  interface Sk {
    void update(float v);
    void merge(Sk other);
    long n();
    byte[] bytes();
    float[] quantiles(double[] ranks);
  }

  static final class YahooSk implements Sk {
    final com.yahoo.sketches.kll.KllFloatsSketch s;
    YahooSk(int k) { s = new com.yahoo.sketches.kll.KllFloatsSketch(k); }
    YahooSk(byte[] b) { s = com.yahoo.sketches.kll.KllFloatsSketch.heapify(com.yahoo.memory.Memory.wrap(b)); }
    public void update(float v) { s.update(v); }
    public void merge(Sk o) { s.merge(((YahooSk) o).s); }
    public long n() { return s.getN(); }
    public byte[] bytes() { return s.toByteArray(); }
    public float[] quantiles(double[] r) { return s.getQuantiles(r); }
  }

  static final class ApacheSk implements Sk {
    final org.apache.datasketches.kll.KllFloatsSketch s;
    ApacheSk(int k) { s = org.apache.datasketches.kll.KllFloatsSketch.newHeapInstance(k); }
    ApacheSk(byte[] b) {
      s = org.apache.datasketches.kll.KllFloatsSketch.heapify(org.apache.datasketches.memory.Memory.wrap(b));
    }
    public void update(float v) { s.update(v); }
    public void merge(Sk o) { s.merge(((ApacheSk) o).s); }
    public long n() { return s.getN(); }
    public byte[] bytes() { return s.toByteArray(); }
    public float[] quantiles(double[] r) { return s.isEmpty() ? null : s.getQuantiles(r); }
  }

  static Sk newSk(String flavour, int k) { return flavour.equals("yahoo") ? new YahooSk(k) : new ApacheSk(k); }
  static Sk heapify(String flavour, byte[] b) { return flavour.equals("yahoo") ? new YahooSk(b) : new ApacheSk(b); }
  static Random rnd(String flavour) { return flavour.equals("yahoo") ? YAHOO_RANDOM : APACHE_RANDOM; }

  /** Builds a sketch from items under a coin mode: "pure", "stream" (seeded with streamSeed) or "random". */
  static Sk build(String flavour, String mode, int k, float[] items, long streamSeed) {
    final Sk sk = newSk(flavour, k);
    final Random r = rnd(flavour);
    if (mode.equals("stream")) r.setSeed(streamSeed);
    for (final float v : items) {
      if (mode.equals("pure")) r.setSeed(seedForUpdate(sk.n()));
      sk.update(v);
    }
    return sk;
  }

  static void merge(String flavour, String mode, Sk a, Sk b) {
    final Random r = rnd(flavour);
    if (mode.equals("pure")) r.setSeed(seedForMerge(a.n(), b.n()));
    else if (mode.equals("stream")) r.setSeed(STREAM_SEED_MERGE);
    a.merge(b);
  }

  // ---- inputs (the same generator is in test/agg/kll.test.ts) ---------------------------------------------------
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

  static final class Input {
    final String kind; final int count; final long seed; final double param;
    final float[] explicit;
    Input(String kind, int count, long seed, double param) {
      this.kind = kind; this.count = count; this.seed = seed; this.param = param; this.explicit = null;
    }
    Input(float[] values) { kind = "explicit"; count = values.length; seed = 0; param = 0; explicit = values; }

    float[] items() {
      if (explicit != null) return explicit;
      final float[] out = new float[count];
      final Spm g = new Spm(seed);
      for (int i = 0; i < count; i++) {
        switch (kind) {
          case "uniform": out[i] = (float) ((double) (g.next() >>> 40) * param / 16777216.0); break;
          case "ints": out[i] = (float) Long.remainderUnsigned(g.next(), (long) param); break;
          case "bits": out[i] = Float.intBitsToFloat((int) (g.next() >>> 32)); break;
          case "ascending": out[i] = (float) i; break;
          case "descending": out[i] = (float) (count - i); break;
          case "constant": out[i] = (float) param; break;
          case "signed": out[i] = (float) ((double) ((long) (g.next() >>> 40) - (1L << 23)) * param / 8388608.0); break;
          default: throw new IllegalArgumentException(kind);
        }
      }
      return out;
    }

    String json() {
      if (explicit != null) {
        final StringBuilder sb = new StringBuilder("{\"kind\":\"explicit\",\"bits\":[");
        for (int i = 0; i < explicit.length; i++) {
          if (i > 0) sb.append(',');
          sb.append(Integer.toUnsignedString(Float.floatToRawIntBits(explicit[i])));
        }
        return sb.append("]}").toString();
      }
      return "{\"kind\":\"" + kind + "\",\"count\":" + count + ",\"seed\":" + seed + ",\"param\":" + param + "}";
    }
  }

  // ---- JSON helpers -------------------------------------------------------------------------------------------
  static String hex(byte[] b) {
    final StringBuilder sb = new StringBuilder(b.length * 2);
    for (final byte x : b) sb.append(String.format("%02x", x & 0xff));
    return sb.toString();
  }
  static String floatsJson(float[] q) {
    if (q == null) return "null";
    final StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < q.length; i++) {
      if (i > 0) sb.append(',');
      sb.append(Integer.toUnsignedString(Float.floatToRawIntBits(q[i])));
    }
    return sb.append(']').toString();
  }

  /** bytes, then quantiles (which sort level 0 in place), then the bytes again (with the sorted flag). */
  static String result(Sk sk) {
    final byte[] before = sk.bytes();
    final float[] q = sk.quantiles(RANKS);
    final byte[] after = sk.bytes();
    return "{\"n\":" + sk.n() + ",\"bytes\":\"" + hex(before) + "\",\"quantileBits\":" + floatsJson(q)
        + ",\"bytesAfterQuantiles\":\"" + hex(after) + "\"}";
  }

  static final String[] FLAVOURS = {"yahoo", "apache"};

  public static void main(String[] args) throws Exception {
    YAHOO_RANDOM = staticRandom("com.yahoo.sketches.kll.KllHelper");
    APACHE_RANDOM = staticRandom("org.apache.datasketches.kll.KllSketch");
    final String outPath = args.length > 0 ? args[0] : "kll-cases.json";

    final List<String[]> singles = new ArrayList<>(); // {id, k, inputJson} + the Input object kept separately
    final List<Input> singleInputs = new ArrayList<>();
    final List<Integer> singleKs = new ArrayList<>();
    final Object[][] defs = {
        {"empty", 200, new Input(new float[0])},
        {"single", 200, new Input(new float[] {3.5f})},
        {"two", 200, new Input(new float[] {2f, -1f})},
        {"nan-only", 200, new Input(new float[] {Float.NaN, Float.NaN})},
        {"signed-zeros", 8, new Input(new float[] {0f, -0f, 0f, -0f, 1f, -0f, 0f, -1f, -0f, 0f, 0f, -0f, 2f, -0f, 0f,
            -0f, 0f, -0f, -2f, 0f, -0f, 0f, 0f, -0f, -0f})},
        {"specials", 8, new Input(new float[] {Float.POSITIVE_INFINITY, 1f, Float.NaN, Float.NEGATIVE_INFINITY, 0f,
            Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_VALUE, 7f, Float.NaN, 3f, 1e-30f, -1e30f})},
        {"k-exact", 200, new Input("ascending", 200, 0, 0)},
        {"k-plus-one", 200, new Input("ascending", 201, 0, 0)},
        {"k8-100", 8, new Input("uniform", 100, 1, 1000)},
        {"k16-1000", 16, new Input("signed", 1000, 2, 50)},
        {"k128-ascending-10000", 128, new Input("ascending", 10000, 0, 0)},
        {"k128-descending-10000", 128, new Input("descending", 10000, 0, 0)},
        {"k128-constant-5000", 128, new Input("constant", 5000, 0, 7.25)},
        {"k128-ints-20000", 128, new Input("ints", 20000, 3, 37)},
        {"k128-uniform-100000", 128, new Input("uniform", 100000, 4, 1)},
        {"k128-bits-50000", 128, new Input("bits", 50000, 5, 0)},
        {"k200-uniform-1e6", 200, new Input("uniform", 1000000, 6, 1000)},
        {"k128-signed-1e6", 128, new Input("signed", 1000000, 7, 1e6)},
        {"k1000-uniform-200000", 1000, new Input("uniform", 200000, 8, 1)},
        {"k64-ints-300000", 64, new Input("ints", 300000, 9, 1000)},
        {"k65535-uniform-3000", 65535, new Input("uniform", 3000, 10, 1)},
        {"k9-odd-777", 9, new Input("signed", 777, 11, 3)},
    };

    final StringBuilder out = new StringBuilder();
    out.append("{\n\"generator\":\"test/vectors/kll (datasketches-java 6.1.1, sketches-core 0.13.4)\",\n");
    out.append("\"ranks\":[");
    for (int i = 0; i < RANKS.length; i++) { if (i > 0) out.append(','); out.append(RANKS[i]); }
    out.append("],\n\"streamSeeds\":{\"a\":" + STREAM_SEED_A + ",\"b\":" + STREAM_SEED_B + ",\"merge\":"
        + STREAM_SEED_MERGE + "},\n");
    out.append("\"cases\":[\n");
    for (int c = 0; c < defs.length; c++) {
      final String id = (String) defs[c][0];
      final int k = (Integer) defs[c][1];
      final Input in = (Input) defs[c][2];
      final float[] items = in.items();
      out.append(c > 0 ? ",\n" : "").append("{\"id\":\"").append(id).append("\",\"k\":").append(k)
          .append(",\"input\":").append(in.json());
      for (final String fl : FLAVOURS) {
        out.append(",\"").append(fl).append("\":{");
        out.append("\"pure\":").append(result(build(fl, "pure", k, items, 0)));
        out.append(",\"stream\":").append(result(build(fl, "stream", k, items, STREAM_SEED_A)));
        out.append(",\"random\":\"").append(hex(build(fl, "random", k, items, 0).bytes())).append('"');
        out.append('}');
      }
      out.append('}');
      System.err.println("kll case " + id);
    }
    out.append("\n],\n\"merges\":[\n");

    // merges: {id, kA, inputA, kB, inputB}
    final Object[][] merges = {
        {"empty-into-empty", 200, new Input(new float[0]), 200, new Input(new float[0])},
        {"single-into-empty", 200, new Input(new float[0]), 200, new Input(new float[] {1f})},
        {"exact-into-exact", 200, new Input("uniform", 150, 20, 1), 200, new Input("uniform", 120, 21, 1)},
        {"estimating-into-exact", 128, new Input("uniform", 50, 22, 1), 128, new Input("signed", 20000, 23, 10)},
        {"exact-into-estimating", 128, new Input("signed", 20000, 24, 10), 128, new Input("uniform", 50, 25, 1)},
        {"estimating-both", 128, new Input("uniform", 300000, 26, 1), 128, new Input("ints", 100000, 27, 500)},
        {"different-k", 200, new Input("uniform", 50000, 28, 1), 64, new Input("uniform", 80000, 29, 2)},
        {"deep-into-shallow", 16, new Input("uniform", 100, 30, 1), 16, new Input("signed", 1000000, 31, 1)},
        {"signed-zeros", 8, new Input(new float[] {0f, -0f, 1f, -0f, 0f}), 8,
            new Input(new float[] {-0f, 0f, -0f, -1f, 0f, -0f, 0f, 0f, -0f, -0f, 0f, 0f, -0f, 0f})},
    };
    for (int c = 0; c < merges.length; c++) {
      final String id = (String) merges[c][0];
      final int ka = (Integer) merges[c][1];
      final Input ia = (Input) merges[c][2];
      final int kb = (Integer) merges[c][3];
      final Input ib = (Input) merges[c][4];
      final float[] a = ia.items();
      final float[] b = ib.items();
      out.append(c > 0 ? ",\n" : "").append("{\"id\":\"").append(id).append("\",\"kA\":").append(ka)
          .append(",\"inputA\":").append(ia.json()).append(",\"kB\":").append(kb).append(",\"inputB\":")
          .append(ib.json());
      for (final String fl : FLAVOURS) {
        out.append(",\"").append(fl).append("\":{");
        // pure
        Sk sa = build(fl, "pure", ka, a, 0);
        Sk sb = build(fl, "pure", kb, b, 0);
        merge(fl, "pure", sa, sb);
        out.append("\"pure\":").append(result(sa));
        // stream
        sa = build(fl, "stream", ka, a, STREAM_SEED_A);
        sb = build(fl, "stream", kb, b, STREAM_SEED_B);
        merge(fl, "stream", sa, sb);
        out.append(",\"stream\":").append(result(sa));
        // a genuinely random Java sketch B merged into a pure-mode A: the merge itself is seeded (pure), so the
        // result is exact given B's bytes
        final Sk randomB = build(fl, "random", kb, b, 0);
        final byte[] randomBBytes = randomB.bytes();
        sa = build(fl, "pure", ka, a, 0);
        merge(fl, "pure", sa, heapify(fl, randomBBytes));
        out.append(",\"randomB\":\"").append(hex(randomBBytes)).append("\",\"pureWithRandomB\":").append(result(sa));
        out.append('}');
      }
      out.append('}');
      System.err.println("kll merge " + id);
    }
    out.append("\n],\n\"chains\":[\n");
    // tile-like bulk merge: 200 sketches of 2000 items each merged one after another into an empty sketch
    {
      final int k = 128;
      out.append("{\"id\":\"bulk-200x2000\",\"k\":").append(k).append(",\"parts\":200,\"input\":")
          .append(new Input("signed", 400000, 40, 100).json());
      final float[] all = new Input("signed", 400000, 40, 100).items();
      for (final String fl : FLAVOURS) {
        final Sk acc = newSk(fl, k);
        for (int p = 0; p < 200; p++) {
          final float[] part = java.util.Arrays.copyOfRange(all, p * 2000, (p + 1) * 2000);
          final Sk s = build(fl, "pure", k, part, 0);
          merge(fl, "pure", acc, heapify(fl, s.bytes()));
        }
        out.append(",\"").append(fl).append("\":{\"pure\":").append(result(acc)).append('}');
      }
      out.append("}\n");
    }
    out.append("]\n}\n");
    try (Writer w = new OutputStreamWriter(new FileOutputStream(outPath), StandardCharsets.UTF_8)) {
      w.write(out.toString());
    }
    System.err.println("wrote " + outPath);
  }
}
