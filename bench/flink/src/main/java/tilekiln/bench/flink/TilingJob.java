package tilekiln.bench.flink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.triggers.Trigger;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Chronon's tiled Flink job (FlinkJob.runTiledGroupByJob) for tilekiln's benchmark GroupBy
 * (examples/group_bys/clicks.v1.json: SUM, COUNT, AVERAGE of price per user_id; 5-minute tiles), embedded:
 *
 *   generator source (p=1) → decode + selects (chained) → watermarks (5 min out-of-orderness, 30 s idleness)
 *     → keyBy(user_id) → TumblingEventTimeWindows(5 min) → trigger (always-fire | buffered) → AggregateFunction
 *     (tile IR) + ProcessWindowFunction (Avro tile bytes, isComplete) → key encoding → LMDB sink (p = --parallelism)
 *
 * Each run is one job execution on a fresh MiniCluster in this JVM; the first run is cold (JIT), the later ones
 * warm. Prints one `RESULT {json}` line per run. `--digest N` prints a SHA-256 of the first N generated records
 * (synthetic clock) instead, so bench/flink.ts can prove both generators make the same bytes.
 */
public final class TilingJob {
  private TilingJob() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> a = new HashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) {
      if (!argv[i].startsWith("--")) throw new IllegalArgumentException("expected --option value, got " + argv[i]);
      a.put(argv[i].substring(2), argv[i + 1]);
    }
    int keys = Integer.parseInt(a.getOrDefault("keys", "100000"));
    double zipf = Double.parseDouble(a.getOrDefault("zipf", "0"));
    int seed = Integer.parseInt(a.getOrDefault("seed", "42"));
    long start = a.containsKey("start") ? Long.parseLong(a.get("start")) : Long.MIN_VALUE;
    long step = Long.parseLong(a.getOrDefault("step", "1"));

    if (a.containsKey("dump")) {
      LmdbStore.dump(a.get("dump"), System.out);
      return;
    }
    if (a.containsKey("digest")) {
      long n = Long.parseLong(a.get("digest"));
      ClickGenerator g = new ClickGenerator(keys, zipf, seed, start, step);
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (long i = 0; i < n; i++) md.update(g.next());
      StringBuilder hex = new StringBuilder();
      for (byte b : md.digest()) hex.append(String.format("%02x", b));
      System.out.println("DIGEST " + hex);
      return;
    }

    JsonNode spec = new ObjectMapper().readTree(new File(a.get("spec")));
    long events = Long.parseLong(a.getOrDefault("events", "3000000"));
    int parallelism = Integer.parseInt(a.getOrDefault("parallelism", "1"));
    String trigger = a.getOrDefault("trigger", "always");
    String backend = a.getOrDefault("state-backend", "hashmap");
    String sink = a.getOrDefault("sink", "lmdb");
    if (!sink.equals("lmdb") && !sink.equals("discard")) throw new IllegalArgumentException("--sink lmdb|discard");
    boolean objectReuse = Boolean.parseBoolean(a.getOrDefault("object-reuse", "true"));
    int runs = Integer.parseInt(a.getOrDefault("runs", "2"));
    String storeBase = a.get("store-dir");
    boolean keep = Boolean.parseBoolean(a.getOrDefault("keep-store", "false"));
    boolean threadReport = Boolean.parseBoolean(a.getOrDefault("thread-report", "false"));

    for (int run = 0; run < runs; run++) {
      String storePath = storeBase + "/run-" + run;
      Stats.reset();
      long gcBefore = gcMillis();
      long wallStart = System.currentTimeMillis();
      ThreadSampler sampler = threadReport ? new ThreadSampler() : null;
      long written;
      long transactions;
      long storeBusyMillis;
      long storeSyncMillis;
      org.HdrHistogram.Histogram lat;
      try (LmdbStore store = LmdbStore.open(storePath, spec.get("dataset").asText(), spec.get("tileSizeMillis").asLong(), sink.equals("discard"))) {
        StreamExecutionEnvironment env = environment(parallelism, backend, storeBase + "/tmp-" + run, objectReuse);
        build(env, spec, events, keys, zipf, seed, start, step, parallelism, trigger, storePath);
        env.execute("tilekiln-flink-bench " + spec.get("name").asText());
        written = store.committed();
        transactions = store.transactions;
        storeBusyMillis = store.busyNanos / 1_000_000;
        storeSyncMillis = store.syncNanos / 1_000_000;
        lat = store.latency;
      }
      long wallEnd = System.currentTimeMillis();
      if (sampler != null) {
        sampler.close();
        System.err.println("THREADS run " + run + ": " + sampler.report());
      }
      long millis = Stats.sinkFinishedMillis - Stats.firstEventMillis;
      StringBuilder r = new StringBuilder("RESULT {");
      field(r, "run", run).append(',');
      field(r, "warm", run > 0).append(',');
      field(r, "events", events).append(',');
      field(r, "millis", millis).append(',');
      field(r, "wallMillis", wallEnd - wallStart).append(',');
      field(r, "tileWrites", written).append(',');
      field(r, "transactions", transactions).append(',');
      field(r, "storeBusyMillis", storeBusyMillis).append(',');
      field(r, "storeSyncMillis", storeSyncMillis).append(',');
      field(r, "lateEvents", Stats.lateEvents.get()).append(',');
      field(r, "p50", lat.getValueAtPercentile(50)).append(',');
      field(r, "p99", lat.getValueAtPercentile(99)).append(',');
      field(r, "p999", lat.getValueAtPercentile(99.9)).append(',');
      field(r, "gcMillis", gcMillis() - gcBefore).append(',');
      field(r, "peakRssMB", peakRssMB());
      System.out.println(r.append('}'));
      if (!keep) deleteTree(Path.of(storePath));
      deleteTree(Path.of(storeBase + "/tmp-" + run));
    }
  }

  static StreamExecutionEnvironment environment(int parallelism, String backend, String tmpDir, boolean objectReuse) {
    Configuration conf = new Configuration();
    // Everything stays in this JVM; whatever Flink binds anyway binds to loopback only.
    conf.setString("jobmanager.rpc.address", "127.0.0.1");
    conf.setString("jobmanager.bind-host", "127.0.0.1");
    conf.setString("taskmanager.host", "127.0.0.1");
    conf.setString("taskmanager.bind-host", "127.0.0.1");
    conf.setString("rest.address", "127.0.0.1");
    conf.setString("rest.bind-address", "127.0.0.1");
    conf.setString("rest.bind-port", "0");
    conf.setString("io.tmp.dirs", tmpDir);
    conf.setString("state.backend.type", backend);
    if (backend.equals("rocksdb")) conf.setString("state.backend.rocksdb.localdir", tmpDir + "/rocksdb");
    conf.setString("taskmanager.numberOfTaskSlots", Integer.toString(parallelism));
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(parallelism, conf);
    env.setRuntimeMode(RuntimeExecutionMode.STREAMING);
    // Chronon's settings: latency over throughput.
    env.setBufferTimeout(10);
    env.getConfig().setAutoWatermarkInterval(100);
    // No Kryo anywhere: every record type is a POJO or byte[].
    env.getConfig().disableGenericTypes();
    if (objectReuse) env.getConfig().enableObjectReuse();
    return env;
  }

  static void build(StreamExecutionEnvironment env, JsonNode spec, long events, int keys, double zipf, int seed,
      long start, long step, int parallelism, String trigger, String storePath) {
    DataGeneratorSource<byte[]> source = new DataGeneratorSource<>(new GeneratorFn(keys, zipf, seed, start, step),
        events, RateLimiterStrategy.noOp(), PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
    DataStream<byte[]> raw = env.fromSource(source, WatermarkStrategy.noWatermarks(), "generator").setParallelism(1);

    SingleOutputStreamOperator<Click> rows = raw
        .flatMap(new DecodeEval(spec.get("inputSchema").toString()))
        .returns(TypeInformation.of(Click.class))
        .name("Spark expression eval")
        .setParallelism(1)
        // Chronon assigns watermarks after expression evaluation (the time column exists only then).
        .assignTimestampsAndWatermarks(WatermarkStrategy.<Click>forBoundedOutOfOrderness(Duration.ofMinutes(5))
            .withIdleness(Duration.ofSeconds(30))
            .withTimestampAssigner((c, previous) -> c.ts))
        .name("Watermark rows")
        .setParallelism(1);

    Trigger<Click, TimeWindow> t = trigger.equals("always")
        ? new Triggers.AlwaysFireOnElement()
        : new Triggers.BufferedProcessingTime(Long.parseLong(trigger.substring(trigger.indexOf(':') + 1)));
    OutputTag<Click> late = new OutputTag<>("tiling-late-events", TypeInformation.of(Click.class));

    SingleOutputStreamOperator<TimestampedTile> tiles = rows
        .keyBy(c -> c.userId, Types.LONG)
        .window(TumblingEventTimeWindows.of(Duration.ofMillis(spec.get("tileSizeMillis").asLong())))
        .trigger(t)
        .sideOutputLateData(late)
        .aggregate(new TileAggregate(), new TileProcess(spec.get("tileSchema").toString()),
            TypeInformation.of(TileIr.class), TypeInformation.of(TileIr.class), TypeInformation.of(TimestampedTile.class))
        .name("Tiling")
        .setParallelism(parallelism);

    tiles.getSideOutput(late)
        .flatMap((FlatMapFunction<Click, Click>) (c, out) -> Stats.lateEvents.incrementAndGet())
        .returns(TypeInformation.of(Click.class))
        .name("Late events")
        .setParallelism(parallelism);

    tiles.map(new TiledAvroCodec(spec.get("keySchema").toString()))
        .returns(TypeInformation.of(TilePut.class))
        .name("Avro conversion")
        .setParallelism(parallelism)
        .sinkTo(new LmdbTileSink(storePath))
        .name("LMDB tile writes")
        .setParallelism(parallelism);
  }

  private static StringBuilder field(StringBuilder b, String name, Object v) {
    return b.append('"').append(name).append("\":").append(v);
  }

  private static long gcMillis() {
    long t = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) t += Math.max(0, gc.getCollectionTime());
    return t;
  }

  /**
   * Samples every thread's CPU time while a run executes (task threads are gone once the job ends), so a run can
   * report where its CPU went, per thread name.
   */
  static final class ThreadSampler implements AutoCloseable {
    private final java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    private final Map<Long, Long> base = new HashMap<>();
    private final Map<Long, Long> last = new HashMap<>();
    private final Map<Long, String> names = new HashMap<>();
    private final Thread thread;
    private volatile boolean running = true;

    ThreadSampler() {
      sample(true);
      thread = new Thread(() -> {
        while (running) {
          sample(false);
          try {
            Thread.sleep(200);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "thread-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    private synchronized void sample(boolean first) {
      for (long id : mx.getAllThreadIds()) {
        long ns = mx.getThreadCpuTime(id);
        if (ns < 0) continue;
        if (first) base.put(id, ns);
        last.put(id, ns);
        names.computeIfAbsent(id, k -> {
          java.lang.management.ThreadInfo ti = mx.getThreadInfo(k);
          return ti == null ? "?" : ti.getThreadName().replaceAll("\\s*[#(].*", "");
        });
      }
    }

    @Override
    public synchronized void close() {
      running = false;
      thread.interrupt();
      sample(false);
    }

    /** "name=ms …", largest first. */
    synchronized String report() {
      Map<String, Long> byName = new HashMap<>();
      for (Map.Entry<Long, Long> e : last.entrySet()) {
        long ms = (e.getValue() - base.getOrDefault(e.getKey(), 0L)) / 1_000_000;
        if (ms > 0) byName.merge(names.get(e.getKey()), ms, Long::sum);
      }
      StringBuilder b = new StringBuilder();
      byName.entrySet().stream().sorted((x, y) -> Long.compare(y.getValue(), x.getValue())).limit(12)
          .forEach(e -> b.append(e.getKey()).append('=').append(e.getValue()).append("ms "));
      return b.toString().trim();
    }
  }

  private static long peakRssMB() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          String kb = line.replaceAll("[^0-9]", "");
          return Long.parseLong(kb) / 1024;
        }
      }
    } catch (Exception e) {
      // not Linux: no peak RSS
    }
    return -1;
  }

  /** Best effort: Flink's own shutdown hooks may be deleting parts of the same tree at the same time. */
  private static void deleteTree(Path p) {
    if (!Files.exists(p)) return;
    try (Stream<Path> s = Files.walk(p)) {
      s.sorted(Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
    } catch (RuntimeException | java.io.IOException e) {
      // a file vanished under us; what is left goes with the runner's temporary directory
    }
  }

}
