package io.pyflinkkinesis;

import org.apache.flink.types.Row;

/**
 * Event time = the record's approximate arrival timestamp, read from the
 * {@code approximate_arrival_timestamp} field of the Rows {@link KinesisRecordWithMetadata}
 * produces, with bounded out-of-orderness watermarks.
 *
 * <p>The connector gives a periodic assigner only the previous record's timestamp, so the
 * arrival time has to travel in the record: use it with {@code KinesisRecordWithMetadata}.
 */
public class ArrivalTimeWatermarks<T> extends BoundedWatermarks<T> {

    private static final long serialVersionUID = 1L;

    static final String FIELD =
            KinesisRecordWithMetadata.FIELD_NAMES[
                    KinesisRecordWithMetadata.ARRIVAL_TIMESTAMP_POSITION];

    public ArrivalTimeWatermarks(long maxOutOfOrdernessMillis) {
        super(maxOutOfOrdernessMillis);
    }

    @Override
    protected long timestampOf(T element) {
        if (element instanceof Row) {
            Object value = arrivalOf((Row) element);
            if (value instanceof Long) {
                return (Long) value;
            }
        }
        throw new IllegalArgumentException(
                "arrival-time watermarks need records read with "
                        + "KinesisDeserializationSchema.with_metadata(...), whose Rows carry '"
                        + FIELD + "'; got "
                        + (element == null ? "null" : "a " + element.getClass().getSimpleName()));
    }

    private static Object arrivalOf(Row row) {
        if (row.getFieldNames(false) != null) {
            return row.getFieldNames(false).contains(FIELD) ? row.getField(FIELD) : null;
        }
        return row.getArity() == KinesisRecordWithMetadata.FIELD_NAMES.length
                ? row.getField(KinesisRecordWithMetadata.ARRIVAL_TIMESTAMP_POSITION)
                : null;
    }
}
