package io.pyflinkkinesis;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kinesis.source.serialization.KinesisDeserializationSchema;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;
import org.apache.flink.util.Preconditions;

import java.io.IOException;

/**
 * {@link KinesisRecordWithMetadata} for the FLIP-27 {@code KinesisStreamsSource}: the same
 * {@link Row} of payload and metadata, from the source's own deserialization interface (which
 * hands over the SDK v2 {@link Record}, the stream ARN and the shard id).
 *
 * <p>{@code stream} is the stream's name (the ARN's {@code stream/<name>} part), as the legacy
 * consumer reports it, so a job migrated from {@code FlinkKinesisConsumer} sees the same Rows. A
 * record whose payload deserializes to null is skipped.
 */
public class SourceRecordWithMetadata<T> implements KinesisDeserializationSchema<Row> {

    private static final long serialVersionUID = 1L;

    private final KinesisRecordWithMetadata<T> legacy;
    private final DeserializationSchema<T> payloadSchema;

    public SourceRecordWithMetadata(DeserializationSchema<T> payloadSchema) {
        this.payloadSchema = Preconditions.checkNotNull(payloadSchema, "payloadSchema");
        this.legacy = new KinesisRecordWithMetadata<>(payloadSchema);
    }

    @Override
    public void open(DeserializationSchema.InitializationContext context) throws Exception {
        payloadSchema.open(context);
    }

    @Override
    public void deserialize(Record record, String streamArn, String shardId, Collector<Row> output)
            throws IOException {
        Row row = legacy.deserialize(
                record.data().asByteArray(),
                record.partitionKey(),
                record.sequenceNumber(),
                record.approximateArrivalTimestamp().toEpochMilli(),
                streamName(streamArn),
                shardId);
        if (row != null) {
            output.collect(row);
        }
    }

    @Override
    public TypeInformation<Row> getProducedType() {
        return legacy.getProducedType();
    }

    /** The stream name in a Kinesis stream ARN ({@code arn:...:stream/<name>}), else the ARN. */
    public static String streamName(String streamArn) {
        int slash = streamArn.lastIndexOf(":stream/");
        return slash < 0 ? streamArn : streamArn.substring(slash + ":stream/".length());
    }
}
