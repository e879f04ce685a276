package tilekiln.bench.flink;

import java.util.concurrent.atomic.AtomicLong;

/** Per-run measurements shared by the operators of the one embedded job (all in this JVM). */
public final class Stats {
  private Stats() {}

  static volatile long firstEventMillis;
  static volatile long sinkFinishedMillis;
  static final AtomicLong lateEvents = new AtomicLong();

  static void reset() {
    firstEventMillis = 0;
    sinkFinishedMillis = 0;
    lateEvents.set(0);
  }

  static synchronized void sinkFinished(long at) {
    if (at > sinkFinishedMillis) sinkFinishedMillis = at;
  }
}
