// Generates java-vectors.json: what the JVM's own java.util.HashMap/HashSet, hashCode and ObjectOutputStream do,
// for the tests of src/agg/java-hash*.ts and the BOUNDED_UNIQUE_COUNT string digest. Only the JDK is used.
//
//   cd test/agg/vectors && javac -d /tmp/jv JavaVectors.java &&
//     java --add-opens java.base/java.util=ALL-UNNAMED -cp /tmp/jv JavaVectors > java-vectors.json
//
// (generated with OpenJDK 17; HashMap/HashSet behave the same on the paths used here from Java 8 to 18)
import java.io.ByteArrayOutputStream;
import java.io.ObjectOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.*;

public class JavaVectors {
  static StringBuilder out = new StringBuilder();
  static long seed = 20261124L;

  static int rnd(int n) { seed = seed * 6364136223846793005L + 1442695040888963407L; return (int) ((seed >>> 33) % n); }

  static String q(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }

  static String key(Object k) {
    if (k == null) return "null";
    if (k instanceof String) return q((String) k);
    if (k instanceof Double) {
      double d = (Double) k;
      if (Double.isNaN(d)) return "\"NaN\"";
      if (d == 0 && 1 / d < 0) return "\"-0\"";
      if (Double.isInfinite(d)) return d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
      return Double.toString(d);
    }
    if (k instanceof Float) {
      float d = (Float) k;
      if (Float.isNaN(d)) return "\"NaN\"";
      if (d == 0 && 1 / d < 0) return "\"-0\"";
      return Double.toString((double) d);
    }
    if (k instanceof Long) return "\"" + k + "\"";
    return k.toString();
  }

  static String keys(Iterable<?> it) {
    StringJoiner j = new StringJoiner(",", "[", "]");
    for (Object o : it) j.add(key(o));
    return j.toString();
  }

  // table length, read reflectively (needs --add-opens java.base/java.util)
  static int cap(HashMap<?, ?> m) throws Exception {
    java.lang.reflect.Field f = HashMap.class.getDeclaredField("table");
    f.setAccessible(true);
    Object[] t = (Object[]) f.get(m);
    return t == null ? 0 : t.length;
  }

  static String[] alphabet = { "A", "B", "C", "a", "b", "z", "Aa", "BB", "é", "日本", "x1", "x2", "k" };

  static String randomKey() {
    int len = 1 + rnd(4);
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < len; i++) b.append(alphabet[rnd(alphabet.length)]);
    return b.toString();
  }

  // ops: [kind, key] with kind "p" (put) or "r" (remove)
  static void mapScenario(String name, Integer initialCapacity, int nOps, int removePct, List<String> pool, boolean cloneAtEnd) throws Exception {
    HashMap<String, Integer> m = initialCapacity == null ? new HashMap<>() : new HashMap<>(initialCapacity);
    StringJoiner ops = new StringJoiner(",", "[", "]");
    for (int i = 0; i < nOps; i++) {
      String k = pool == null ? randomKey() : pool.get(rnd(pool.size()));
      if (rnd(100) < removePct) { m.remove(k); ops.add("[\"r\"," + q(k) + "]"); }
      else { m.put(k, i); ops.add("[\"p\"," + q(k) + "]"); }
    }
    out.append("{\"name\":").append(q(name)).append(",\"initialCapacity\":").append(initialCapacity)
       .append(",\"ops\":").append(ops).append(",\"order\":").append(keys(m.keySet()))
       .append(",\"capacity\":").append(cap(m));
    if (cloneAtEnd) {
      HashMap<String, Integer> c = new HashMap<>();
      c.putAll(m);
      HashMap<String, Integer> byPuts = new HashMap<>();
      for (Map.Entry<String, Integer> e : m.entrySet()) byPuts.put(e.getKey(), e.getValue());
      HashSet<String> fromCollection = new HashSet<>(new ArrayList<>(m.keySet()));
      out.append(",\"putAllOrder\":").append(keys(c.keySet()))
         .append(",\"byPutsOrder\":").append(keys(byPuts.keySet()))
         .append(",\"hashSetOfOrder\":").append(keys(fromCollection))
         .append(",\"putAllCapacity\":").append(cap(c));
    }
    out.append("}");
  }

  static <T> void setScenario(String name, String type, List<T> adds) {
    HashSet<T> s = new HashSet<>();
    s.addAll(adds);
    out.append("{\"name\":").append(q(name)).append(",\"type\":").append(q(type))
       .append(",\"adds\":").append(keys(adds)).append(",\"order\":").append(keys(s)).append("}");
  }

  static String md5OfSerialized(String s) throws Exception {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    ObjectOutputStream oos = new ObjectOutputStream(bos);
    oos.writeObject(s);
    oos.flush();
    byte[] d = MessageDigest.getInstance("MD5").digest(bos.toByteArray());
    StringBuilder b = new StringBuilder();
    for (byte x : d) b.append(String.format("%02x", x));
    return b.toString();
  }

  static int utf8Hash(String s) {
    int h = 0;
    for (byte x : s.getBytes(StandardCharsets.UTF_8)) h = h * 31 + x;
    return h;
  }

  public static void main(String[] args) throws Exception {
    String[] hashStrings = { "", "A", "abc", "Aa", "BB", "polygenelubricants", "é", "日本語", "\uD83D\uDE00", "a\u0000b", "__SENTINEL__" };
    out.append("{\"stringHashes\":[");
    for (int i = 0; i < hashStrings.length; i++) {
      if (i > 0) out.append(",");
      out.append("[").append(q(hashStrings[i])).append(",").append(hashStrings[i].hashCode()).append(",").append(utf8Hash(hashStrings[i])).append("]");
    }
    out.append("],\"longHashes\":[");
    long[] longs = { 0, 1, -1, 4242, 1L << 32, -(1L << 40) + 7, 9007199254740991L, -9007199254740991L, 1519862399984L };
    for (int i = 0; i < longs.length; i++) { if (i > 0) out.append(","); out.append("[\"").append(longs[i]).append("\",").append(Long.hashCode(longs[i])).append("]"); }
    out.append("],\"doubleHashes\":[");
    double[] doubles = { 0.0, -0.0, 1.0, -1.5, Double.NaN, Double.POSITIVE_INFINITY, 1e-300, 123456.789 };
    for (int i = 0; i < doubles.length; i++) { if (i > 0) out.append(","); out.append("[").append(key(doubles[i])).append(",").append(Double.hashCode(doubles[i])).append("]"); }
    out.append("],\"floatHashes\":[");
    float[] floats = { 0.0f, -0.0f, 1.0f, -1.5f, Float.NaN, 3.1f };
    for (int i = 0; i < floats.length; i++) { if (i > 0) out.append(","); out.append("[").append(key(floats[i])).append(",").append(Float.hashCode(floats[i])).append("]"); }
    out.append("],\"maps\":[");

    mapScenario("small puts", null, 10, 0, null, true);
    out.append(",");
    mapScenario("puts and removes", null, 200, 30, null, true);
    out.append(",");
    mapScenario("growth to 256", null, 400, 5, null, true);
    out.append(",");
    mapScenario("capacity 8", 8, 40, 10, null, true);
    out.append(",");
    mapScenario("capacity 3", 3, 30, 20, null, true);
    out.append(",");
    mapScenario("capacity 0", 0, 12, 0, null, true);
    // ten keys with one hashCode: chains of 9 and 10 in tables of 16 and 32 make treeifyBin resize instead
    List<String> colliding = new ArrayList<>();
    String[] blocks = { "Aa", "BB" };
    for (int i = 0; i < 10; i++) colliding.add(blocks[i & 1] + blocks[(i >> 1) & 1] + blocks[(i >> 2) & 1] + blocks[(i >> 3) & 1]);
    out.append(",");
    mapScenario("colliding chain resizes", null, 10, 0, colliding.subList(0, 10), false);
    // at most 8 colliding keys once the table has 64 buckets: a 9th would make Java build a tree bin (not modelled)
    List<String> mixed = new ArrayList<>(colliding.subList(0, 8));
    for (int i = 0; i < 12; i++) mixed.add("m" + i);
    out.append(",");
    mapScenario("colliding plus others", null, 60, 15, mixed, true);
    out.append("],\"orderedMaps\":[");
    // deterministic insertion of the colliding keys in order (no random repeats)
    HashMap<String, Integer> chain = new HashMap<>();
    StringJoiner ops = new StringJoiner(",", "[", "]");
    for (int i = 0; i < 10; i++) { chain.put(colliding.get(i), i); ops.add("[\"p\"," + q(colliding.get(i)) + "]"); }
    out.append("{\"name\":\"ten colliding keys\",\"initialCapacity\":null,\"ops\":").append(ops).append(",\"order\":").append(keys(chain.keySet())).append(",\"capacity\":").append(cap(chain)).append("}");
    out.append("],\"sets\":[");
    List<Double> ds = new ArrayList<>();
    for (int i = 0; i < 60; i++) ds.add(rnd(5) == 0 ? (double) rnd(20) : (rnd(2000) - 1000) / 8.0);
    ds.add(-0.0); ds.add(0.0); ds.add(Double.NaN); ds.add(Double.NaN); ds.add(1e300);
    setScenario("doubles", "double", ds);
    out.append(",");
    List<Long> ls = new ArrayList<>();
    for (int i = 0; i < 50; i++) ls.add((long) rnd(100000) * (rnd(2) == 0 ? 1L : 4294967296L) - 50000);
    setScenario("longs", "long", ls);
    out.append(",");
    List<Integer> is = new ArrayList<>();
    for (int i = 0; i < 50; i++) is.add(rnd(1000) - 500);
    setScenario("ints", "int", is);
    out.append(",");
    List<Float> fs = new ArrayList<>();
    for (int i = 0; i < 30; i++) fs.add((rnd(400) - 200) / 4.0f);
    fs.add(-0.0f); fs.add(0.0f);
    setScenario("floats", "float", fs);
    out.append("],\"md5OfSerializedString\":[");
    StringBuilder longString = new StringBuilder();
    for (int i = 0; i < 70000; i++) longString.append((char) ('a' + i % 26));
    String[] md5s = { "abc", "1", "", "é", "日本語", "\uD83D\uDE00", "a\u0000b", "ABCDEFGHIJKLMNOPQRSTUVWXYZ" };
    for (int i = 0; i < md5s.length; i++) { out.append("[").append(q(md5s[i])).append(",\"").append(md5OfSerialized(md5s[i])).append("\"],"); }
    out.append("[\"<70000 letters a..z repeated>\",\"").append(md5OfSerialized(longString.toString())).append("\"]");
    out.append("]}");
    System.out.println(out);
  }
}
