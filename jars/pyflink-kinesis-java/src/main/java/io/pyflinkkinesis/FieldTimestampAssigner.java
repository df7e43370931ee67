package io.pyflinkkinesis;

import org.apache.flink.api.common.eventtime.SerializableTimestampAssigner;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;

/**
 * Event time from a field of each record, as a Flink {@code TimestampAssigner}: for
 * {@code WatermarkStrategy.withTimestampAssigner}, so that {@code env.fromSource(...)} (the
 * FLIP-27 {@code KinesisStreamsSource}) and {@code assignTimestampsAndWatermarks} take the
 * timestamp in the JVM.
 *
 * <p>The record may be JSON text ({@code String} or UTF-8 {@code byte[]}, e.g. from
 * SimpleStringSchema), a {@code Row} with named fields, or a {@code Map}. {@code field} may be a
 * dotted path into nested objects ({@code "meta.ts"}). The value may be a number (epoch
 * milliseconds, or epoch seconds with {@code unit = "seconds"}; fractions allowed) or an ISO-8601
 * string ({@code 2024-05-01T12:00:00.250Z}; without an offset it is read as UTC).
 *
 * <p>A record without a readable timestamp fails the job with a message naming the field: an
 * event time guessed silently would put the record in the wrong window.
 */
public class FieldTimestampAssigner<T> implements SerializableTimestampAssigner<T> {

    private static final long serialVersionUID = 1L;

    private final String field;
    private final RecordField reader;
    private final boolean seconds;

    public FieldTimestampAssigner(String field, String unit) {
        if (!"millis".equals(unit) && !"seconds".equals(unit)) {
            throw new IllegalArgumentException(
                    "unit must be 'millis' or 'seconds', got '" + unit + "'");
        }
        this.reader = RecordField.path(field);
        this.field = field;
        this.seconds = "seconds".equals(unit);
    }

    @Override
    public long extractTimestamp(T element, long recordTimestamp) {
        Object value;
        try {
            value = reader.read(element);
        } catch (RecordField.Unreadable e) {
            throw new IllegalArgumentException(
                    "no timestamp in field '" + field + "': " + e.getMessage(), e);
        }
        return toMillis(value);
    }

    private long toMillis(Object value) {
        if (value instanceof Number) {
            return numberToMillis(((Number) value).doubleValue(), ((Number) value).longValue(),
                    value instanceof Double || value instanceof Float
                            || value instanceof java.math.BigDecimal);
        }
        if (value instanceof Instant) {
            return ((Instant) value).toEpochMilli();
        }
        if (value instanceof LocalDateTime) {
            return ((LocalDateTime) value).toInstant(ZoneOffset.UTC).toEpochMilli();
        }
        if (value instanceof java.util.Date) {
            return ((java.util.Date) value).getTime();
        }
        String text = value.toString().trim();
        try {
            return numberToMillis(Double.parseDouble(text), 0, true);
        } catch (NumberFormatException notANumber) {
            return parseIsoMillis(text);
        }
    }

    private long numberToMillis(double asDouble, long asLong, boolean fractional) {
        if (seconds) {
            return Math.round(asDouble * 1000.0);
        }
        return fractional ? Math.round(asDouble) : asLong;
    }

    private long parseIsoMillis(String text) {
        try {
            return OffsetDateTime.parse(text).toInstant().toEpochMilli();
        } catch (DateTimeParseException withoutOffset) {
            try {
                return LocalDateTime.parse(text).toInstant(ZoneOffset.UTC).toEpochMilli();
            } catch (DateTimeParseException e) {
                throw new IllegalArgumentException(
                        "timestamp field '" + field + "' holds '" + text
                                + "', which is neither a number nor an ISO-8601 date-time", e);
            }
        }
    }

    public String getField() {
        return field;
    }
}
