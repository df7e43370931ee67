package io.pyflinkkinesis.sink;

import io.pyflinkkinesis.aggregation.FakeStream;
import io.pyflinkkinesis.aggregation.WriterHarness;

import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.connector.base.sink.writer.BufferedRequestState;
import org.apache.flink.connector.kinesis.sink.KinesisStreamsSink;
import org.apache.flink.connector.kinesis.table.FixedKinesisPartitionKeyGenerator;
import org.apache.flink.connector.kinesis.sink.KinesisStreamsSinkBuilder;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.KinesisException;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ResourceNotFoundException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The key-ordered writer against a stream whose requests the test answers, in any order. */
class KeyOrderedWriterTest {

    private final HeldStream stream = new HeldStream();
    private final WriterHarness harness;

    KeyOrderedWriterTest() throws Exception {
        harness = new WriterHarness(FakeStream.withEvenShards(1));  // its context only
    }

    /** A connector sink of "key=value" records keyed by "key", with {@code settings}. */
    private static KeyOrderedKinesisStreamsSink<String> sink(
            Consumer<KinesisStreamsSinkBuilder<String>> settings) {
        Properties client = new Properties();
        client.setProperty("aws.region", "us-east-1");
        KinesisStreamsSinkBuilder<String> builder = KinesisStreamsSink.<String>builder()
                .setStreamName("held")
                .setKinesisClientProperties(client)
                .setSerializationSchema(new SimpleStringSchema())
                .setPartitionKeyGenerator(record -> record.substring(0, record.indexOf('=')));
        settings.accept(builder);
        return KeyOrderedKinesisStreamsSink.of(builder.build());
    }

    private KeyOrderedWriter<String> writer(KeyOrderedKinesisStreamsSink<String> sink) {
        return sink.restoreWriter(harness.context, Collections.emptyList(), () -> stream);
    }

    /** Each key's records, first copies only, in the order the stream stored them. */
    private Map<String, List<String>> firstCopies() {
        Map<String, List<String>> result = new LinkedHashMap<>();
        for (Map.Entry<String, List<String>> key : stream.stored.entrySet()) {
            result.put(key.getKey(), new ArrayList<>(new LinkedHashSet<>(key.getValue())));
        }
        return result;
    }

    private static void assertOneEntryPerKeyPerRequest(List<List<PutRecordsRequestEntry>> requests) {
        for (List<PutRecordsRequestEntry> request : requests) {
            Set<String> keys = new HashSet<>();
            for (PutRecordsRequestEntry entry : request) {
                assertTrue(keys.add(entry.partitionKey()), "two records of "
                        + entry.partitionKey() + " in one request");
            }
        }
    }

    /**
     * Requests are answered in a random order, most with some entries throttled, some failing
     * as a whole (500, a reset before or after the request reached the stream): every key's
     * records are stored, and their first copies in the order they were written.
     */
    @Test
    void eachKeysRecordsAreStoredInOrderWhateverFailsAndInWhicheverOrderAnswersCome()
            throws Exception {
        Random random = new Random(7);
        KeyOrderedWriter<String> writer = writer(sink(builder -> builder
                .setMaxBatchSize(20).setMaxInFlightRequests(10).setMaxBufferedRequests(200)
                .setMaxTimeInBufferMS(100)));
        harness.mailbox.whenIdle = () -> answerOne(random);
        Map<String, List<String>> written = new LinkedHashMap<>();
        for (int i = 0; i < 3_000; i++) {
            String key = "key-" + random.nextInt(40);
            String record = key + "=" + i;
            writer.write(record, null);
            written.computeIfAbsent(key, k -> new ArrayList<>()).add(record);
            if (random.nextInt(4) == 0 && !stream.pending.isEmpty()) {
                answerOne(random);
                harness.mailbox.drain();
            }
            harness.time.setCurrentTime(i / 10);  // the buffer timer fires now and then
        }
        writer.flush(true);

        assertEquals(written.keySet(), firstCopies().keySet());
        for (String key : written.keySet()) {
            assertEquals(written.get(key), firstCopies().get(key), key);
        }
        assertOneEntryPerKeyPerRequest(stream.requests);
        long copies = stream.stored.values().stream().mapToLong(List::size).sum();
        assertTrue(copies > 3_000, "the requests stored twice: " + copies);
        assertTrue(harness.count("numRecordsOutErrors") > 100);
        assertTrue(stream.requests.size() > 300);
    }

    /**
     * Answers a random request in flight, as Kinesis and the SDK might: some entries throttled,
     * all stored, a 500 after the SDK's own retries, or all stored twice (the connection was
     * reset after the request reached the stream, and the SDK's retry stored it again).
     */
    private void answerOne(Random random) {
        HeldStream.Request request = stream.pending.get(random.nextInt(stream.pending.size()));
        int outcome = random.nextInt(20);
        if (outcome < 12) {
            stream.answer(request, entry -> random.nextInt(10) < 7);
        } else if (outcome < 15) {
            stream.answer(request, entry -> true);
        } else if (outcome < 18) {
            stream.fail(request, KinesisException.builder()
                    .message("We encountered an internal error").statusCode(500).build(), false);
        } else {
            request.entries.forEach(stream::store);
            stream.answer(request, entry -> true);
        }
    }

    @Test
    void aRejectedRecordIsSentAgainBeforeTheNextOfItsKeyAndOtherKeysGoOn() throws Exception {
        KeyOrderedWriter<String> writer = writer(sink(builder -> builder.setMaxBatchSize(3)));
        writer.write("a=1", null);
        writer.write("a=2", null);
        writer.write("b=1", null);  // 3 wait: a request of a=1 and b=1 goes
        assertEquals(1, stream.pending.size());
        assertEquals(Arrays.asList("a=1", "b=1"), texts(stream.requests.get(0)));

        stream.answer(stream.pending.get(0), entry -> entry.partitionKey().equals("b"));
        harness.mailbox.drain();  // a=1 was rejected: it waits first, a=2 behind it
        writer.write("b=2", null);  // 3 wait again

        assertEquals(Arrays.asList("a=1", "b=2"), texts(stream.requests.get(1)));
        harness.mailbox.whenIdle = stream::answerAll;
        stream.answerAll();
        harness.mailbox.drain();
        writer.flush(true);
        assertEquals(Arrays.asList("a=1", "a=2"), stream.stored.get("a"));
        assertEquals(1, harness.count("numRecordsOutErrors"));
    }

    @Test
    void aRecordWaitsAtMostMaxTimeInBufferOrUntilTheOneBeforeOfItsKeyIsAcknowledged()
            throws Exception {
        KeyOrderedWriter<String> writer = writer(sink(builder -> builder
                .setMaxTimeInBufferMS(100)));
        harness.time.setCurrentTime(1_000);
        writer.write("a=1", null);
        writer.write("a=2", null);
        harness.time.setCurrentTime(1_050);
        writer.write("b=1", null);

        harness.time.setCurrentTime(1_099);
        assertTrue(stream.requests.isEmpty());
        harness.time.setCurrentTime(1_100);  // a=1 is due; b=1, ready too, goes with it
        assertEquals(Collections.singletonList(Arrays.asList("a=1", "b=1")),
                textsOf(stream.requests));

        stream.answerAll();
        harness.mailbox.drain();  // a=2 has waited 100 ms already: it goes at once
        assertEquals(Collections.singletonList("a=2"), texts(stream.requests.get(1)));
        writer.write("c=1", null);
        harness.time.setCurrentTime(1_199);
        assertEquals(2, stream.requests.size());
        harness.time.setCurrentTime(1_200);
        assertEquals(Collections.singletonList("c=1"), texts(stream.requests.get(2)));
    }

    @Test
    void aCheckpointWritesEverythingTheSinkHoldsInOrder() throws Exception {
        KeyOrderedKinesisStreamsSink<String> sink = sink(builder -> builder.setMaxBatchSize(3));
        KeyOrderedWriter<String> writer = writer(sink);
        writer.write("a=1", null);
        writer.write("a=2", null);
        writer.write("b=1", null);  // a=1 and b=1 in flight, a=2 waits
        boolean[] rejected = {false};
        harness.mailbox.whenIdle = () -> {
            if (!rejected[0]) {  // a=1 rejected once
                rejected[0] = true;
                stream.answer(stream.pending.get(0), entry -> entry.partitionKey().equals("b"));
            } else {
                stream.answerAll();
            }
        };

        writer.flush(false);

        assertEquals(Arrays.asList("a=1", "a=2"), stream.stored.get("a"));
        assertEquals(Collections.singletonList("b=1"), stream.stored.get("b"));
        assertTrue(stateEntries(writer.snapshotState(1).get(0)).isEmpty());
    }

    @Test
    void aRestoredStateIsWrittenFirstInOrder() throws Exception {
        KeyOrderedKinesisStreamsSink<String> sink = sink(builder -> builder.setMaxBatchSize(3));
        KeyOrderedWriter<String> writer = writer(sink);
        writer.write("a=1", null);
        writer.write("a=2", null);  // a=1 in flight, never answered: a failure comes first
        List<BufferedRequestState<PutRecordsRequestEntry>> state = writer.snapshotState(1);
        assertEquals(Arrays.asList("a=1", "a=2"), texts(stateEntries(state.get(0))));

        SimpleVersionedSerializer<BufferedRequestState<PutRecordsRequestEntry>> serializer =
                sink.getWriterStateSerializer();
        BufferedRequestState<PutRecordsRequestEntry> restored = serializer.deserialize(
                serializer.getVersion(), serializer.serialize(state.get(0)));
        HeldStream after = new HeldStream();
        KeyOrderedWriter<String> restoredWriter = sink.restoreWriter(harness.context,
                Collections.singletonList(restored), () -> after);
        harness.mailbox.whenIdle = after::answerAll;
        restoredWriter.write("a=3", null);
        restoredWriter.flush(true);
        assertEquals(Arrays.asList("a=1", "a=2", "a=3"), after.stored.get("a"));
    }

    @Test
    void writesWaitWhileMaxBufferedRequestsWait() throws Exception {
        KeyOrderedWriter<String> writer = writer(sink(builder -> builder
                .setMaxBatchSize(2).setMaxBufferedRequests(3)));
        int[] answered = {0};
        harness.mailbox.whenIdle = () -> {
            answered[0]++;
            stream.answerAll();
        };
        for (int i = 0; i < 6; i++) {
            writer.write("a=" + i, null);  // one key: one record in flight at a time
        }
        assertTrue(answered[0] >= 2, answered[0] + " waits");
        writer.flush(true);
        assertEquals(Arrays.asList("a=0", "a=1", "a=2", "a=3", "a=4", "a=5"),
                stream.stored.get("a"));
    }

    @Test
    void withFailOnErrorARejectedRecordOrAFailedRequestFailsTheJob() throws Exception {
        KeyOrderedWriter<String> writer = writer(sink(builder -> builder
                .setFailOnError(true).setMaxBatchSize(2)));
        writer.write("a=1", null);
        writer.write("b=1", null);
        stream.answer(stream.pending.get(0), entry -> entry.partitionKey().equals("b"));
        String partial = assertThrows(KinesisSinkException.class, harness.mailbox::drain)
                .getMessage();
        assertEquals("PutRecords to the Kinesis stream 'held' failed for 1 of 2 records and "
                + "failOnError is set; the first error: ProvisionedThroughputExceededException: "
                + "Rate exceeded for shard shard-0", partial);

        writer.write("c=1", null);
        writer.write("d=1", null);
        stream.fail(stream.pending.get(0), KinesisException.builder().message("internal error")
                .statusCode(500).build(), false);
        String failed = assertThrows(KinesisSinkException.class, harness.mailbox::drain)
                .getMessage();
        assertTrue(failed.startsWith("PutRecords of 2 records to the Kinesis stream 'held' "
                + "failed and failOnError is set"), failed);
    }

    @Test
    void aMissingStreamFailsTheJobEvenWithoutFailOnError() throws Exception {
        KeyOrderedWriter<String> writer = writer(sink(builder -> builder.setMaxBatchSize(1)));
        writer.write("a=1", null);
        writer.write("b=1", null);
        stream.fail(stream.pending.get(0), ResourceNotFoundException.builder()
                .message("Stream held under account 000000000000 not found.").build(), false);

        String message = assertThrows(KinesisSinkException.class, harness.mailbox::drain)
                .getMessage();

        assertTrue(message.startsWith("The Kinesis stream 'held' was not found: Stream held"),
                message);
    }

    @Test
    void recordsKinesisCannotTakeFailClearly() throws Exception {
        KeyOrderedWriter<String> writer = writer(sink(builder -> builder
                .setMaxRecordSizeInBytes(10).setMaxBatchSizeInBytes(10)));
        StringBuilder longKey = new StringBuilder();
        while (longKey.length() < 257) {
            longKey.append('k');
        }

        String empty = assertThrows(IllegalArgumentException.class,
                () -> writer.write("=v", null)).getMessage();
        String tooLong = assertThrows(IllegalArgumentException.class,
                () -> writer.write(longKey + "=v", null)).getMessage();
        String tooBig = assertThrows(IllegalArgumentException.class,
                () -> writer.write("k=0123456789", null)).getMessage();

        assertEquals("The partition key generator gave a key of 0 characters for a record; "
                + "Kinesis takes keys of 1 to 256 characters", empty);
        assertTrue(tooLong.contains("a key of 257 characters"), tooLong);
        assertEquals("A record of 12 bytes is bigger than maxRecordSizeInBytes (10)", tooBig);
    }

    @Test
    void closingClosesTheStream() throws Exception {
        writer(sink(builder -> {})).close();
        assertTrue(stream.closed);
    }

    @Test
    void theSettingsAndConverterAreTheConnectorSinks() {
        Properties client = new Properties();
        client.setProperty("aws.region", "eu-west-1");
        KinesisStreamsSink<String> connector = KinesisStreamsSink.<String>builder()
                .setStreamName("orders")
                .setKinesisClientProperties(client)
                .setSerializationSchema(new SimpleStringSchema())
                .setPartitionKeyGenerator(record -> "k")
                .setFailOnError(true)
                .setMaxBatchSize(100)
                .setMaxInFlightRequests(3)
                .setMaxBufferedRequests(1_000)
                .setMaxBatchSizeInBytes(2_000_000)
                .setMaxTimeInBufferMS(250)
                .setMaxRecordSizeInBytes(500_000)
                .build();

        PutRecordsSettings settings = KeyOrderedKinesisStreamsSink.of(connector).getSettings();

        assertEquals("orders", settings.streamName);
        assertEquals(null, settings.streamArn);
        assertEquals("eu-west-1", settings.clientProperties.getProperty("aws.region"));
        assertTrue(settings.failOnError);
        assertEquals(100, settings.maxBatchSize);
        assertEquals(3, settings.maxInFlightRequests);
        assertEquals(1_000, settings.maxBufferedRequests);
        assertEquals(2_000_000, settings.maxBatchSizeInBytes);
        assertEquals(250, settings.maxTimeInBufferMS);
        assertEquals(500_000, settings.maxRecordSizeInBytes);
        assertFalse(settings.toString().contains("eu-west-1"));  // no client properties shown
        PutRecordsRequestEntry entry = PutRecordsSettings.elementConverter(connector)
                .apply("payload", null);
        assertEquals("k", entry.partitionKey());
        assertEquals("payload", entry.data().asUtf8String());
    }

    @Test
    void theWriterTellsAFixedGeneratorItsSubtaskWhichTheConnectorNeverDoes() throws Exception {
        Properties client = new Properties();
        client.setProperty("aws.region", "us-east-1");
        KeyOrderedKinesisStreamsSink<String> sink = KeyOrderedKinesisStreamsSink.of(
                KinesisStreamsSink.<String>builder()
                        .setStreamName("held")
                        .setKinesisClientProperties(client)
                        .setSerializationSchema(new SimpleStringSchema())
                        .setPartitionKeyGenerator(new FixedKinesisPartitionKeyGenerator<>())
                        .build());
        KeyOrderedWriter<String> writer = writer(sink);  // the harness's subtask 1 of 3
        writer.write("a", null);
        writer.write("b", null);
        harness.mailbox.whenIdle = stream::answerAll;
        writer.flush(true);
        assertEquals(Collections.singleton("1"), stream.stored.keySet());
        assertEquals(Arrays.asList("a", "b"), stream.stored.get("1"));
    }

    private static List<String> texts(List<PutRecordsRequestEntry> entries) {
        List<String> texts = new ArrayList<>();
        for (PutRecordsRequestEntry entry : entries) {
            texts.add(entry.data().asUtf8String());
        }
        return texts;
    }

    private static List<List<String>> textsOf(List<List<PutRecordsRequestEntry>> requests) {
        List<List<String>> texts = new ArrayList<>();
        for (List<PutRecordsRequestEntry> request : requests) {
            texts.add(texts(request));
        }
        return texts;
    }

    private static List<PutRecordsRequestEntry> stateEntries(
            BufferedRequestState<PutRecordsRequestEntry> state) {
        List<PutRecordsRequestEntry> entries = new ArrayList<>();
        state.getBufferedRequestEntries().forEach(wrapper -> entries.add(wrapper.getRequestEntry()));
        return entries;
    }
}
