package io.pyflinkkinesis.table;

import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.types.DataType;

/**
 * The metadata columns of a {@code 'stream.arn'} table, as connector 5.x's {@code kinesis} table
 * and 4.3.0's legacy one name and type them ({@code METADATA FROM 'timestamp'} ...).
 */
enum RowMetadata {
    /** When Kinesis received the record (its approximate arrival timestamp). */
    TIMESTAMP("timestamp", DataTypes.TIMESTAMP_WITH_LOCAL_TIME_ZONE(3).notNull()),
    SEQUENCE_NUMBER("sequence-number", DataTypes.VARCHAR(128).notNull()),
    SHARD_ID("shard-id", DataTypes.VARCHAR(128).notNull());

    final String key;
    final DataType type;

    RowMetadata(String key, DataType type) {
        this.key = key;
        this.type = type;
    }

    /** @throws IllegalArgumentException for a key that is none of these */
    static RowMetadata of(String key) {
        for (RowMetadata column : values()) {
            if (column.key.equals(key)) {
                return column;
            }
        }
        throw new IllegalArgumentException("No metadata column '" + key + "'");
    }
}
