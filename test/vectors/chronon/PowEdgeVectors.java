import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Math.pow(x, 1.5) on this JVM, for the inputs where HotSpot's x86-64 pow intrinsic takes its less common paths, as
 * IEEE-754 bit patterns (hex): subnormal x, x whose result is subnormal or underflows, x whose result overflows,
 * x near 1 (where the stub rounds the mantissa split instead of truncating it), x with |exponent| around 255 (where
 * it changes tail), exact rounding midpoints (x = y^2, y^3 with 54 significant bits), one x in each of the 4096
 * cells of the top 12 mantissa bits (which alone decide the stub's rcpps-based table index), random bit patterns,
 * the special values, and 3,000 random inputs whose x^1.5 lies within about 2^-13 ulp of a rounding midpoint: there
 * the stub's own rounding errors decide the result, so these are the inputs on which a deviation from its exact
 * sequence of operations or its RCPPS-chosen table rows shows (random inputs almost never do). Read by
 * test/agg/chronon-parity.test.ts; the JVM's platform matters (see src/agg/pow-three-halves.ts).
 *
 * A single-file Java program (no Maven), from the repository root:
 *
 *   java test/vectors/chronon/PowEdgeVectors.java test/vectors/chronon/pow-edges.json
 */
public class PowEdgeVectors {
  static final List<Double> xs = new ArrayList<>();

  static void add(double x) { xs.add(x); }

  static double scaled(double m, int e) { return Math.scalb(m, e); }

  public static void main(String[] args) throws IOException {
    Random r = new Random(20261205);
    // special values: IEEE pow's own rules, which V8 and Java share
    for (double x : new double[] {0.0, -0.0, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -1, -2.5,
        -Double.MIN_VALUE, -Double.MAX_VALUE}) add(x);
    // subnormal x and the normal range's bottom
    add(Double.MIN_VALUE); add(3 * Double.MIN_VALUE); add(Double.MIN_NORMAL); add(Math.nextDown(Double.MIN_NORMAL));
    add(Math.nextUp(Double.MIN_NORMAL));
    for (int i = 0; i < 40; i++) add(Double.longBitsToDouble(r.nextLong() & 0x000fffffffffffffL));
    // results near and below the subnormal range: x in [2^-740, 2^-676]
    for (int i = 0; i < 400; i++) add(scaled(1 + r.nextDouble(), -740 + r.nextInt(65)));
    for (int e = -740; e <= -676; e++) { add(scaled(1, e)); add(Math.nextDown(scaled(1, e))); }
    // |exponent| 253..257, where the stub switches to its wide-range tail
    for (int e : new int[] {-257, -256, -255, -254, -253, 253, 254, 255, 256, 257}) {
      add(scaled(1, e)); add(Math.nextDown(scaled(1, e)));
      for (int i = 0; i < 20; i++) add(scaled(1 + r.nextDouble(), e));
    }
    // near 1: [1 - 1/32, 1 + 1/16) and its ends
    for (double x : new double[] {1, Math.nextUp(1.0), Math.nextDown(1.0), 0.96875, Math.nextDown(0.96875), 1.0625,
        Math.nextDown(1.0625)}) add(x);
    for (int i = 0; i < 400; i++) add(0.96 + 0.11 * r.nextDouble());
    for (int i = 0; i < 100; i++) add(1 + (r.nextDouble() - 0.5) * 1e-9);
    // overflow: x^1.5 passes Double.MAX_VALUE near x = 2^682.67
    for (int i = 0; i < 300; i++) add(scaled(1 + r.nextDouble(), 680 + r.nextInt(4)));
    double lo = scaled(1, 682), hi = scaled(1, 683); // the largest x with a finite result, by bisection on bits
    while (Math.nextUp(lo) < hi) {
      double mid = Double.longBitsToDouble((Double.doubleToRawLongBits(lo) + Double.doubleToRawLongBits(hi)) >>> 1);
      if (Double.isInfinite(Math.pow(mid, 1.5))) hi = mid; else lo = mid;
    }
    for (int d = -5; d <= 5; d++) add(Double.longBitsToDouble(Double.doubleToRawLongBits(lo) + d));
    add(Double.MAX_VALUE); add(scaled(1, 1023)); add(scaled(1, 1000));
    // exact midpoints: x = y^2 with y odd of 18 bits, so y^3 has 54 significant bits; scaled by powers of 4
    for (int i = 0; i < 300; i++) {
      long y = (1L << 17) | (r.nextInt(1 << 17) | 1);
      double x = (double) (y * y);
      int k = r.nextInt(2 * 220) - 220;
      add(i % 3 == 0 ? x : scaled(x, 2 * k));
    }
    // one x in each of the 4096 cells of the top 12 mantissa bits, at random exponents
    for (long cell = 0; cell < 4096; cell++) {
      long bits = ((long) (1023 - 700 + r.nextInt(1400)) << 52) | (cell << 40) | (r.nextLong() & 0xffffffffffL);
      add(Double.longBitsToDouble(bits));
    }
    // random positive finite bit patterns, and random decimal-looking magnitudes
    for (int i = 0; i < 1000; i++) {
      double x = Double.longBitsToDouble(r.nextLong() & 0x7fffffffffffffffL);
      if (Double.isFinite(x)) add(x);
    }
    for (int i = 0; i < 500; i++) add(r.nextDouble() * Math.pow(10, r.nextInt(40) - 20));

    // hard to round: random inputs (all ranges, near 1, |exponent| >= 255) whose x^1.5 is very near a midpoint
    int hard = 0;
    for (int i = 0; hard < HARD_CASES; i++) {
      double x;
      switch (i % 4) {
        case 0: x = scaled(1 + r.nextDouble(), r.nextInt(1400) - 700); break;
        case 1: x = 0.96 + 0.11 * r.nextDouble(); break;
        case 2: x = scaled(1 + r.nextDouble(), r.nextInt(20) - 10); break;
        default: x = scaled(1 + r.nextDouble(), (r.nextBoolean() ? 1 : -1) * (255 + r.nextInt(420))); break;
      }
      if (nearMidpoint(x, Math.pow(x, 1.5))) { add(x); hard++; }
    }

    StringBuilder out = new StringBuilder();
    out.append("{\"generator\":\"test/vectors/chronon/PowEdgeVectors.java\",\"java\":\"")
        .append(System.getProperty("java.vm.name")).append(' ').append(System.getProperty("java.runtime.version"))
        .append("\",\"arch\":\"").append(System.getProperty("os.arch"))
        .append("\",\"columns\":[\"x\",\"Math.pow(x, 1.5)\"],\n\"pow\":[");
    for (int i = 0; i < xs.size(); i++) {
      double x = xs.get(i);
      out.append(i == 0 ? "\n" : ",\n").append("[\"").append(hex(x)).append("\",\"").append(hex(Math.pow(x, 1.5))).append("\"]");
    }
    out.append("\n]}\n");
    Files.writeString(Path.of(args[0]), out.toString());
    System.err.println(xs.size() + " inputs written to " + args[0]);
  }

  static final int HARD_CASES = 3000;

  /**
   * Whether a midpoint next to p lies within about 2^-13 ulp of x^1.5 (x and p positive and normal), decided with
   * integers: x^1.5 = mid·(1 + d) gives |x^3 - mid^2| ~ 2|d|·mid^2, and the test is |x^3 - mid^2| < 2^-64·mid^2.
   */
  static boolean nearMidpoint(double x, double p) {
    if (!(p >= Double.MIN_NORMAL) || Double.isInfinite(p) || !(x >= Double.MIN_NORMAL)) return false;
    long bx = Double.doubleToRawLongBits(x), bp = Double.doubleToRawLongBits(p);
    BigInteger mx = BigInteger.valueOf((bx & 0xfffffffffffffL) | (1L << 52));
    int ex = (int) (bx >>> 52) - 1075;
    long mp = (bp & 0xfffffffffffffL) | (1L << 52);
    int ep = (int) (bp >>> 52) - 1075;
    BigInteger cube = mx.pow(3);
    for (long m2 : new long[] {2 * mp - 1, 2 * mp + 1}) {
      BigInteger mid2 = BigInteger.valueOf(m2).pow(2); // midpoint^2 = m2^2 * 2^(2ep - 2)
      int e = Math.min(3 * ex, 2 * ep - 2);
      BigInteger a = cube.shiftLeft(3 * ex - e), b = mid2.shiftLeft(2 * ep - 2 - e);
      if (a.subtract(b).abs().shiftLeft(64).compareTo(b) < 0) return true;
    }
    return false;
  }

  static String hex(double d) { return String.format("%016x", Double.doubleToRawLongBits(d)); }
}
