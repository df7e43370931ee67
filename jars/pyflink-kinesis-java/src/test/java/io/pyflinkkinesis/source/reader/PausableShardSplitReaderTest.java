package io.pyflinkkinesis.source.reader;

import io.pyflinkkinesis.source.config.SourceOptions;
import io.pyflinkkinesis.source.metrics.RecordingMetricGroup;
import io.pyflinkkinesis.source.split.ShardSplit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsAddition;
import org.apache.flink.connector.kinesis.source.proxy.StreamProxy;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ProvisionedThroughputExceededException;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Shard;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static io.pyflinkkinesis.source.metrics.RecordingMetricGroup.lagOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PausableShardSplitReaderTest {

    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
    /** How long a test waits for something that should happen at once (a loaded CI machine). */
    private static final long PATIENCE_MILLIS = 10_000;

    /**
     * Each shard holds records with sequence numbers 0, 1, ...; answers {@code perCall} records
     * a call, {@code millisBehindLatest} 1000 per record left after the answer. A call blocks
     * while {@code gated} is set, until released.
     */
    private static final class FakeProxy implements StreamProxy {
        final Map<String, Integer> sizes = new HashMap<>();
        final Set<String> closedShards = new HashSet<>();
        final List<String> calls = new ArrayList<>();
        final List<StartingPosition> positions = new ArrayList<>();
        volatile int perCall = 1;
        /** When set, every answer says 0 ms behind, as kinesalite's do. */
        volatile boolean reportsNoLag;
        /** How many of the next calls are throttled. */
        int throttles;
        boolean gated;
        int inFlight;
        int maxInFlight;
        volatile boolean interrupted;
        volatile boolean closed;

        @Override
        public List<Shard> listShards(String streamArn, String lastSeenShardId) {
            return Collections.emptyList();
        }

        @Override
        public GetRecordsResponse getRecords(
                String streamArn, String shardId, StartingPosition position) {
            int size;
            synchronized (this) {
                calls.add(shardId);
                positions.add(position);
                size = sizes.get(shardId);
                inFlight++;
                maxInFlight = Math.max(maxInFlight, inFlight);
                notifyAll();
                while (gated) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        interrupted = true;
                        throw new IllegalStateException(e);
                    }
                }
                inFlight--;
                if (throttles > 0) {
                    throttles--;
                    throw ProvisionedThroughputExceededException.builder()
                            .message("Rate exceeded for shard " + shardId).build();
                }
            }
            int next = position.getStartingMarker() == null
                    ? 0 : Integer.parseInt((String) position.getStartingMarker()) + 1;
            int end = Math.min(next + perCall, size);
            List<Record> records = new ArrayList<>();
            for (int n = next; n < end; n++) {
                records.add(Record.builder().sequenceNumber(String.valueOf(n))
                        .partitionKey("k").build());
            }
            boolean done = closedShards.contains(shardId) && end >= size;
            return GetRecordsResponse.builder().records(records)
                    .millisBehindLatest(reportsNoLag ? 0L : 1000L * (size - end))
                    .nextShardIterator(done ? null : "iterator").build();
        }

        synchronized void release() {
            gated = false;
            notifyAll();
        }

        synchronized long callsTo(String shardId) {
            return calls.stream().filter(shardId::equals).count();
        }

        synchronized int inFlight() {
            return inFlight;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private final FakeProxy kinesis = new FakeProxy();
    private final RecordingMetricGroup metrics = new RecordingMetricGroup();
    private final Configuration config = new Configuration();
    private final List<PausableShardSplitReader> readers = new ArrayList<>();

    @AfterEach
    void closeReaders() throws Exception {
        kinesis.release();
        for (PausableShardSplitReader reader : readers) {
            reader.close();
        }
    }

    private PausableShardSplitReader reader(int maxRecordsPerFetch, LongSupplier clock,
            String... shardIds) {
        PausableShardSplitReader reader = new PausableShardSplitReader(
                kinesis, config, metrics, maxRecordsPerFetch, clock);
        readers.add(reader);
        List<ShardSplit> splits = Arrays.stream(shardIds).map(PausableShardSplitReaderTest::split)
                .collect(Collectors.toList());
        reader.handleSplitsChanges(new SplitsAddition<>(splits));
        return reader;
    }

    private PausableShardSplitReader reader(String... shardIds) {
        return reader(PausableShardSplitReader.MAX_RECORDS_PER_FETCH, System::nanoTime, shardIds);
    }

    private static ShardSplit split(String shardId) {
        return new ShardSplit(ARN, shardId, StartingPosition.fromStart(), Collections.emptySet(),
                null, null);
    }

    /** What fetches hand over: records by shard, and the shards reported finished, in order. */
    private static final class Received {
        final Map<String, List<Integer>> records = new TreeMap<>();
        final List<String> finished = new ArrayList<>();

        void add(RecordsWithSplitIds<Record> batch) {
            for (String split = batch.nextSplit(); split != null; split = batch.nextSplit()) {
                List<Integer> list = records.computeIfAbsent(split, s -> new ArrayList<>());
                for (Record r = batch.nextRecordFromSplit(); r != null;
                        r = batch.nextRecordFromSplit()) {
                    list.add(Integer.parseInt(r.sequenceNumber()));
                }
            }
            finished.addAll(batch.finishedSplits());
        }

        int count(String shardId) {
            return records.getOrDefault(shardId, Collections.emptyList()).size();
        }
    }

    /** Fetches until {@code done} holds (failing after the patience). */
    private static void fetchUntil(PausableShardSplitReader reader, Received received,
            BooleanSupplier done, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MILLIS);
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what
                    + "; received " + received.records + ", finished " + received.finished);
            received.add(reader.fetch());
        }
    }

    private static void waitFor(BooleanSupplier condition, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MILLIS);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(1);
        }
    }

    private static List<Integer> upTo(int count) {
        return IntStream.range(0, count).boxed().collect(Collectors.toList());
    }

    @Test
    void shardsAreReadConcurrentlyAtMostFetchThreadsCallsAtOnce() throws Exception {
        config.set(SourceOptions.FETCH_THREADS, 3);
        for (String shard : Arrays.asList("a", "b", "c", "d")) {
            kinesis.sizes.put(shard, 1);
        }
        kinesis.gated = true;
        PausableShardSplitReader reader = reader("a", "b", "c", "d");

        reader.fetch();
        waitFor(() -> kinesis.inFlight() == 3, "3 calls in flight at once");
        kinesis.release();
        Received received = new Received();
        fetchUntil(reader, received, () -> received.records.size() == 4, "a record of each shard");
        assertEquals(3, kinesis.maxInFlight, "never more calls at once than fetch threads");
    }

    @Test
    void eachShardsRecordsAreHandedOverInOrderWithoutGapsOrRepeats() throws Exception {
        kinesis.perCall = 37;
        List<String> shards = Arrays.asList("a", "b", "c", "d");
        shards.forEach(shard -> kinesis.sizes.put(shard, 1000));
        PausableShardSplitReader reader = reader(10, System::nanoTime, "a", "b", "c", "d");

        Received received = new Received();
        fetchUntil(reader, received,
                () -> shards.stream().allMatch(s -> received.count(s) >= 1000), "all records");
        for (String shard : shards) {
            assertEquals(upTo(1000), received.records.get(shard), shard);
        }
    }

    @Test
    void aPausedShardGetsNoCallsAndHandsNothingOverUntilResumedWhereItLeftOff() throws Exception {
        kinesis.perCall = 5;
        kinesis.sizes.put("a", 100_000);
        kinesis.sizes.put("b", 100_000);
        PausableShardSplitReader reader = reader(5, System::nanoTime, "a", "b");
        Received received = new Received();
        fetchUntil(reader, received, () -> received.count("a") >= 20, "records of a");

        reader.pauseOrResumeSplits(Collections.singletonList(split("a")), Collections.emptyList());
        assertEquals(Collections.singleton("a"), reader.pausedSplitIds());
        long callsToA = kinesis.callsTo("a");
        int handedOverOfA = received.count("a");
        int bBefore = received.count("b");
        fetchUntil(reader, received, () -> received.count("b") >= bBefore + 200, "b goes on");
        assertEquals(handedOverOfA, received.count("a"), "a paused shard hands nothing over");
        assertTrue(kinesis.callsTo("a") <= callsToA + 1,
                "at most the call in flight when paused: " + callsToA + " then "
                        + kinesis.callsTo("a"));

        reader.pauseOrResumeSplits(Collections.emptyList(), Collections.singletonList(split("a")));
        assertTrue(reader.pausedSplitIds().isEmpty());
        fetchUntil(reader, received, () -> received.count("a") >= handedOverOfA + 20, "a again");
        assertEquals(upTo(received.count("a")), received.records.get("a"));
    }

    @Test
    void whenEveryShardIsPausedAFetchWaitsWithoutCallingKinesisUntilWokenUp() throws Exception {
        kinesis.sizes.put("a", 10);
        PausableShardSplitReader reader = reader();
        reader.pauseOrResumeSplits(Collections.singletonList(split("a")), Collections.emptyList());
        reader.handleSplitsChanges(new SplitsAddition<>(Collections.singletonList(split("a"))));

        long start = System.nanoTime();
        Received received = new Received();
        received.add(reader.fetch());
        long waitedMillis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(waitedMillis >= PausableShardSplitReader.IDLE_WAIT_MILLIS - 10,
                "waited " + waitedMillis + " ms");

        reader.wakeUp();
        start = System.nanoTime();
        received.add(reader.fetch());
        assertTrue((System.nanoTime() - start) / 1_000_000 < 50, "a woken-up fetch returns");
        assertTrue(received.records.isEmpty());
        assertTrue(kinesis.calls.isEmpty(), "a paused shard is not read: " + kinesis.calls);
    }

    @Test
    void aFinishedShardIsReportedOnceAfterItsLastRecordsAndNotReadAgain() throws Exception {
        kinesis.sizes.put("closed", 2);
        kinesis.sizes.put("open", 1_000_000);
        kinesis.closedShards.add("closed");
        PausableShardSplitReader reader = reader("closed", "open");
        assertEquals(-1L, metrics.gauges().get(lagOf("closed")));

        Received received = new Received();
        fetchUntil(reader, received, () -> !received.finished.isEmpty(), "the end of closed");
        assertEquals(Arrays.asList(0, 1), received.records.get("closed"));
        int openBefore = received.count("open");
        fetchUntil(reader, received, () -> received.count("open") >= openBefore + 100, "open");
        assertEquals(Collections.singletonList("closed"), received.finished);
        assertEquals(2, kinesis.callsTo("closed"));
        // Each call goes on after the last record the shard's previous call returned.
        synchronized (kinesis) {
            int second = kinesis.calls.lastIndexOf("closed");
            assertEquals("0", kinesis.positions.get(second).getStartingMarker());
        }
        assertFalse(metrics.gauges().containsKey(lagOf("closed")), "its metrics go with it");
        assertTrue((Long) metrics.gauges().get(lagOf("open")) >= 0, "each answer sets the lag");
    }

    @Test
    void anIdleShardIsAskedAgainOnlyAfterTheIntervalWhileAShardWithRecordsIsReadAtOnce()
            throws Exception {
        config.set(SourceOptions.READER_EMPTY_RECORDS_FETCH_INTERVAL, Duration.ofSeconds(1));
        kinesis.sizes.put("idle", 0);
        kinesis.sizes.put("busy", 1_000_000);
        long[] now = {0};
        PausableShardSplitReader reader = reader(500, () -> now[0], "idle", "busy");

        Received received = new Received();
        fetchUntil(reader, received, () -> received.count("busy") >= 50, "50 records of busy");
        assertEquals(1, kinesis.callsTo("idle"));
        assertEquals(0L, metrics.gauges().get(lagOf("idle")), "an idle shard is not behind");

        now[0] += TimeUnit.MILLISECONDS.toNanos(999);
        fetchUntil(reader, received, () -> received.count("busy") >= 100, "50 more of busy");
        assertEquals(1, kinesis.callsTo("idle"));

        now[0] += TimeUnit.MILLISECONDS.toNanos(1);
        fetchUntil(reader, received, () -> kinesis.callsTo("idle") == 2, "idle asked again");
    }

    @Test
    void aShardAtTheTipIsAskedAgainOneIntervalAfterItsLastCallBeganEvenWithRecords()
            throws Exception {
        config.set(SourceOptions.READER_EMPTY_RECORDS_FETCH_INTERVAL, Duration.ofSeconds(1));
        kinesis.sizes.put("tip", 3);
        kinesis.perCall = 10;
        long[] now = {0};
        PausableShardSplitReader reader = reader(500, () -> now[0], "tip");

        Received received = new Received();
        fetchUntil(reader, received, () -> received.count("tip") == 3, "the 3 records");
        now[0] += TimeUnit.MILLISECONDS.toNanos(999);
        received.add(reader.fetch());
        assertEquals(1, kinesis.callsTo("tip"), "an answer that is not behind is not followed"
                + " at once, though it had records");

        now[0] += TimeUnit.MILLISECONDS.toNanos(1);
        fetchUntil(reader, received, () -> kinesis.callsTo("tip") == 2, "tip asked again");
    }

    @Test
    void anAnswerWithAsManyRecordsAsTheLimitIsFollowedAtOnceThoughItSaysNotBehind()
            throws Exception {
        config.set(SourceOptions.READER_EMPTY_RECORDS_FETCH_INTERVAL, Duration.ofSeconds(1));
        config.set(SourceOptions.SHARD_GET_RECORDS_MAX, 5);
        kinesis.sizes.put("backlog", 23);
        kinesis.perCall = 5;
        kinesis.reportsNoLag = true;
        PausableShardSplitReader reader = reader(500, () -> 0L, "backlog");

        Received received = new Received();
        fetchUntil(reader, received, () -> received.count("backlog") == 23,
                "the backlog, with the clock standing still");
        assertEquals(upTo(23), received.records.get("backlog"));
        assertEquals(5, kinesis.callsTo("backlog"), "4 full answers, then one of 3");
        received.add(reader.fetch());
        assertEquals(5, kinesis.callsTo("backlog"), "the last answer was not full");
    }

    @Test
    void aThrottledShardIsAskedAgainOneIntervalAfterTheCallBeganAndNothingIsLost()
            throws Exception {
        config.set(SourceOptions.READER_EMPTY_RECORDS_FETCH_INTERVAL, Duration.ofSeconds(1));
        kinesis.sizes.put("hot", 4);
        kinesis.perCall = 2;
        kinesis.throttles = 2;
        long[] now = {0};
        PausableShardSplitReader reader = reader(500, () -> now[0], "hot");

        Received received = new Received();
        fetchUntil(reader, received, () -> kinesis.callsTo("hot") == 1, "the first call");
        for (int throttled = 1; throttled <= 2; throttled++) {
            now[0] += TimeUnit.MILLISECONDS.toNanos(999);
            received.add(reader.fetch());
            assertEquals(throttled, kinesis.callsTo("hot"), "not asked again within the interval");
            now[0] += TimeUnit.MILLISECONDS.toNanos(1);
            int calls = throttled + 1;  // the call after the last throttle may start another
            fetchUntil(reader, received, () -> kinesis.callsTo("hot") >= calls,
                    "the call after throttle " + throttled);
        }
        fetchUntil(reader, received, () -> received.count("hot") == 4, "every record");
        assertEquals(upTo(4), received.records.get("hot"));
        assertEquals(Arrays.asList(null, null, null, "1"), kinesis.positions.stream()
                .map(p -> (String) p.getStartingMarker()).collect(Collectors.toList()),
                "a throttled call is made again from the same position");
    }

    @Test
    void aFetchWaitsUntilAShardIsDueRoundedUpNotBefore() throws Exception {
        config.set(SourceOptions.READER_EMPTY_RECORDS_FETCH_INTERVAL, Duration.ofMillis(200));
        kinesis.sizes.put("idle", 0);
        long[] now = {0};
        PausableShardSplitReader reader = reader(500, () -> now[0], "idle");
        reader.fetch();
        waitFor(() -> kinesis.callsTo("idle") == 1 && !reader.isReading("idle"), "the first call");

        now[0] = TimeUnit.MICROSECONDS.toNanos(198_400);
        assertEquals(2, reader.millisUntilAShardIsDue(), "1.6 ms to go: wake after it, not before");
        now[0] = TimeUnit.MICROSECONDS.toNanos(199_999);
        assertEquals(1, reader.millisUntilAShardIsDue());
        now[0] = TimeUnit.MILLISECONDS.toNanos(50);
        assertEquals(PausableShardSplitReader.IDLE_WAIT_MILLIS, reader.millisUntilAShardIsDue());
    }

    @Test
    void whenOnlyIdleShardsAreLeftAFetchWaitsForTheFirstToBeDue() throws Exception {
        config.set(SourceOptions.READER_EMPTY_RECORDS_FETCH_INTERVAL, Duration.ofMillis(50));
        kinesis.sizes.put("idle", 0);
        PausableShardSplitReader reader = reader("idle");

        long start = System.nanoTime();
        int fetches = 0;
        while (kinesis.callsTo("idle") < 3) {
            reader.fetch();
            fetches++;
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(millis >= 2 * 50 - 5, "3 calls to an idle shard took " + millis + " ms");
        assertTrue(fetches < 20, "a fetch waits rather than spins: " + fetches + " fetches");
    }

    @Test
    void closingLetsTheCallsInFlightFinishThenClosesTheClient() throws Exception {
        kinesis.sizes.put("a", 1);
        kinesis.gated = true;
        PausableShardSplitReader reader = reader("a");
        reader.fetch();
        waitFor(() -> kinesis.inFlight() == 1, "a call in flight");

        Thread closing = new Thread(() -> {
            try {
                reader.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        closing.start();
        waitFor(() -> closing.getState() == Thread.State.TIMED_WAITING, "close to wait");
        assertFalse(kinesis.closed, "the client stays open while a call is in flight");
        kinesis.release();
        closing.join(PATIENCE_MILLIS);
        assertFalse(kinesis.interrupted, "the call in flight was not interrupted");
        assertTrue(kinesis.closed);
    }
}
