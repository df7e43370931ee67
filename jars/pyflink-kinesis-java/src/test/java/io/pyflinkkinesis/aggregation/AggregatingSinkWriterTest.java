package io.pyflinkkinesis.aggregation;

import io.pyflinkkinesis.SubtaskAware;
import io.pyflinkkinesis.sink.KinesisSinkException;

import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.connector.base.sink.writer.BufferedRequestState;
import org.apache.flink.connector.kinesis.sink.PartitionKeyGenerator;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.KinesisException;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResultEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ResourceNotFoundException;
import org.apache.flink.metrics.MetricGroup;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whole writer (aggregation, PutRecords, retries, re-sends, state) against a fake stream. */
class AggregatingSinkWriterTest {

    private static final BigInteger HALF = BigInteger.ONE.shiftLeft(127);

    /** Records are "key=value" text; the key is the part before '='. */
    private static final PartitionKeyGenerator<String> KEY_BEFORE_EQUALS =
            record -> record.substring(0, record.indexOf('='));

    private static AggregatingKinesisStreamsSink<String> sink(
            Consumer<AggregatingKinesisStreamsSinkBuilder<String>> settings) {
        AggregatingKinesisStreamsSinkBuilder<String> builder =
                AggregatingKinesisStreamsSink.<String>builder()
                        .setStreamName("fake")
                        .setSerializationSchema(new SimpleStringSchema())
                        .setPartitionKeyGenerator(KEY_BEFORE_EQUALS);
        settings.accept(builder);
        return builder.build();
    }

    private static AggregatingKinesisStreamsSink<String> sink() {
        return sink(builder -> {});
    }

    /** Writes {@code count} records of 50 keys; returns them as the consumer shows them. */
    private static List<String> write(AggregatingSinkWriter<String> writer, int count, int seed)
            throws Exception {
        Random random = new Random(seed);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String key = (random.nextBoolean() ? "Zoë-" : "user-") + random.nextInt(50);
            String record = key + "=event " + seed + "/" + i;
            writer.write(record, null);
            expected.add(key + "=" + record);
        }
        return expected;
    }

    private static Map<String, List<String>> byKey(List<String> texts) {
        Map<String, List<String>> result = new LinkedHashMap<>();
        for (String text : texts) {
            result.computeIfAbsent(text.substring(0, text.indexOf('=')), k -> new ArrayList<>())
                    .add(text);
        }
        return result;
    }

    private static List<String> sorted(List<String> texts) {
        List<String> result = new ArrayList<>(texts);
        Collections.sort(result);
        return result;
    }

    private static long aggregatesIn(List<List<PutRecordsRequestEntry>> requests) {
        return requests.stream().flatMap(List::stream)
                .filter(entry -> KplFormat.isAggregate(entry.data().asByteArrayUnsafe())).count();
    }

    @Test
    void everyRecordArrivesOnceAggregatedByShardAndInOrderPerKey() throws Exception {
        WriterHarness harness = new WriterHarness(FakeStream.withEvenShards(4));
        AggregatingSinkWriter<String> writer = harness.writer(sink());

        List<String> expected = write(writer, 5_000, 1);
        writer.flush(true);

        List<String> consumed = harness.stream.consumed();
        assertEquals(byKey(expected), byKey(consumed));
        assertEquals(expected.size(), consumed.size());
        long aggregates = aggregatesIn(harness.stream.requests);
        assertTrue(aggregates >= 4, aggregates + " aggregates");
        assertEquals(aggregates, harness.count(AggregatingKinesisStreamsSink.AGGREGATES_OUT_METRIC));
        assertEquals(5_000, harness.count(AggregatingKinesisStreamsSink.USER_RECORDS_IN_METRIC));
        assertEquals(0, harness.count(AggregatingKinesisStreamsSink.RESENT_METRIC));
        assertEquals(1, harness.stream.listings);
        writer.close();
        assertTrue(harness.stream.closed);
    }

    @Test
    void flushBeforeACheckpointPutsEveryPendingAggregateInTheStateThatARestoreWrites()
            throws Exception {
        AggregatingKinesisStreamsSink<String> sink = sink();
        WriterHarness before = new WriterHarness(FakeStream.withEvenShards(4));
        AggregatingSinkWriter<String> writer = before.writer(sink);
        List<String> expected = write(writer, 300, 2);

        writer.flush(false);
        List<BufferedRequestState<PutRecordsRequestEntry>> state = writer.snapshotState(1);
        writer.close();  // the job fails before anything was sent

        assertTrue(before.stream.requests.isEmpty());
        SimpleVersionedSerializer<BufferedRequestState<PutRecordsRequestEntry>> serializer =
                sink.getWriterStateSerializer();
        BufferedRequestState<PutRecordsRequestEntry> restored = serializer.deserialize(
                serializer.getVersion(), serializer.serialize(state.get(0)));
        WriterHarness after = new WriterHarness(FakeStream.withEvenShards(4));
        AggregatingSinkWriter<String> restoredWriter =
                after.writer(sink, Collections.singletonList(restored));
        restoredWriter.flush(true);

        assertEquals(byKey(expected), byKey(after.stream.consumed()));
    }

    @Test
    void anAggregateIsHandedOnMaxAggregateDelayAfterItsFirstRecord() throws Exception {
        WriterHarness harness = new WriterHarness(FakeStream.withEvenShards(1));
        AggregatingSinkWriter<String> writer = harness.writer(
                sink(builder -> builder.setMaxAggregateDelayMS(100).setMaxTimeInBufferMS(10)));
        harness.time.setCurrentTime(1_000);
        writer.write("a=1", null);
        harness.time.setCurrentTime(1_050);
        writer.write("b=2", null);

        harness.time.setCurrentTime(1_099);
        assertTrue(writer.snapshotState(1).get(0).getBufferedRequestEntries().isEmpty());

        harness.time.setCurrentTime(1_100);
        assertEquals(1, writer.snapshotState(2).get(0).getBufferedRequestEntries().size());
        writer.write("c=3", null);  // starts the next aggregate

        harness.time.setCurrentTime(1_110);  // the inner writer's buffer time
        harness.mailbox.drain();
        assertEquals(Collections.singletonList("a=a=1"), harness.stream.consumed().subList(0, 1));
        assertEquals(2, harness.stream.consumed().size());
        harness.time.setCurrentTime(1_200);
        writer.flush(true);
        assertEquals(3, harness.stream.consumed().size());
    }

    @Test
    void afterASplitTheRecordsOfMisplacedAggregatesAreResentAndNoneIsLost() throws Exception {
        WriterHarness harness = new WriterHarness(FakeStream.withEvenShards(1));
        AggregatingSinkWriter<String> writer = harness.writer(sink());
        List<String> expected = write(writer, 200, 3);
        harness.stream.split("shard-0", HALF);  // after the writer read its shard map

        writer.flush(true);

        // KCL drops each aggregate in full, so the re-sent records arrive exactly once.
        assertEquals(sorted(expected), sorted(harness.stream.consumed()));
        assertEquals(200, harness.count(AggregatingKinesisStreamsSink.RESENT_METRIC));
        assertEquals(1, harness.count(AggregatingKinesisStreamsSink.REFRESHES_METRIC));

        List<String> later = write(writer, 200, 4);  // routed by the refreshed map
        writer.flush(true);
        expected.addAll(later);
        assertEquals(sorted(expected), sorted(harness.stream.consumed()));
        assertEquals(200, harness.count(AggregatingKinesisStreamsSink.RESENT_METRIC));
    }

    @Test
    void aRefreshedMapRoutesPendingRecordsOfClosedShardsAgainInsteadOfResendingThem()
            throws Exception {
        WriterHarness harness = new WriterHarness(FakeStream.withEvenShards(1));
        AggregatingSinkWriter<String> writer = harness.writer(sink(builder -> builder
                .setMaxAggregateDelayMS(10_000).setMaxTimeInBufferMS(100)));
        List<String> expected = write(writer, 100, 11);
        writer.flush(false);  // the first 100 wait in the inner buffer
        harness.stream.split("shard-0", HALF);
        expected.addAll(write(writer, 100, 12));  // pending, routed by the old map

        harness.time.setCurrentTime(100);  // the first 100 are sent, land wrong: map refreshed
        expected.addAll(write(writer, 100, 13));  // the pending 100 are routed again first
        writer.flush(true);

        assertEquals(sorted(expected), sorted(harness.stream.consumed()));
        assertEquals(100, harness.count(AggregatingKinesisStreamsSink.RESENT_METRIC));
    }

    @Test
    void aKeyInNoKnownShardIsWrittenPlainAndTheMapIsRefreshed() throws Exception {
        FakeStream stream = FakeStream.withEvenShards(2);
        stream.unlisted.add("shard-1");
        WriterHarness harness = new WriterHarness(stream);
        AggregatingSinkWriter<String> writer = harness.writer(sink());
        stream.unlisted.clear();

        List<String> expected = write(writer, 500, 5);
        writer.flush(true);

        assertEquals(sorted(expected), sorted(stream.consumed()));
        assertEquals(2, stream.listings);
        assertEquals(1, harness.count(AggregatingKinesisStreamsSink.REFRESHES_METRIC));
        assertTrue(aggregatesIn(stream.requests) >= 2);
    }

    @Test
    void failedRecordsAreRetriedAndCounted() throws Exception {
        WriterHarness harness = new WriterHarness(FakeStream.withEvenShards(2));
        harness.stream.scripted.add(entries -> {
            List<PutRecordsResultEntry> results = new ArrayList<>();
            results.add(FakeStream.failure("ProvisionedThroughputExceededException", "slow down"));
            for (PutRecordsRequestEntry entry : entries.subList(1, entries.size())) {
                results.add(harness.stream.write(entry));
            }
            return CompletableFuture.completedFuture(PutRecordsResponse.builder()
                    .failedRecordCount(1).records(results).build());
        });
        harness.stream.scripted.add(entries -> failed(KinesisException.builder()
                .message("We encountered an internal error").statusCode(500).build()));
        AggregatingSinkWriter<String> writer = harness.writer(sink());

        List<String> expected = write(writer, 1_000, 6);
        writer.flush(true);

        assertEquals(sorted(expected), sorted(harness.stream.consumed()));
        long firstBatch = harness.stream.requests.get(0).size();
        assertEquals(harness.stream.requests.get(1).size() + 1,
                harness.count("numRecordsOutErrors"));
        assertTrue(firstBatch >= 2);
    }

    @Test
    void withFailOnErrorAPartialFailureFailsTheJobNamingCountAndFirstError() throws Exception {
        WriterHarness harness = new WriterHarness(FakeStream.withEvenShards(2));
        harness.stream.scripted.add(entries -> {
            List<PutRecordsResultEntry> results = new ArrayList<>();
            results.add(FakeStream.failure("ProvisionedThroughputExceededException", "slow down"));
            for (int i = 1; i < entries.size(); i++) {
                results.add(FakeStream.failure("InternalFailure", "later"));
            }
            return CompletableFuture.completedFuture(PutRecordsResponse.builder()
                    .failedRecordCount(entries.size()).records(results).build());
        });
        AggregatingSinkWriter<String> writer = harness.writer(sink(b -> b.setFailOnError(true)));
        write(writer, 100, 7);

        String message = assertThrows(KinesisSinkException.class, () -> writer.flush(true))
                .getMessage();

        assertTrue(message.matches("PutRecords to the Kinesis stream 'fake' failed for (\\d+) of "
                + "\\1 records and failOnError is set; the first error: "
                + "ProvisionedThroughputExceededException: slow down"), message);
    }

    @Test
    void withFailOnErrorAFailedRequestFailsTheJob() throws Exception {
        WriterHarness harness = new WriterHarness(FakeStream.withEvenShards(2));
        harness.stream.scripted.add(entries -> failed(KinesisException.builder()
                .message("We encountered an internal error").statusCode(500).build()));
        AggregatingSinkWriter<String> writer = harness.writer(sink(b -> b.setFailOnError(true)));
        write(writer, 100, 8);

        String message = assertThrows(KinesisSinkException.class, () -> writer.flush(true))
                .getMessage();

        assertTrue(message.matches("PutRecords of \\d+ records to the Kinesis stream 'fake' "
                + "failed and failOnError is set: .*internal error.*"), message);
    }

    @Test
    void aMissingStreamFailsTheJobEvenWithoutFailOnError() throws Exception {
        WriterHarness harness = new WriterHarness(FakeStream.withEvenShards(2));
        harness.stream.scripted.add(entries -> failed(ResourceNotFoundException.builder()
                .message("Stream fake under account 000000000000 not found.").build()));
        AggregatingSinkWriter<String> writer = harness.writer(sink());
        write(writer, 10, 9);

        String message = assertThrows(KinesisSinkException.class, () -> writer.flush(true))
                .getMessage();

        assertTrue(message.startsWith("The Kinesis stream 'fake' was not found: Stream fake"),
                message);
    }

    @Test
    void theSchemaIsOpenedAndTheKeyGeneratorLearnsItsSubtask() throws Exception {
        OpenedSchema schema = new OpenedSchema();
        SubtaskKeys keys = new SubtaskKeys();
        WriterHarness harness = new WriterHarness(FakeStream.withEvenShards(1));

        AggregatingSinkWriter<String> writer = harness.writer(AggregatingKinesisStreamsSink
                .<String>builder().setStreamName("fake").setSerializationSchema(schema)
                .setPartitionKeyGenerator(keys).build());
        writer.write("x", null);
        writer.flush(true);

        assertTrue(schema.opened);
        assertEquals("subtask 1 of 3", harness.stream.consumed().get(0).split("=")[0]);
    }

    @Test
    void recordsKinesisCannotTakeFailClearly() throws Exception {
        WriterHarness harness = new WriterHarness(FakeStream.withEvenShards(1));
        AggregatingSinkWriter<String> writer = harness.writer(sink());
        StringBuilder longKey = new StringBuilder();
        while (longKey.length() < 257) {
            longKey.append('k');
        }
        StringBuilder big = new StringBuilder("k=");
        while (big.length() < 1_048_576) {
            big.append('x');
        }

        String tooBig = assertThrows(IllegalArgumentException.class,
                () -> writer.write(big.toString(), null)).getMessage();
        String tooLong = assertThrows(IllegalArgumentException.class,
                () -> writer.write(longKey + "=v", null)).getMessage();
        String empty = assertThrows(IllegalArgumentException.class,
                () -> writer.write("=v", null)).getMessage();

        assertTrue(tooBig.startsWith("A record of 1048576 bytes with a partition key of 1 bytes "
                + "is too big: Kinesis takes at most 1048576 bytes"), tooBig);
        assertTrue(tooLong.contains("a key of 257 characters"), tooLong);
        assertTrue(empty.contains("Kinesis takes keys of 1 to 256 characters"), empty);
    }

    @Test
    void theFirstListingFailingFailsTheWriterAndClosesTheClient() throws Exception {
        FakeStream stream = FakeStream.withEvenShards(1);
        stream.listingError = new IllegalStateException("AccessDeniedException");
        WriterHarness harness = new WriterHarness(stream);

        assertThrows(KinesisSinkException.class, () -> harness.writer(sink()));
        assertTrue(stream.closed);
    }

    @Test
    void thePublicWriterBuildsAnSdkClientFromTheClientProperties() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            byte[] body = "{\"__type\":\"AccessDeniedException\",\"message\":\"no\"}"
                    .getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/x-amz-json-1.1");
            exchange.sendResponseHeaders(400, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        Properties client = new Properties();
        client.setProperty("aws.region", "us-east-1");
        client.setProperty("aws.endpoint", "http://127.0.0.1:" + server.getAddress().getPort());
        client.setProperty("aws.http.protocol.version", "HTTP1_1");
        client.setProperty("aws.credentials.provider", "BASIC");
        client.setProperty("aws.credentials.provider.basic.accesskeyid", "fake");
        client.setProperty("aws.credentials.provider.basic.secretkey", "fake");
        WriterHarness harness = new WriterHarness(FakeStream.withEvenShards(1));
        try {
            String message = assertThrows(KinesisSinkException.class, () -> sink(
                    builder -> builder.setKinesisClientProperties(client))
                    .createWriter(harness.context(WriterInitContext.class))).getMessage();

            assertTrue(message.startsWith("Could not list the shards of the Kinesis stream "
                    + "'fake'"), message);
        } finally {
            server.stop(0);
        }
    }

    @Test
    void aBatchKeepsWithinFiveMebibytesKeysIncluded() {
        List<PutRecordsRequestEntry> entries = new ArrayList<>();
        StringBuilder key = new StringBuilder();
        while (key.length() < 256) {
            key.append('k');
        }
        for (int i = 0; i < 5; i++) {
            entries.add(KplAggregate.plain(new KeyedRecord(key.toString(), new byte[1_048_320])));
        }
        entries.add(KplAggregate.plain(new KeyedRecord("k", new byte[1_000])));

        assertEquals(5, PutRecordsWriter.fittingCount(entries));
        assertEquals(1, PutRecordsWriter.fittingCount(entries.subList(5, 6)));
        entries.set(0, KplAggregate.plain(new KeyedRecord(key.toString(), new byte[1_048_321])));
        assertEquals(4, PutRecordsWriter.fittingCount(entries));
    }

    @Test
    void recordsAreNotReorderedWithinAKeyAcrossAggregates() throws Exception {
        WriterHarness harness = new WriterHarness(FakeStream.withEvenShards(2));
        AggregatingSinkWriter<String> writer = harness.writer(
                sink(builder -> builder.setMaxAggregateSizeInBytes(300)));
        List<String> expected = write(writer, 2_000, 10);
        writer.flush(true);

        assertEquals(byKey(expected), byKey(harness.stream.consumed()));
        assertFalse(harness.stream.requests.isEmpty());
        assertTrue(aggregatesIn(harness.stream.requests) > 50);
    }

    /**
     * Keeping key order: a fifth of the requests have some entries throttled, and a split
     * misplaces the aggregates built before it. Read as the KCL reads (parent shard first, a
     * misplaced aggregate dropped whole), every key's records arrive, their first copies in the
     * order written; no request holds two Kinesis records sharing a key.
     */
    @Test
    void keepingKeyOrderEachKeysRecordsAreReadInOrderThroughRejectionsAndASplit()
            throws Exception {
        Random random = new Random(12);
        WriterHarness harness = new WriterHarness(FakeStream.withEvenShards(1));
        FakeStream stream = harness.stream;
        for (int i = 0; i < 5_000; i++) {
            stream.scripted.add(entries -> {
                List<PutRecordsResultEntry> results = new ArrayList<>();
                boolean throttled = random.nextInt(5) == 0;
                for (PutRecordsRequestEntry entry : entries) {
                    results.add(throttled && random.nextBoolean()
                            ? FakeStream.failure("ProvisionedThroughputExceededException", "slow")
                            : stream.write(entry));
                }
                return CompletableFuture.completedFuture(
                        PutRecordsResponse.builder().records(results).build());
            });
        }
        AggregatingSinkWriter<String> writer = harness.writer(sink(builder -> builder
                .setKeepKeyOrder(true).setMaxAggregateSizeInBytes(300).setMaxBatchSize(20)
                .setMaxAggregateDelayMS(10_000).setMaxTimeInBufferMS(100)));

        List<String> expected = write(writer, 1_000, 13);
        stream.split("shard-0", HALF);  // the pending and buffered aggregates are now misplaced
        expected.addAll(write(writer, 1_000, 14));
        writer.flush(true);

        Map<String, List<String>> firstCopies = new LinkedHashMap<>();
        for (Map.Entry<String, List<String>> key : byKey(stream.consumed()).entrySet()) {
            firstCopies.put(key.getKey(), new ArrayList<>(new LinkedHashSet<>(key.getValue())));
        }
        assertEquals(byKey(expected), firstCopies);
        assertTrue(harness.count(AggregatingKinesisStreamsSink.RESENT_METRIC) > 0);
        assertTrue(harness.count("numRecordsOutErrors") > 0);
        for (List<PutRecordsRequestEntry> request : stream.requests) {
            Set<String> keys = new HashSet<>();
            for (PutRecordsRequestEntry entry : request) {
                for (String key : new HashSet<>(AggregatingSinkWriter.keysOf(entry))) {
                    assertTrue(keys.add(key), key + " twice in one request");
                }
            }
        }
    }

    private static CompletableFuture<PutRecordsResponse> failed(Exception error) {
        CompletableFuture<PutRecordsResponse> result = new CompletableFuture<>();
        result.completeExceptionally(error);
        return result;
    }

    private static final class OpenedSchema extends SimpleStringSchema {
        private static final long serialVersionUID = 1L;
        boolean opened;

        @Override
        public void open(SerializationSchema.InitializationContext context) {
            opened = true;
        }
    }

    /** Keys every record by the subtask it learned. */
    private static final class SubtaskKeys implements PartitionKeyGenerator<String>, SubtaskAware {
        private static final long serialVersionUID = 1L;
        private String subtask = "unknown";

        @Override
        public void open(int subtaskIndex, int parallelism, MetricGroup metrics) {
            subtask = "subtask " + subtaskIndex + " of " + parallelism;
        }

        @Override
        public String apply(String record) {
            return subtask;
        }
    }
}
