package io.pyflinkkinesis;

import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.types.Row;

import java.nio.charset.StandardCharsets;

/**
 * Writes one field of each Row as the Kinesis record's data, for records that carry their
 * partition key in another field: map a Python record to {@code Row(key, payload)}, key the sink
 * by field 0 and write field 1 with this schema.
 *
 * <p>Without an inner schema the field must be a String (written as UTF-8) or a {@code byte[]}
 * (written as it is); with one, the inner schema serializes the field's value. A missing or null
 * field fails the job, naming the field.
 */
public class RowFieldSerializationSchema implements SerializationSchema<Row> {

    private static final long serialVersionUID = 1L;

    private final RecordField field;
    private final SerializationSchema<Object> schema;

    /**
     * @param field the payload field, {@link RecordField#name} or {@link RecordField#position}
     * @param schema how to serialize the field's value, or null for String and byte[] fields
     */
    public RowFieldSerializationSchema(RecordField field, SerializationSchema<Object> schema) {
        if (field == null) {
            throw new IllegalArgumentException("field must not be null");
        }
        this.field = field;
        this.schema = schema;
    }

    @Override
    public void open(InitializationContext context) throws Exception {
        if (schema != null) {
            schema.open(context);
        }
    }

    @Override
    public byte[] serialize(Row row) {
        Object value;
        try {
            value = field.read(row);
        } catch (RecordField.Unreadable e) {
            throw new IllegalArgumentException(
                    "no payload in field " + field.describe() + ": " + e.getMessage(), e);
        }
        if (schema != null) {
            return schema.serialize(value);
        }
        if (value instanceof byte[]) {
            return (byte[]) value;
        }
        if (value instanceof String) {
            return ((String) value).getBytes(StandardCharsets.UTF_8);
        }
        throw new IllegalArgumentException("the payload field " + field.describe() + " holds "
                + RecordField.kindOf(value) + "; make it a STRING or bytes field, or give "
                + "RowFieldSerializationSchema a schema for it");
    }
}
