package io.pyflinkkinesis;

import org.apache.flink.streaming.api.functions.AssignerWithPeriodicWatermarks;
import org.apache.flink.streaming.api.watermark.Watermark;

/**
 * Bounded out-of-orderness watermarks over a timestamp each subclass takes from the record.
 *
 * <p>The watermark is {@code max - maxOutOfOrdernessMillis - 1}, as Flink's
 * {@code WatermarkStrategy.forBoundedOutOfOrderness}: a record {@code maxOutOfOrdernessMillis}
 * behind the highest seen is still on time. The connector keeps one copy per shard. Note that
 * the connector passes {@code extractTimestamp} the previous record's timestamp, not the
 * record's arrival time, so the timestamp must come from the record itself.
 */
public abstract class BoundedWatermarks<T> implements AssignerWithPeriodicWatermarks<T> {

    private static final long serialVersionUID = 1L;

    private final long maxOutOfOrdernessMillis;
    private long maxTimestamp;

    protected BoundedWatermarks(long maxOutOfOrdernessMillis) {
        this.maxOutOfOrdernessMillis = checkBound(maxOutOfOrdernessMillis);
        this.maxTimestamp = Long.MIN_VALUE + maxOutOfOrdernessMillis + 1;
    }

    static long checkBound(long maxOutOfOrdernessMillis) {
        if (maxOutOfOrdernessMillis < 0) {
            throw new IllegalArgumentException(
                    "maxOutOfOrdernessMillis must be >= 0, got " + maxOutOfOrdernessMillis);
        }
        return maxOutOfOrdernessMillis;
    }

    /** The event time of this record, in epoch milliseconds. */
    protected abstract long timestampOf(T element);

    @Override
    public final long extractTimestamp(T element, long previousElementTimestamp) {
        long timestamp = timestampOf(element);
        maxTimestamp = Math.max(maxTimestamp, timestamp);
        return timestamp;
    }

    @Override
    public final Watermark getCurrentWatermark() {
        return new Watermark(maxTimestamp - maxOutOfOrdernessMillis - 1);
    }

    public long getMaxOutOfOrdernessMillis() {
        return maxOutOfOrdernessMillis;
    }
}
