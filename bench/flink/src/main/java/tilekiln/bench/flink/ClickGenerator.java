package tilekiln.bench.flink;

/**
 * tilekiln's synthetic event generator (src/source/generator.ts, `generateEvents` + the Avro encoder) for the
 * benchmark GroupBy's input schema {user_id: ["null","long"], ts: ["null","long"], price: ["null","double"]},
 * re-implemented draw for draw so that, for the same options and clock, it yields byte-identical records.
 * bench/flink.ts checks that with a digest before it measures anything.
 *
 * Per event the TypeScript generator draws: the key (one draw), then one value per schema field in field order
 * (long → int(1000), long → int(1000), double → round(next × 100000) / 100), and then overwrites the key and time
 * fields. We draw the same four numbers even though two are thrown away, or the streams would diverge.
 */
public final class ClickGenerator {
  /** sfc32, exactly as `Random` in generator.ts (JavaScript's `| 0` and `>>>` are Java's int arithmetic). */
  static final class Sfc32 {
    private int a = 0x9e3779b9;
    private int b = 0x243f6a88;
    private int c = 0xb7e15162;
    private int d;

    Sfc32(int seed) {
      d = seed;
      for (int i = 0; i < 15; i++) next();
    }

    double next() {
      int t = a + b + d;
      d = d + 1;
      a = b ^ (b >>> 9);
      b = c + (c << 3);
      c = (c << 21) | (c >>> 11);
      c = c + t;
      return (t & 0xffffffffL) / 4294967296.0;
    }

    int nextInt(int n) {
      return (int) Math.floor(next() * n);
    }
  }

  /** Key ranks 0..n-1 with P(k) ∝ 1/(k+1)^s, by binary search over the CDF (as `KeySampler`). */
  static final class KeySampler {
    private final double[] cdf;
    private final int n;

    KeySampler(int n, double s) {
      this.n = n;
      if (s <= 0) {
        cdf = null;
        return;
      }
      cdf = new double[n];
      double acc = 0;
      // StrictMath: fdlibm's pow, which is what V8's Math.pow computes; Math.pow may differ in the last bit.
      for (int k = 0; k < n; k++) {
        acc += 1 / StrictMath.pow(k + 1, s);
        cdf[k] = acc;
      }
      for (int k = 0; k < n; k++) cdf[k] = cdf[k] / acc;
    }

    int sample(Sfc32 r) {
      if (cdf == null) return r.nextInt(n);
      double u = r.next();
      int lo = 0;
      int hi = n - 1;
      while (lo < hi) {
        int mid = (lo + hi) >>> 1;
        if (cdf[mid] < u) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    }
  }

  private final Sfc32 rnd;
  private final KeySampler keys;
  private final long start;
  private final long step;
  private final boolean realTime;
  private long seq = 0;
  /** Event time of the record last produced. */
  public long lastTs;

  /** @param start synthetic clock start (epoch ms), or Long.MIN_VALUE for real time (event time = now) */
  public ClickGenerator(int keys, double zipf, int seed, long start, long step) {
    this.rnd = new Sfc32(seed);
    this.keys = new KeySampler(Math.max(1, keys), zipf);
    this.realTime = start == Long.MIN_VALUE;
    this.start = start;
    this.step = step;
  }

  /** The next record, Avro-encoded (no framing), into a fresh array. */
  public byte[] next() {
    long ts = realTime ? System.currentTimeMillis() : start + seq * step;
    seq++;
    long id = keys.sample(rnd);
    rnd.nextInt(1000); // the user_id field's own value, overwritten by the key
    rnd.nextInt(1000); // the ts field's own value, overwritten by the event time
    double price = Math.round(rnd.next() * 100_000) / 100.0;
    lastTs = ts;
    byte[] out = new byte[1 + varintSize(id) + 1 + varintSize(ts) + 1 + 8];
    int p = 0;
    out[p++] = 2; // union branch 1 (non-null)
    p = writeZigZag(out, p, id);
    out[p++] = 2;
    p = writeZigZag(out, p, ts);
    out[p++] = 2;
    long bits = Double.doubleToRawLongBits(price);
    for (int i = 0; i < 8; i++) out[p++] = (byte) (bits >>> (8 * i));
    return out;
  }

  private static int varintSize(long v) {
    long z = (v << 1) ^ (v >> 63);
    int n = 1;
    while ((z & ~0x7FL) != 0) {
      z >>>= 7;
      n++;
    }
    return n;
  }

  private static int writeZigZag(byte[] out, int p, long v) {
    long z = (v << 1) ^ (v >> 63);
    while ((z & ~0x7FL) != 0) {
      out[p++] = (byte) ((z & 0x7F) | 0x80);
      z >>>= 7;
    }
    out[p++] = (byte) z;
    return p;
  }
}
