package io.pyflinkkinesis;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonToken;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.types.Row;

import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;

/**
 * One field of a record, as Python users name it: a dotted path ({@code "meta.ts"}) into JSON
 * text ({@code String} or UTF-8 {@code byte[]}), a {@link Row} with field names or a {@link Map};
 * or a position in a {@link Row}.
 *
 * <p>{@link #read} returns the field's value (never null: a JSON value is its text, number or
 * boolean; an object or array is its compact JSON text) or throws {@link Unreadable} saying why there is
 * none. Its {@link Unreadable#absent} tells a record that lacks the value (missing field, null,
 * text that is not JSON) from a reader that cannot work on this kind of record at all (a Row
 * without field names read by name, a position outside the Row, a record of another type).
 * JSON is read only as far as the field (the first one of that name): what follows it is not
 * checked.
 */
public final class RecordField implements Serializable {

    private static final long serialVersionUID = 1L;

    private final String description;
    private final String[] path;
    private final int position;
    private transient ObjectMapper mapper;

    private RecordField(String description, String[] path, int position) {
        this.description = description;
        this.path = path;
        this.position = position;
    }

    /** A dotted path: JSON text, named Rows and Maps, nested objects by {@code a.b}. */
    public static RecordField path(String path) {
        if (path == null || path.isEmpty()) {
            throw new IllegalArgumentException("field must be a non-empty field name or path");
        }
        return new RecordField("'" + path + "'", path.split("\\."), -1);
    }

    /** One top-level field by name (dots are part of the name). */
    public static RecordField name(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("field must be a non-empty field name");
        }
        return new RecordField("'" + name + "'", new String[] {name}, -1);
    }

    /** The field at {@code position} (from 0) of a Row. */
    public static RecordField position(int position) {
        if (position < 0) {
            throw new IllegalArgumentException("position must be >= 0, got " + position);
        }
        return new RecordField("at position " + position, null, position);
    }

    /** How messages name the field: {@code 'ts'} or {@code at position 0}. */
    public String describe() {
        return description;
    }

    /** The field's value in {@code record}; {@link Unreadable} when there is none. */
    public Object read(Object record) {
        if (path == null) {
            return readPosition(record);
        }
        if (record instanceof String) {
            return readJson(((String) record).getBytes(StandardCharsets.UTF_8));
        }
        if (record instanceof byte[]) {
            return readJson((byte[]) record);
        }
        Object current = record;
        for (String name : path) {
            if (current instanceof Row) {
                current = fieldOf((Row) current, name);
            } else if (current instanceof Map) {
                current = ((Map<?, ?>) current).get(name);
            } else if (current == record) {
                throw new Unreadable(false, "the record is " + kindOf(record)
                        + ", which has no named fields");
            } else {
                throw new Unreadable(true, "the record has no field " + description
                        + " (a value on its path is " + kindOf(current) + ")");
            }
            if (current == null) {
                throw new Unreadable(true, "the record has no field " + description
                        + " or it is null");
            }
        }
        return current;
    }

    private Object readPosition(Object record) {
        if (!(record instanceof Row)) {
            throw new Unreadable(false, "the record is " + kindOf(record)
                    + ", not a Row; a field by position needs Row records");
        }
        Row row = (Row) record;
        if (position >= row.getArity()) {
            throw new Unreadable(false, "the record is a Row of " + row.getArity()
                    + " fields, so it has no field at position " + position);
        }
        Object value = row.getField(position);
        if (value == null) {
            throw new Unreadable(true, "the field at position " + position + " is null");
        }
        return value;
    }

    private static Object fieldOf(Row row, String name) {
        Set<String> names = row.getFieldNames(true);
        if (names == null) {
            throw new Unreadable(false, "the record is a Row without field names, so field '"
                    + name + "' cannot be found; use a named Row type (Types.ROW_NAMED) or "
                    + "the field's position");
        }
        return names.contains(name) ? row.getField(name) : null;
    }

    /** Reads JSON only as far as the field: no tree is built for the rest of the record. */
    private Object readJson(byte[] json) {
        if (mapper == null) {
            mapper = new ObjectMapper();
        }
        try (JsonParser parser = mapper.getFactory().createParser(json)) {
            JsonToken token = parser.nextToken();
            if (token == null) {
                throw new Unreadable(true, "the record is empty, not a JSON object");
            }
            return readPath(parser, token, 0);
        } catch (IOException e) {
            throw new Unreadable(true, "the record is not valid JSON (" + firstLine(e) + ")");
        }
    }

    private Object readPath(JsonParser parser, JsonToken token, int depth) throws IOException {
        if (token != JsonToken.START_OBJECT) {
            throw new Unreadable(true, "the record has no field " + description
                    + " (a value on its path is JSON " + jsonKind(token) + ", not an object)");
        }
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            boolean onPath = path[depth].equals(parser.getCurrentName());
            JsonToken value = parser.nextToken();
            if (!onPath) {
                parser.skipChildren();
            } else if (depth + 1 < path.length) {
                return readPath(parser, value, depth + 1);
            } else {
                return jsonValue(parser, value);
            }
        }
        throw new Unreadable(true, "the record has no field " + description + " or it is null");
    }

    private Object jsonValue(JsonParser parser, JsonToken value) throws IOException {
        switch (value) {
            case VALUE_NULL:
                throw new Unreadable(true, "the record has no field " + description
                        + " or it is null");
            case VALUE_STRING:
                return parser.getText();
            case VALUE_NUMBER_INT:
            case VALUE_NUMBER_FLOAT:
                return parser.getNumberValue();
            case VALUE_TRUE:
            case VALUE_FALSE:
                return parser.getBooleanValue();
            default:  // an object or an array: its compact JSON text
                return mapper.readTree(parser).toString();
        }
    }

    private static String jsonKind(JsonToken token) {
        switch (token) {
            case START_ARRAY:
                return "array";
            case VALUE_STRING:
                return "string";
            case VALUE_NUMBER_INT:
            case VALUE_NUMBER_FLOAT:
                return "number";
            case VALUE_TRUE:
            case VALUE_FALSE:
                return "boolean";
            default:
                return "null";
        }
    }

    private static String firstLine(IOException e) {
        String message = String.valueOf(e.getMessage());
        int end = message.indexOf('\n');
        return end < 0 ? message : message.substring(0, end);
    }

    /** "a String", "a byte[] of 12 bytes", "null": for messages, without the record's data. */
    static String kindOf(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof byte[]) {
            return "a byte[] of " + ((byte[]) value).length + " bytes";
        }
        return "a " + value.getClass().getSimpleName();
    }

    /** Why a record has no value for a field; {@code absent} when the record lacks it. */
    public static final class Unreadable extends IllegalArgumentException {

        private static final long serialVersionUID = 1L;

        /** True when this record lacks the value; false when the reader cannot read the record. */
        public final boolean absent;

        Unreadable(boolean absent, String message) {
            super(message);
            this.absent = absent;
        }
    }
}
