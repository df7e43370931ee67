package io.pyflinkkinesis.sink;

import org.apache.flink.connector.base.sink.AsyncSinkBase;
import org.apache.flink.connector.base.sink.writer.ElementConverter;
import org.apache.flink.connector.base.sink.writer.strategy.AIMDScalingStrategy;
import org.apache.flink.connector.base.sink.writer.strategy.CongestionControlRateLimitingStrategy;
import org.apache.flink.connector.base.sink.writer.strategy.RateLimitingStrategy;
import org.apache.flink.connector.kinesis.sink.KinesisStreamsSink;
import org.apache.flink.connector.kinesis.sink.KinesisStreamsSinkElementConverter;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;

import java.io.Serializable;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

/**
 * What a Kinesis sink writes to and how it batches: the stream, the AWS client properties and
 * the settings of the connector's {@code KinesisStreamsSinkBuilder} (failOnError, batch, in-flight
 * and buffer limits), with their meaning there. Immutable.
 */
public final class PutRecordsSettings implements Serializable {

    private static final long serialVersionUID = 1L;

    /** PutRecords takes at most 500 records and 5 MiB, partition keys included. */
    public static final int MAX_RECORDS_PER_REQUEST = 500;
    public static final long MAX_BYTES_PER_REQUEST = 5L * 1024 * 1024;

    // AIMD rate limiting on failed entries, as the connector's writer.
    private static final int AIMD_INCREASE_RATE = 10;
    private static final double AIMD_DECREASE_FACTOR = 0.99;

    public final String streamName;
    /** The stream's ARN, or null. */
    public final String streamArn;
    public final Properties clientProperties;
    public final boolean failOnError;
    public final int maxBatchSize;
    public final int maxInFlightRequests;
    public final int maxBufferedRequests;
    public final long maxBatchSizeInBytes;
    public final long maxTimeInBufferMS;
    public final long maxRecordSizeInBytes;

    public PutRecordsSettings(String streamName, String streamArn, Properties clientProperties,
            boolean failOnError, int maxBatchSize, int maxInFlightRequests,
            int maxBufferedRequests, long maxBatchSizeInBytes, long maxTimeInBufferMS,
            long maxRecordSizeInBytes) {
        this.streamName = streamName;
        this.streamArn = streamArn;
        this.clientProperties = new Properties();
        if (clientProperties != null) {
            this.clientProperties.putAll(clientProperties);
        }
        this.failOnError = failOnError;
        this.maxBatchSize = maxBatchSize;
        this.maxInFlightRequests = maxInFlightRequests;
        this.maxBufferedRequests = maxBufferedRequests;
        this.maxBatchSizeInBytes = maxBatchSizeInBytes;
        this.maxTimeInBufferMS = maxTimeInBufferMS;
        this.maxRecordSizeInBytes = maxRecordSizeInBytes;
    }

    /**
     * The settings a connector {@code KinesisStreamsSink} was built with, read from its fields:
     * connector 4.3.0 offers no getters (nor a hook in its table sink, which builds one).
     *
     * @throws IllegalStateException when the sink is not what connector 4.3.0 builds
     */
    public static PutRecordsSettings of(KinesisStreamsSink<?> sink) {
        return new PutRecordsSettings(
                (String) field(sink, "streamName"),
                (String) field(sink, "streamArn"),
                (Properties) field(sink, "kinesisClientProperties"),
                (Boolean) field(sink, "failOnError"),
                (Integer) getter(sink, "getMaxBatchSize"),
                (Integer) getter(sink, "getMaxInFlightRequests"),
                (Integer) getter(sink, "getMaxBufferedRequests"),
                (Long) getter(sink, "getMaxBatchSizeInBytes"),
                (Long) getter(sink, "getMaxTimeInBufferMS"),
                (Long) getter(sink, "getMaxRecordSizeInBytes"));
    }

    /** What turns each record into a PutRecords entry in a connector {@code KinesisStreamsSink}. */
    @SuppressWarnings("unchecked")
    public static <T> ElementConverter<T, PutRecordsRequestEntry> elementConverter(
            KinesisStreamsSink<T> sink) {
        return (ElementConverter<T, PutRecordsRequestEntry>) getter(sink, "getElementConverter");
    }

    /** Congestion control as the connector's writer does it: AIMD on the records in flight. */
    public RateLimitingStrategy rateLimiting() {
        return CongestionControlRateLimitingStrategy.builder()
                .setMaxInFlightRequests(maxInFlightRequests)
                .setInitialMaxInFlightMessages(maxBatchSize)
                .setScalingStrategy(AIMDScalingStrategy.builder(maxBatchSize * maxInFlightRequests)
                        .setIncreaseRate(AIMD_INCREASE_RATE)
                        .setDecreaseFactor(AIMD_DECREASE_FACTOR)
                        .build())
                .build();
    }

    /** How many bytes {@code entry} adds to a PutRecords request: data and partition key. */
    public static long requestBytes(PutRecordsRequestEntry entry) {
        return entry.data().asByteArrayUnsafe().length
                + entry.partitionKey().getBytes(StandardCharsets.UTF_8).length;
    }

    private static Object field(KinesisStreamsSink<?> sink, String name) {
        try {
            Field field = KinesisStreamsSink.class.getDeclaredField(name);
            field.setAccessible(true);
            return field.get(sink);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw unexpected(name, e);
        }
    }

    /**
     * The partition key generator inside the connector's element converter (which keeps it
     * private), or null for another converter: our sinks tell it its subtask, which the
     * connector never does.
     */
    public static Object partitionKeyGenerator(ElementConverter<?, ?> converter) {
        return converterField(converter, "partitionKeyGenerator");
    }

    /**
     * The serialization schema inside the connector's element converter, or null for another
     * converter: the exactly-once table sink writes a table's rows with its format's schema.
     */
    public static Object serializationSchema(ElementConverter<?, ?> converter) {
        return converterField(converter, "serializationSchema");
    }

    private static Object converterField(ElementConverter<?, ?> converter, String name) {
        if (!(converter instanceof KinesisStreamsSinkElementConverter)) {
            return null;
        }
        try {
            Field field = KinesisStreamsSinkElementConverter.class.getDeclaredField(name);
            field.setAccessible(true);
            return field.get(converter);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw unexpected(name, e);
        }
    }

    private static Object getter(KinesisStreamsSink<?> sink, String name) {
        try {
            Method getter = AsyncSinkBase.class.getDeclaredMethod(name);
            getter.setAccessible(true);
            return getter.invoke(sink);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw unexpected(name, e);
        }
    }

    private static IllegalStateException unexpected(String member, Exception cause) {
        return new IllegalStateException("Cannot read '" + member + "' of the connector's "
                + "KinesisStreamsSink: this package reads the sinks of flink-connector-kinesis "
                + "4.3.0; use that version", cause);
    }

    @Override
    public String toString() {
        return "PutRecordsSettings{stream=" + (streamArn != null ? streamArn : streamName)
                + ", failOnError=" + failOnError + ", maxBatchSize=" + maxBatchSize
                + ", maxInFlightRequests=" + maxInFlightRequests
                + ", maxBufferedRequests=" + maxBufferedRequests
                + ", maxBatchSizeInBytes=" + maxBatchSizeInBytes
                + ", maxTimeInBufferMS=" + maxTimeInBufferMS
                + ", maxRecordSizeInBytes=" + maxRecordSizeInBytes + "}";
    }
}
