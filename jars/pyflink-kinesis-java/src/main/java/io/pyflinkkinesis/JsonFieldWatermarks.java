package io.pyflinkkinesis;

/**
 * Event time from a field of each record (see {@link FieldTimestampAssigner} for the formats),
 * with bounded out-of-orderness watermarks, for the legacy consumer's
 * {@code setPeriodicWatermarkAssigner}.
 *
 * <p>A record without a readable timestamp fails the job with a message naming the field: an
 * event time guessed silently would put the record in the wrong window.
 */
public class JsonFieldWatermarks<T> extends BoundedWatermarks<T> {

    private static final long serialVersionUID = 1L;

    private final FieldTimestampAssigner<T> timestamps;

    public JsonFieldWatermarks(String field, long maxOutOfOrdernessMillis, String unit) {
        super(maxOutOfOrdernessMillis);
        this.timestamps = new FieldTimestampAssigner<>(field, unit);
    }

    @Override
    protected long timestampOf(T element) {
        return timestamps.extractTimestamp(element, Long.MIN_VALUE);
    }

    public String getField() {
        return timestamps.getField();
    }
}
