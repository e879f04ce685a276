package tilekiln.bench.flink;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.streaming.api.windowing.triggers.Trigger;
import org.apache.flink.streaming.api.windowing.triggers.TriggerResult;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;

/** Chronon's two tiling triggers (flink/…/window/Trigger.scala), same decisions, written for this job. */
public final class Triggers {
  private Triggers() {}

  /** FIRE on every element: one tile write per event. Event time never fires (the window just expires). */
  public static final class AlwaysFireOnElement extends Trigger<Click, TimeWindow> {
    @Override
    public TriggerResult onElement(Click element, long timestamp, TimeWindow window, TriggerContext ctx) {
      return TriggerResult.FIRE;
    }

    @Override
    public TriggerResult onProcessingTime(long time, TimeWindow window, TriggerContext ctx) {
      return TriggerResult.CONTINUE;
    }

    @Override
    public TriggerResult onEventTime(long time, TimeWindow window, TriggerContext ctx) {
      return TriggerResult.CONTINUE;
    }

    @Override
    public void clear(TimeWindow window, TriggerContext ctx) {}

    @Override
    public boolean canMerge() {
      return true;
    }

    @Override
    public void onMerge(TimeWindow window, OnMergeContext ctx) {}
  }

  /**
   * Fire at most every `bufferMillis` of processing time per key and window: the first element after a fire
   * registers a timer; the timer fires the window without purging it; the window's end (event time) fires what is
   * still buffered.
   */
  public static final class BufferedProcessingTime extends Trigger<Click, TimeWindow> {
    private final long bufferMillis;
    private final ValueStateDescriptor<Long> next = new ValueStateDescriptor<>("nextTimerTimestampState", Long.class);

    public BufferedProcessingTime(long bufferMillis) {
      this.bufferMillis = bufferMillis;
    }

    @Override
    public TriggerResult onElement(Click element, long timestamp, TimeWindow window, TriggerContext ctx) throws Exception {
      ValueState<Long> state = ctx.getPartitionedState(next);
      if (state.value() == null) {
        long at = ctx.getCurrentProcessingTime() + bufferMillis;
        ctx.registerProcessingTimeTimer(at);
        state.update(at);
      }
      return TriggerResult.CONTINUE;
    }

    @Override
    public TriggerResult onProcessingTime(long time, TimeWindow window, TriggerContext ctx) throws Exception {
      ctx.getPartitionedState(next).update(null);
      return TriggerResult.FIRE;
    }

    @Override
    public TriggerResult onEventTime(long time, TimeWindow window, TriggerContext ctx) throws Exception {
      return ctx.getPartitionedState(next).value() != null ? TriggerResult.FIRE : TriggerResult.CONTINUE;
    }

    @Override
    public void clear(TimeWindow window, TriggerContext ctx) throws Exception {
      ValueState<Long> state = ctx.getPartitionedState(next);
      Long at = state.value();
      if (at != null) ctx.deleteProcessingTimeTimer(at);
      state.clear();
    }
  }
}
