package io.pyflinkkinesis;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.typeutils.RowTypeInfo;
import org.apache.flink.streaming.connectors.kinesis.serialization.KinesisDeserializationSchema;
import org.apache.flink.types.Row;
import org.apache.flink.util.Preconditions;

import java.io.IOException;

/**
 * Deserializes a Kinesis record's data with any {@link DeserializationSchema} and emits it in a
 * {@link Row} next to the record's metadata, so that Python jobs see all of it as named fields.
 *
 * <p>Fields (positional: Flink's Row serializer for a RowTypeInfo takes no named rows; the
 * names are in the produced type), in this order: {@code payload} (the inner schema's value), {@code stream},
 * {@code shard_id}, {@code partition_key}, {@code sequence_number} (strings) and
 * {@code approximate_arrival_timestamp} (epoch milliseconds, a long). A record whose payload
 * deserializes to null is skipped, as the connector's own wrapper does.
 */
public class KinesisRecordWithMetadata<T> implements KinesisDeserializationSchema<Row> {

    private static final long serialVersionUID = 1L;

    /** The field names, in order. */
    public static final String[] FIELD_NAMES = {
        "payload",
        "stream",
        "shard_id",
        "partition_key",
        "sequence_number",
        "approximate_arrival_timestamp"
    };

    /** Where {@code approximate_arrival_timestamp} is in the Row. */
    public static final int ARRIVAL_TIMESTAMP_POSITION = 5;

    private final DeserializationSchema<T> payloadSchema;

    public KinesisRecordWithMetadata(DeserializationSchema<T> payloadSchema) {
        this.payloadSchema = Preconditions.checkNotNull(payloadSchema, "payloadSchema");
    }

    @Override
    public void open(DeserializationSchema.InitializationContext context) throws Exception {
        payloadSchema.open(context);
    }

    @Override
    public Row deserialize(
            byte[] recordValue,
            String partitionKey,
            String seqNum,
            long approxArrivalTimestamp,
            String stream,
            String shardId)
            throws IOException {
        T payload = payloadSchema.deserialize(recordValue);
        if (payload == null) {
            return null;
        }
        return Row.of(payload, stream, shardId, partitionKey, seqNum, approxArrivalTimestamp);
    }

    @Override
    public TypeInformation<Row> getProducedType() {
        return new RowTypeInfo(
                new TypeInformation<?>[] {
                    payloadSchema.getProducedType(),
                    Types.STRING,
                    Types.STRING,
                    Types.STRING,
                    Types.STRING,
                    Types.LONG
                },
                FIELD_NAMES);
    }
}
