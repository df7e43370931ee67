package io.pyflinkkinesis.source.reader.fanout;

import io.pyflinkkinesis.source.config.SourceOptions;
import io.pyflinkkinesis.source.efo.FakeKinesisAsync;
import io.pyflinkkinesis.source.efo.FakeKinesisAsync.Stream;
import io.pyflinkkinesis.source.efo.StreamConsumerRegistrar;
import io.pyflinkkinesis.source.metrics.RecordingMetricGroup;
import io.pyflinkkinesis.source.split.ShardSplit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsAddition;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.exception.SdkClientException;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ChildShard;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ConsumerStatus;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ResourceNotFoundException;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ShardIteratorType;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.SubscribeToShardEvent;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static io.pyflinkkinesis.source.metrics.RecordingMetricGroup.lagOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The EFO reader against a fake async client: kinesis-mock cannot end a subscription, fail it
 * with a chosen error or hold it before it starts on demand; the e2e tests cover the rest.
 */
class FanOutShardSplitReaderTest {

    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    /** System.nanoTime may be negative: the reader compares differences only. */
    private final AtomicLong clock = new AtomicLong(-TimeUnit.HOURS.toNanos(1));
    private FakeKinesisAsync kinesis;
    private FanOutShardSplitReader reader;
    private final RecordingMetricGroup metrics = new RecordingMetricGroup();

    @BeforeEach
    void setUp() {
        kinesis = new FakeKinesisAsync();
        kinesis.statuses.add(ConsumerStatus.ACTIVE);
        Configuration config = new Configuration();
        config.set(SourceOptions.EFO_CONSUMER_NAME, "c");
        reader = new FanOutShardSplitReader(kinesis,
                new StreamConsumerRegistrar(kinesis, ARN, config, d -> { }), metrics, TIMEOUT,
                true, clock::get);
    }

    private void add(String... shardIds) {
        List<ShardSplit> splits = new ArrayList<>();
        for (String shardId : shardIds) {
            splits.add(new ShardSplit(ARN, shardId, StartingPosition.fromStart(),
                    Collections.emptySet(), null, null));
        }
        reader.handleSplitsChanges(new SplitsAddition<>(splits));
    }

    private static Record record(int n) {
        return Record.builder().sequenceNumber(String.valueOf(n)).partitionKey("k")
                .approximateArrivalTimestamp(Instant.EPOCH).build();
    }

    private static SubscribeToShardEvent event(String continuation, int... numbers) {
        return event(0L, continuation, numbers);
    }

    private static SubscribeToShardEvent event(long lag, String continuation, int... numbers) {
        List<Record> records = new ArrayList<>();
        for (int n : numbers) {
            records.add(record(n));
        }
        SubscribeToShardEvent.Builder event = SubscribeToShardEvent.builder().records(records)
                .continuationSequenceNumber(continuation).millisBehindLatest(lag);
        if (continuation == null) {
            event.childShards(ChildShard.builder().shardId("child").build());
        }
        return event.build();
    }

    /** What one fetch hands over: "shard:seq" per record, "shard:finished" per finish. */
    private List<String> fetch() {
        RecordsWithSplitIds<Record> batch = reader.fetch();
        List<String> out = new ArrayList<>();
        for (String split = batch.nextSplit(); split != null; split = batch.nextSplit()) {
            for (Record r = batch.nextRecordFromSplit(); r != null;
                    r = batch.nextRecordFromSplit()) {
                out.add(split + ":" + r.sequenceNumber());
            }
        }
        for (String split : batch.finishedSplits()) {
            out.add(split + ":finished");
        }
        return out;
    }

    @Test
    void handsEventsOverInOrderAndRenewsAnEndedSubscriptionAfterTheLastRecord() {
        add("s0");
        assertEquals(Collections.emptyList(), fetch());
        Stream first = kinesis.stream(0).start();
        assertEquals(ShardIteratorType.TRIM_HORIZON, first.request.startingPosition().type());
        fetch();
        assertEquals(1, first.requested);
        first.emit(event("2", 1, 2));
        assertEquals(Arrays.asList("s0:1", "s0:2"), fetch());
        assertEquals(1, first.requested);  // the next event asked for once this one was taken

        first.complete();  // AWS ends every subscription after 5 minutes
        assertEquals(Collections.emptyList(), fetch());
        assertEquals(2, kinesis.subscriptions());
        Stream second = kinesis.stream(1).start();
        assertEquals(ShardIteratorType.AFTER_SEQUENCE_NUMBER,
                second.request.startingPosition().type());
        assertEquals("2", second.request.startingPosition().sequenceNumber());
        fetch();
        second.emit(event("3", 3));
        assertEquals(Arrays.asList("s0:3"), fetch());
    }

    @Test
    void aShardsEndIsReportedOnceAfterItsLastRecordsAndItIsNotSubscribedAgain() {
        add("s0");
        fetch();
        Stream stream = kinesis.stream(0).start();
        fetch();
        stream.emit(event(null, 7, 8));
        assertEquals(Arrays.asList("s0:7", "s0:8", "s0:finished"), fetch());
        assertTrue(stream.cancelled);
        stream.complete();
        assertEquals(Collections.emptyList(), fetch());
        assertEquals(Collections.emptyList(), fetch());
        assertEquals(1, kinesis.subscriptions());
    }

    @Test
    void aPausedShardIsNotAskedForEventsUntilResumed() {
        add("s0", "s1");
        fetch();
        Stream s0 = kinesis.stream(0).start();
        Stream s1 = kinesis.stream(1).start();
        fetch();
        ShardSplit paused = new ShardSplit(ARN, "s0", StartingPosition.fromStart(),
                Collections.emptySet(), null, null);
        s0.emit(event("1", 1));
        reader.pauseOrResumeSplits(Arrays.asList(paused), Collections.emptyList());
        s1.emit(event("5", 5));
        assertEquals(Arrays.asList("s1:5"), fetch());
        assertEquals(Collections.emptyList(), fetch());
        assertEquals(0, s0.requested);  // its delivered event is held, nothing more asked
        assertEquals(1, s1.requested);

        reader.pauseOrResumeSplits(Collections.emptyList(), Arrays.asList(paused));
        assertEquals(Arrays.asList("s0:1"), fetch());
        assertEquals(1, s0.requested);
    }

    @Test
    void aFailedSubscriptionIsRetriedAfterABackOffFromWhereItWas() {
        add("s0");
        fetch();
        Stream first = kinesis.stream(0).start();
        fetch();
        first.emit(event("4", 4));
        assertEquals(Arrays.asList("s0:4"), fetch());
        first.fail(SdkClientException.create("connection reset"));
        fetch();
        assertEquals(1, kinesis.subscriptions());  // waits for the back-off
        clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(FanOutShardSplitReader.MIN_BACKOFF_MILLIS));
        fetch();
        assertEquals(2, kinesis.subscriptions());
        assertEquals("4", kinesis.stream(1).request.startingPosition().sequenceNumber());
    }

    @Test
    void aSubscriptionThatDoesNotStartWithinTheTimeoutIsCancelledAndStartedAgain() {
        add("s0");
        fetch();
        Stream stuck = kinesis.stream(0);
        clock.addAndGet(TIMEOUT.toNanos() + 1);
        fetch();
        assertTrue(stuck.call.isCancelled());
        clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(FanOutShardSplitReader.MIN_BACKOFF_MILLIS));
        fetch();
        assertEquals(2, kinesis.subscriptions());
        stuck.start();  // late: its stream is refused
        assertTrue(stuck.cancelled);
    }

    @Test
    void aMissingResourceFailsTheReaderAtOnceSayingWhatToCheck() {
        add("s0");
        fetch();
        kinesis.stream(0).fail(ResourceNotFoundException.builder()
                .message("Consumer c not found").build());
        IllegalStateException error = assertThrows(IllegalStateException.class, this::fetch);
        assertTrue(error.getMessage().contains("shard s0 with EFO consumer 'c'"),
                error.getMessage());
        assertTrue(error.getMessage().contains("Consumer c not found"), error.getMessage());
    }

    @Test
    void failuresInARowBeyondTheLimitFailTheReader() {
        add("s0");
        fetch();
        for (int i = 0; i < FanOutShardSplitReader.MAX_FAILURES; i++) {
            kinesis.stream(i).fail(SdkClientException.create("reset " + i));
            fetch();
            clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(
                    FanOutShardSplitReader.MAX_BACKOFF_MILLIS));
            fetch();
        }
        kinesis.stream(FanOutShardSplitReader.MAX_FAILURES).fail(
                SdkClientException.create("reset again"));
        IllegalStateException error = assertThrows(IllegalStateException.class, this::fetch);
        assertTrue(error.getMessage().contains("reset again"), error.getMessage());
    }

    @Test
    void aClosedDrainedShardWhoseSubscriptionNeverSaysSoIsFinished() {
        add("s0");
        fetch();
        Stream stream = kinesis.stream(0).start();
        fetch();
        stream.emit(event("3", 3));
        assertEquals(Arrays.asList("s0:3"), fetch());
        clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(
                FanOutShardSplitReader.END_CHECK_INTERVAL_MILLIS));
        assertEquals(Collections.emptyList(), fetch());  // open: GetRecords gives a next iterator
        assertFalse(stream.cancelled);
        kinesis.drained = true;
        clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(
                FanOutShardSplitReader.END_CHECK_INTERVAL_MILLIS));
        fetch();
        assertEquals(Arrays.asList("s0:finished"), fetch());
        assertTrue(stream.cancelled);
    }

    @Test
    void closeCancelsSubscriptionsAndClosesTheClient() throws Exception {
        add("s0");
        fetch();
        Stream stream = kinesis.stream(0).start();
        fetch();
        reader.close();
        assertTrue(stream.cancelled);
        assertTrue(kinesis.closed);
    }

    @Test
    void handsALargeEventOverInPartsBeforeTheNextEvent() {
        add("s0");
        fetch();
        Stream stream = kinesis.stream(0).start();
        fetch();
        int[] numbers = new int[FanOutShardSplitReader.MAX_RECORDS_PER_FETCH + 1];
        Arrays.setAll(numbers, i -> i);
        stream.emit(event(String.valueOf(numbers.length - 1), numbers));
        assertEquals(FanOutShardSplitReader.MAX_RECORDS_PER_FETCH, fetch().size());
        stream.emit(event("900", 900));  // one event is fetched ahead ...
        assertEquals(Arrays.asList("s0:" + (numbers.length - 1)), fetch());
        assertEquals(0, stream.requested);  // ... and no more until it is taken
        assertEquals(Arrays.asList("s0:900"), fetch());
        assertEquals(1, stream.requested);
    }

    @Test
    void eachShardsLagIsTheLastEventsUntilItsEnd() throws Exception {
        add("s0", "s1");
        assertEquals(-1L, metrics.gauges().get(lagOf("s0")));
        fetch();
        Stream s0 = kinesis.stream(0).start();
        kinesis.stream(1).start();
        fetch();
        s0.emit(event(1500L, "2", 1, 2));
        fetch();
        assertEquals(1500L, metrics.gauges().get(lagOf("s0")));
        assertEquals(-1L, metrics.gauges().get(lagOf("s1")));

        s0.emit(event(0L, null, 3));
        while (!fetch().contains("s0:finished")) {
            assertTrue(metrics.gauges().containsKey(lagOf("s0")));
        }
        assertFalse(metrics.gauges().containsKey(lagOf("s0")));
        reader.close();
        assertEquals(Collections.emptyMap(), metrics.gauges());
    }
}
