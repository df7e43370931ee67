package io.pyflinkkinesis;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.types.Row;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.Map;

/**
 * Event time from a field of each record, with bounded out-of-orderness watermarks.
 *
 * <p>The record may be JSON text ({@code String} or UTF-8 {@code byte[]}, e.g. from
 * SimpleStringSchema), a {@link Row} with named fields, or a {@link Map}. {@code field} may be a
 * dotted path into nested objects ({@code "meta.ts"}). The value may be a number (epoch
 * milliseconds, or epoch seconds with {@code unit = "seconds"}; fractions allowed) or an ISO-8601
 * string ({@code 2024-05-01T12:00:00.250Z}; without an offset it is read as UTC).
 *
 * <p>A record without a readable timestamp fails the job with a message naming the field: an
 * event time guessed silently would put the record in the wrong window.
 */
public class JsonFieldWatermarks<T> extends BoundedWatermarks<T> {

    private static final long serialVersionUID = 1L;

    private final String field;
    private final String[] path;
    private final boolean seconds;
    private transient ObjectMapper mapper;

    public JsonFieldWatermarks(String field, long maxOutOfOrdernessMillis, String unit) {
        super(maxOutOfOrdernessMillis);
        if (field == null || field.isEmpty()) {
            throw new IllegalArgumentException("field must be a non-empty field name or path");
        }
        if (!"millis".equals(unit) && !"seconds".equals(unit)) {
            throw new IllegalArgumentException(
                    "unit must be 'millis' or 'seconds', got '" + unit + "'");
        }
        this.field = field;
        this.path = field.split("\\.");
        this.seconds = "seconds".equals(unit);
    }

    @Override
    protected long timestampOf(T element) {
        Object value = lookUp(element);
        if (value == null) {
            throw new IllegalArgumentException(
                    "record has no timestamp field '" + field + "' (or it is null); "
                            + describe(element));
        }
        return toMillis(value);
    }

    private Object lookUp(Object element) {
        if (element instanceof String) {
            return lookUpJson(((String) element).getBytes(StandardCharsets.UTF_8));
        }
        if (element instanceof byte[]) {
            return lookUpJson((byte[]) element);
        }
        Object current = element;
        for (String name : path) {
            if (current instanceof Row) {
                current = fieldOf((Row) current, name);
            } else if (current instanceof Map) {
                current = ((Map<?, ?>) current).get(name);
            } else {
                return null;
            }
        }
        return current;
    }

    private static Object fieldOf(Row row, String name) {
        if (row.getFieldNames(false) == null) {
            throw new IllegalArgumentException(
                    "the record is a Row without field names, so field '" + name
                            + "' cannot be found; use a schema that names its fields");
        }
        return row.getFieldNames(false).contains(name) ? row.getField(name) : null;
    }

    private Object lookUpJson(byte[] json) {
        if (mapper == null) {
            mapper = new ObjectMapper();
        }
        JsonNode node;
        try {
            node = mapper.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "record is not valid JSON, so its timestamp field '" + field
                            + "' cannot be read (the cause says where)", e);
        }
        for (String name : path) {
            if (node == null || !node.isObject()) {
                return null;
            }
            node = node.get(name);
        }
        if (node == null || node.isNull()) {
            return null;
        }
        return node.isNumber() ? node.numberValue() : node.asText();
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

    private static String describe(Object element) {
        return element == null ? "the record is null" : "the record is a "
                + element.getClass().getSimpleName();
    }

    public String getField() {
        return field;
    }
}
