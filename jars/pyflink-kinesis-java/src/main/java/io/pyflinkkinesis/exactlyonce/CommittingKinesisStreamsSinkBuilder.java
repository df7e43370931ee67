package io.pyflinkkinesis.exactlyonce;

import io.pyflinkkinesis.aggregation.AggregatingKinesisStreamsSinkBuilder;
import io.pyflinkkinesis.sink.PutRecordsSettings;

import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.connector.kinesis.sink.PartitionKeyGenerator;

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * Builds a {@link CommittingKinesisStreamsSink}: the connector's {@code KinesisStreamsSinkBuilder}
 * vocabulary for the stream, client, schema and keys, plus the exactly-once settings. Setters
 * only record values; {@link #build()} checks them all at once.
 */
public final class CommittingKinesisStreamsSinkBuilder<InputT> {

    /** 64 MiB of data and partition keys between two checkpoints, per writer. */
    public static final long DEFAULT_MAX_BUFFERED_BYTES = 64L * 1024 * 1024;
    public static final long DEFAULT_COMMIT_TIMEOUT_MS = 60_000;

    private String streamName;
    private String streamArn;
    private Properties kinesisClientProperties;
    private SerializationSchema<InputT> serializationSchema;
    private PartitionKeyGenerator<InputT> partitionKeyGenerator;
    private long maxBufferedBytes = DEFAULT_MAX_BUFFERED_BYTES;
    private long commitTimeoutMS = DEFAULT_COMMIT_TIMEOUT_MS;

    CommittingKinesisStreamsSinkBuilder() {}

    public CommittingKinesisStreamsSinkBuilder<InputT> setStreamName(String streamName) {
        this.streamName = streamName;
        return this;
    }

    public CommittingKinesisStreamsSinkBuilder<InputT> setStreamArn(String streamArn) {
        this.streamArn = streamArn;
        return this;
    }

    public CommittingKinesisStreamsSinkBuilder<InputT> setKinesisClientProperties(
            Properties kinesisClientProperties) {
        this.kinesisClientProperties = kinesisClientProperties;
        return this;
    }

    public CommittingKinesisStreamsSinkBuilder<InputT> setSerializationSchema(
            SerializationSchema<InputT> serializationSchema) {
        this.serializationSchema = serializationSchema;
        return this;
    }

    public CommittingKinesisStreamsSinkBuilder<InputT> setPartitionKeyGenerator(
            PartitionKeyGenerator<InputT> partitionKeyGenerator) {
        this.partitionKeyGenerator = partitionKeyGenerator;
        return this;
    }

    /**
     * The most data and partition key bytes one writer buffers between two checkpoints (they are
     * in checkpoint state); past half of it the writer slows its input down to stay under it,
     * and a record that does not fit fails the job, asking for more frequent checkpoints.
     */
    public CommittingKinesisStreamsSinkBuilder<InputT> setMaxBufferedBytes(long maxBufferedBytes) {
        this.maxBufferedBytes = maxBufferedBytes;
        return this;
    }

    /**
     * How long the committer retries throttled and failed writes of one committable; then the
     * job restores its last checkpoint and writes them again (a commit made on the task's thread
     * is first retried by Flink, {@code sink.committer.retries} times).
     */
    public CommittingKinesisStreamsSinkBuilder<InputT> setCommitTimeoutMS(long commitTimeoutMS) {
        this.commitTimeoutMS = commitTimeoutMS;
        return this;
    }

    /**
     * The sink.
     *
     * @throws IllegalArgumentException naming every setting that is missing or out of range
     */
    public CommittingKinesisStreamsSink<InputT> build() {
        List<String> problems = new ArrayList<>();
        String stream = AggregatingKinesisStreamsSinkBuilder.streamName(streamName, streamArn,
                problems);
        if (serializationSchema == null) {
            problems.add("serializationSchema is required");
        }
        if (partitionKeyGenerator == null) {
            problems.add("partitionKeyGenerator is required");
        }
        AggregatingKinesisStreamsSinkBuilder.inRange(problems, "maxBufferedBytes",
                maxBufferedBytes, AggregatingKinesisStreamsSinkBuilder.MAX_KINESIS_RECORD_BYTES,
                Long.MAX_VALUE, " (a Kinesis record's limit)");
        AggregatingKinesisStreamsSinkBuilder.inRange(problems, "commitTimeoutMS",
                commitTimeoutMS, 1, Long.MAX_VALUE, "");
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("Invalid CommittingKinesisStreamsSink settings:\n"
                    + "  - " + String.join("\n  - ", problems));
        }
        return new CommittingKinesisStreamsSink<>(putRecordsSettings(stream),
                serializationSchema, partitionKeyGenerator, maxBufferedBytes, commitTimeoutMS);
    }

    /** The client settings; the batching ones are the aggregating sink's defaults, unused here. */
    private PutRecordsSettings putRecordsSettings(String stream) {
        return new PutRecordsSettings(stream, streamArn, kinesisClientProperties, false,
                AggregatingKinesisStreamsSinkBuilder.DEFAULT_MAX_BATCH_SIZE,
                AggregatingKinesisStreamsSinkBuilder.DEFAULT_MAX_IN_FLIGHT_REQUESTS,
                AggregatingKinesisStreamsSinkBuilder.DEFAULT_MAX_BUFFERED_REQUESTS,
                AggregatingKinesisStreamsSinkBuilder.DEFAULT_MAX_BATCH_SIZE_IN_BYTES,
                AggregatingKinesisStreamsSinkBuilder.DEFAULT_MAX_TIME_IN_BUFFER_MS,
                AggregatingKinesisStreamsSinkBuilder.DEFAULT_MAX_RECORD_SIZE_IN_BYTES);
    }
}
