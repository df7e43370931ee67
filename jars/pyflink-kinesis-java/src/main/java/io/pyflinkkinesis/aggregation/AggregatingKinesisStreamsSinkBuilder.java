package io.pyflinkkinesis.aggregation;

import io.pyflinkkinesis.sink.PutRecordsSettings;

import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.connector.kinesis.sink.PartitionKeyGenerator;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.arns.Arn;

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * Builds an {@link AggregatingKinesisStreamsSink}. The setters are those of the connector's
 * {@code KinesisStreamsSinkBuilder}, with the same meaning and defaults, plus two for
 * aggregation and one for per-key order. Setters only record values; {@link #build()} checks
 * them all and names every problem at once.
 */
public final class AggregatingKinesisStreamsSinkBuilder<InputT> {

    /** The most a Kinesis record may take: data plus partition key, in bytes (1 MiB). */
    public static final int MAX_KINESIS_RECORD_BYTES = 1024 * 1024;

    public static final int DEFAULT_MAX_BATCH_SIZE = 500;
    public static final int DEFAULT_MAX_IN_FLIGHT_REQUESTS = 50;
    public static final int DEFAULT_MAX_BUFFERED_REQUESTS = 10_000;
    public static final long DEFAULT_MAX_BATCH_SIZE_IN_BYTES = 5L * 1024 * 1024;
    public static final long DEFAULT_MAX_TIME_IN_BUFFER_MS = 5_000;
    public static final long DEFAULT_MAX_RECORD_SIZE_IN_BYTES = MAX_KINESIS_RECORD_BYTES;
    public static final boolean DEFAULT_FAIL_ON_ERROR = false;
    public static final long DEFAULT_MAX_AGGREGATE_DELAY_MS = 100;
    public static final int DEFAULT_MAX_AGGREGATE_SIZE_IN_BYTES = MAX_KINESIS_RECORD_BYTES;

    String streamName;
    String streamArn;
    Properties kinesisClientProperties = new Properties();
    SerializationSchema<InputT> serializationSchema;
    PartitionKeyGenerator<InputT> partitionKeyGenerator;
    boolean failOnError = DEFAULT_FAIL_ON_ERROR;
    int maxBatchSize = DEFAULT_MAX_BATCH_SIZE;
    int maxInFlightRequests = DEFAULT_MAX_IN_FLIGHT_REQUESTS;
    int maxBufferedRequests = DEFAULT_MAX_BUFFERED_REQUESTS;
    long maxBatchSizeInBytes = DEFAULT_MAX_BATCH_SIZE_IN_BYTES;
    long maxTimeInBufferMS = DEFAULT_MAX_TIME_IN_BUFFER_MS;
    long maxRecordSizeInBytes = DEFAULT_MAX_RECORD_SIZE_IN_BYTES;
    long maxAggregateDelayMS = DEFAULT_MAX_AGGREGATE_DELAY_MS;
    int maxAggregateSizeInBytes = DEFAULT_MAX_AGGREGATE_SIZE_IN_BYTES;
    boolean keepKeyOrder;

    AggregatingKinesisStreamsSinkBuilder() {}

    /** The stream to write to (or set {@link #setStreamArn}). */
    public AggregatingKinesisStreamsSinkBuilder<InputT> setStreamName(String streamName) {
        this.streamName = streamName;
        return this;
    }

    /** The ARN of the stream to write to, e.g. for a stream of another account. */
    public AggregatingKinesisStreamsSinkBuilder<InputT> setStreamArn(String streamArn) {
        this.streamArn = streamArn;
        return this;
    }

    /** AWS client settings (region, endpoint, credentials ...), as the connector reads them. */
    public AggregatingKinesisStreamsSinkBuilder<InputT> setKinesisClientProperties(
            Properties kinesisClientProperties) {
        this.kinesisClientProperties = kinesisClientProperties;
        return this;
    }

    /** Turns each record into the bytes of one user record. */
    public AggregatingKinesisStreamsSinkBuilder<InputT> setSerializationSchema(
            SerializationSchema<InputT> serializationSchema) {
        this.serializationSchema = serializationSchema;
        return this;
    }

    /** Gives each record its partition key: its shard, and its order among records of the key. */
    public AggregatingKinesisStreamsSinkBuilder<InputT> setPartitionKeyGenerator(
            PartitionKeyGenerator<InputT> partitionKeyGenerator) {
        this.partitionKeyGenerator = partitionKeyGenerator;
        return this;
    }

    /** Fail the job when records cannot be written, instead of retrying (default false). */
    public AggregatingKinesisStreamsSinkBuilder<InputT> setFailOnError(boolean failOnError) {
        this.failOnError = failOnError;
        return this;
    }

    /** Most Kinesis records per PutRecords request, 1 to 500 (default 500). */
    public AggregatingKinesisStreamsSinkBuilder<InputT> setMaxBatchSize(int maxBatchSize) {
        this.maxBatchSize = maxBatchSize;
        return this;
    }

    /** Most PutRecords requests in flight at once (default 50). */
    public AggregatingKinesisStreamsSinkBuilder<InputT> setMaxInFlightRequests(
            int maxInFlightRequests) {
        this.maxInFlightRequests = maxInFlightRequests;
        return this;
    }

    /** Most Kinesis records buffered before writes block; above maxBatchSize (default 10000). */
    public AggregatingKinesisStreamsSinkBuilder<InputT> setMaxBufferedRequests(
            int maxBufferedRequests) {
        this.maxBufferedRequests = maxBufferedRequests;
        return this;
    }

    /** Most data bytes per PutRecords request (default 5 MiB; keys are kept within Kinesis' 5 MiB). */
    public AggregatingKinesisStreamsSinkBuilder<InputT> setMaxBatchSizeInBytes(
            long maxBatchSizeInBytes) {
        this.maxBatchSizeInBytes = maxBatchSizeInBytes;
        return this;
    }

    /** Most milliseconds a Kinesis record waits in the buffer before it is sent (default 5000). */
    public AggregatingKinesisStreamsSinkBuilder<InputT> setMaxTimeInBufferMS(
            long maxTimeInBufferMS) {
        this.maxTimeInBufferMS = maxTimeInBufferMS;
        return this;
    }

    /** Most data bytes of one Kinesis record, aggregate or not; bigger records fail the job (default 1 MiB). */
    public AggregatingKinesisStreamsSinkBuilder<InputT> setMaxRecordSizeInBytes(
            long maxRecordSizeInBytes) {
        this.maxRecordSizeInBytes = maxRecordSizeInBytes;
        return this;
    }

    /** Most milliseconds an aggregate is filled after its first record (default 100). */
    public AggregatingKinesisStreamsSinkBuilder<InputT> setMaxAggregateDelayMS(
            long maxAggregateDelayMS) {
        this.maxAggregateDelayMS = maxAggregateDelayMS;
        return this;
    }

    /**
     * Most bytes of an aggregated Kinesis record, data plus partition key, 1 to 1 MiB (the
     * default). Smaller aggregates reach consumers sooner and cost less to re-send.
     */
    public AggregatingKinesisStreamsSinkBuilder<InputT> setMaxAggregateSizeInBytes(
            int maxAggregateSizeInBytes) {
        this.maxAggregateSizeInBytes = maxAggregateSizeInBytes;
        return this;
    }

    /**
     * Write each key's records in the order the sink received them, whatever fails and is
     * retried (default false: the connector's order, which retries and requests in flight may
     * change). See {@link io.pyflinkkinesis.sink.KeyOrderedWriter}.
     */
    public AggregatingKinesisStreamsSinkBuilder<InputT> setKeepKeyOrder(boolean keepKeyOrder) {
        this.keepKeyOrder = keepKeyOrder;
        return this;
    }

    /**
     * The sink.
     *
     * @throws IllegalArgumentException naming every setting that is missing or out of range
     */
    public AggregatingKinesisStreamsSink<InputT> build() {
        List<String> problems = new ArrayList<>();
        String stream = streamName(streamName, streamArn, problems);
        if (serializationSchema == null) {
            problems.add("serializationSchema is required");
        }
        if (partitionKeyGenerator == null) {
            problems.add("partitionKeyGenerator is required");
        }
        inRange(problems, "maxBatchSize", maxBatchSize, 1,
                PutRecordsSettings.MAX_RECORDS_PER_REQUEST,
                " (a PutRecords request takes at most 500 records)");
        inRange(problems, "maxInFlightRequests", maxInFlightRequests, 1, Long.MAX_VALUE, "");
        inRange(problems, "maxBufferedRequests", maxBufferedRequests, maxBatchSize + 1L,
                Long.MAX_VALUE, " (more than maxBatchSize)");
        inRange(problems, "maxRecordSizeInBytes", maxRecordSizeInBytes, 1,
                MAX_KINESIS_RECORD_BYTES, " (a Kinesis record's limit)");
        inRange(problems, "maxBatchSizeInBytes", maxBatchSizeInBytes,
                Math.max(1, maxRecordSizeInBytes), Long.MAX_VALUE,
                " (at least maxRecordSizeInBytes)");
        inRange(problems, "maxTimeInBufferMS", maxTimeInBufferMS, 1, Long.MAX_VALUE, "");
        inRange(problems, "maxAggregateDelayMS", maxAggregateDelayMS, 1, Long.MAX_VALUE, "");
        inRange(problems, "maxAggregateSizeInBytes", maxAggregateSizeInBytes, 1,
                MAX_KINESIS_RECORD_BYTES, " (a Kinesis record's limit, data plus partition key)");
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("Invalid AggregatingKinesisStreamsSink settings:\n  - "
                    + String.join("\n  - ", problems));
        }
        return new AggregatingKinesisStreamsSink<>(this, new PutRecordsSettings(stream, streamArn,
                kinesisClientProperties, failOnError, maxBatchSize, maxInFlightRequests,
                maxBufferedRequests, maxBatchSizeInBytes, maxTimeInBufferMS,
                maxRecordSizeInBytes));
    }

    /**
     * The stream's name, from the ARN when one is set (as the connector does); what is wrong with
     * the two settings goes into {@code problems}.
     */
    public static String streamName(String streamName, String streamArn, List<String> problems) {
        if (streamArn == null) {
            if (streamName == null || streamName.isEmpty()) {
                problems.add("streamName (or streamArn) is required");
            }
            return streamName;
        }
        String fromArn = streamNameOf(streamArn);
        if (fromArn == null) {
            problems.add("streamArn must be a Kinesis stream ARN "
                    + "(arn:aws:kinesis:<region>:<account>:stream/<name>), got '" + streamArn + "'");
        } else if (streamName != null && !streamName.equals(fromArn)) {
            problems.add("streamName '" + streamName + "' is not the stream of streamArn '"
                    + streamArn + "'; set one of them");
        }
        return fromArn;
    }

    private static String streamNameOf(String streamArn) {
        try {
            Arn arn = Arn.fromString(streamArn);
            boolean stream = "kinesis".equals(arn.service())
                    && arn.resource().resourceType().map("stream"::equals).orElse(false);
            return stream && !arn.resource().resource().isEmpty() ? arn.resource().resource() : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Adds to {@code problems} when {@code value} is outside {@code min..max}. */
    public static void inRange(List<String> problems, String setting, long value, long min,
            long max, String why) {
        if (value < min || value > max) {
            problems.add(setting + " must be " + (max == Long.MAX_VALUE
                    ? "at least " + min
                    : min + " to " + max) + why + ", got " + value);
        }
    }
}
