package io.pyflinkkinesis.aggregation;

import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.connector.kinesis.sink.PartitionKeyGenerator;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AggregatingKinesisStreamsSinkBuilderTest {

    private static final PartitionKeyGenerator<String> KEYS = record -> record;

    private static AggregatingKinesisStreamsSinkBuilder<String> valid() {
        return AggregatingKinesisStreamsSink.<String>builder()
                .setStreamName("orders")
                .setSerializationSchema(new SimpleStringSchema())
                .setPartitionKeyGenerator(KEYS);
    }

    private static String problems(AggregatingKinesisStreamsSinkBuilder<String> builder) {
        return assertThrows(IllegalArgumentException.class, builder::build).getMessage();
    }

    @Test
    void defaultsAreTheConnectorsPlusAggregationDefaults() {
        AggregatingKinesisStreamsSink<String> sink = valid().build();

        assertEquals("orders", sink.settings.streamName);
        assertNull(sink.settings.streamArn);
        assertFalse(sink.settings.failOnError);
        assertEquals(500, sink.settings.maxBatchSize);
        assertEquals(50, sink.settings.maxInFlightRequests);
        assertEquals(10_000, sink.settings.maxBufferedRequests);
        assertEquals(5L * 1024 * 1024, sink.settings.maxBatchSizeInBytes);
        assertEquals(5_000, sink.settings.maxTimeInBufferMS);
        assertEquals(1024 * 1024, sink.settings.maxRecordSizeInBytes);
        assertEquals(100, sink.maxAggregateDelayMS);
        assertEquals(1024 * 1024, sink.maxAggregateSizeInBytes);
        assertFalse(sink.keepKeyOrder);
        assertTrue(sink.settings.clientProperties.isEmpty());
    }

    @Test
    void settersSetWhatTheySay() {
        Properties client = new Properties();
        client.setProperty("aws.region", "eu-west-1");

        AggregatingKinesisStreamsSink<String> sink = valid()
                .setKinesisClientProperties(client)
                .setFailOnError(true)
                .setMaxBatchSize(100)
                .setMaxInFlightRequests(3)
                .setMaxBufferedRequests(1_000)
                .setMaxBatchSizeInBytes(2_000_000)
                .setMaxTimeInBufferMS(250)
                .setMaxRecordSizeInBytes(500_000)
                .setMaxAggregateDelayMS(20)
                .setMaxAggregateSizeInBytes(65_536)
                .setKeepKeyOrder(true)
                .build();
        client.setProperty("aws.region", "changed later");

        assertEquals("eu-west-1", sink.settings.clientProperties.getProperty("aws.region"));
        assertTrue(sink.settings.failOnError);
        assertEquals(100, sink.settings.maxBatchSize);
        assertEquals(3, sink.settings.maxInFlightRequests);
        assertEquals(1_000, sink.settings.maxBufferedRequests);
        assertEquals(2_000_000, sink.settings.maxBatchSizeInBytes);
        assertEquals(250, sink.settings.maxTimeInBufferMS);
        assertEquals(500_000, sink.settings.maxRecordSizeInBytes);
        assertEquals(20, sink.maxAggregateDelayMS);
        assertEquals(65_536, sink.maxAggregateSizeInBytes);
        assertTrue(sink.keepKeyOrder);
    }

    @Test
    void everyProblemIsNamedAtOnce() {
        String message = problems(AggregatingKinesisStreamsSink.<String>builder()
                .setMaxBatchSize(501)
                .setMaxInFlightRequests(0)
                .setMaxBufferedRequests(501)
                .setMaxTimeInBufferMS(0)
                .setMaxAggregateDelayMS(-5));

        assertTrue(message.startsWith("Invalid AggregatingKinesisStreamsSink settings:\n  - "),
                message);
        assertTrue(message.contains("streamName (or streamArn) is required"), message);
        assertTrue(message.contains("serializationSchema is required"), message);
        assertTrue(message.contains("partitionKeyGenerator is required"), message);
        assertTrue(message.contains("maxBatchSize must be 1 to 500 (a PutRecords request takes "
                + "at most 500 records), got 501"), message);
        assertTrue(message.contains("maxInFlightRequests must be at least 1, got 0"), message);
        assertTrue(message.contains("maxBufferedRequests must be at least 502 (more than "
                + "maxBatchSize), got 501"), message);
        assertTrue(message.contains("maxTimeInBufferMS must be at least 1, got 0"), message);
        assertTrue(message.contains("maxAggregateDelayMS must be at least 1, got -5"), message);
        assertEquals(8, message.split("\n  - ").length - 1, message);
    }

    @Test
    void aggregatesCannotExceedAKinesisRecordOrBeEmpty() {
        assertTrue(problems(valid().setMaxAggregateSizeInBytes(1_048_577)).contains(
                "maxAggregateSizeInBytes must be 1 to 1048576 (a Kinesis record's limit, data "
                        + "plus partition key), got 1048577"));
        assertTrue(problems(valid().setMaxAggregateSizeInBytes(0))
                .contains("maxAggregateSizeInBytes must be 1 to 1048576"));
        assertEquals(1_048_576, valid().setMaxAggregateSizeInBytes(1_048_576).build()
                .maxAggregateSizeInBytes);
    }

    @Test
    void recordAndBatchSizesFollowKinesisAndTheAsyncSinkRules() {
        assertTrue(problems(valid().setMaxRecordSizeInBytes(2_000_000)).contains(
                "maxRecordSizeInBytes must be 1 to 1048576 (a Kinesis record's limit), got 2000000"));
        assertTrue(problems(valid().setMaxBatchSizeInBytes(1_000)).contains(
                "maxBatchSizeInBytes must be at least 1048576 (at least maxRecordSizeInBytes), "
                        + "got 1000"));
    }

    @Test
    void aStreamArnNamesTheStream() {
        String arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/orders";

        AggregatingKinesisStreamsSink<String> sink = valid().setStreamName(null)
                .setStreamArn(arn).build();

        assertEquals("orders", sink.settings.streamName);
        assertEquals(arn, sink.settings.streamArn);
        assertEquals("orders", valid().setStreamArn(arn).build().settings.streamName);
        assertTrue(problems(valid().setStreamName("other").setStreamArn(arn)).contains(
                "streamName 'other' is not the stream of streamArn '" + arn
                        + "'; set one of them"));
        assertTrue(problems(valid().setStreamArn("orders")).contains("streamArn must be a "
                + "Kinesis stream ARN (arn:aws:kinesis:<region>:<account>:stream/<name>), got "
                + "'orders'"));
        assertTrue(problems(valid().setStreamArn("arn:aws:s3:::bucket/orders"))
                .contains("streamArn must be a Kinesis stream ARN"));
    }

    @Test
    void theSinkSurvivesJavaSerialization() throws Exception {
        AggregatingKinesisStreamsSink<String> copy = InstantiationUtil.clone(
                valid().setMaxAggregateDelayMS(7).build());

        assertEquals(7, copy.maxAggregateDelayMS);
        assertEquals("k", copy.partitionKeyGenerator.apply("k"));
    }
}
