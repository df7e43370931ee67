package io.pyflinkkinesis;

import org.apache.flink.streaming.api.functions.AssignerWithPeriodicWatermarks;
import org.apache.flink.streaming.api.watermark.Watermark;

/**
 * Event time = the record's approximate arrival timestamp (the connector's default), with
 * watermarks that trail the highest timestamp seen by {@code maxOutOfOrdernessMillis}.
 *
 * <p>The watermark is {@code max - maxOutOfOrdernessMillis - 1}, as Flink's
 * {@code WatermarkStrategy.forBoundedOutOfOrderness}: a record {@code maxOutOfOrdernessMillis}
 * behind the highest seen is still on time. The connector keeps one copy per shard.
 */
public class ArrivalTimeWatermarks<T> implements AssignerWithPeriodicWatermarks<T> {

    private static final long serialVersionUID = 1L;

    private final long maxOutOfOrdernessMillis;
    private long maxTimestamp;

    public ArrivalTimeWatermarks(long maxOutOfOrdernessMillis) {
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

    /** Returns the timestamp this record carries; the arrival time unless a subclass says. */
    protected long timestampOf(T element, long arrivalTimestamp) {
        return arrivalTimestamp;
    }

    @Override
    public final long extractTimestamp(T element, long recordTimestamp) {
        long timestamp = timestampOf(element, recordTimestamp);
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
