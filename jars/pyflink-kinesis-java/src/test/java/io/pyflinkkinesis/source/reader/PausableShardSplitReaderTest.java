package io.pyflinkkinesis.source.reader;

import io.pyflinkkinesis.source.split.ShardSplit;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsAddition;
import org.apache.flink.connector.kinesis.source.proxy.StreamProxy;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Shard;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PausableShardSplitReaderTest {

    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s";

    /** Each shard holds records "<shard>:<n>", sequence numbers n; answers one per call. */
    private static final class FakeProxy implements StreamProxy {
        final Map<String, Integer> sizes = new HashMap<>();
        final Set<String> closedShards = new java.util.HashSet<>();
        final List<String> calls = new ArrayList<>();
        final List<StartingPosition> positions = new ArrayList<>();
        int perCall = 1;

        @Override
        public List<Shard> listShards(String streamArn, String lastSeenShardId) {
            return Collections.emptyList();
        }

        @Override
        public GetRecordsResponse getRecords(
                String streamArn, String shardId, StartingPosition position) {
            calls.add(shardId);
            positions.add(position);
            int next = position.getStartingMarker() == null
                    ? 0 : Integer.parseInt((String) position.getStartingMarker()) + 1;
            List<Record> records = new ArrayList<>();
            for (int n = next; n < Math.min(next + perCall, sizes.get(shardId)); n++) {
                records.add(Record.builder().sequenceNumber(String.valueOf(n))
                        .partitionKey("k").build());
            }
            boolean done = closedShards.contains(shardId) && next + perCall >= sizes.get(shardId);
            return GetRecordsResponse.builder().records(records)
                    .nextShardIterator(done ? null : "iterator").build();
        }

        @Override
        public void close() {
        }
    }

    private static ShardSplit split(String shardId) {
        return new ShardSplit(ARN, shardId, StartingPosition.fromStart(), Collections.emptySet(),
                null, null);
    }

    private static List<String> read(RecordsWithSplitIds<Record> batch) {
        List<String> out = new ArrayList<>();
        for (String split = batch.nextSplit(); split != null; split = batch.nextSplit()) {
            for (Record r = batch.nextRecordFromSplit(); r != null; r = batch.nextRecordFromSplit()) {
                out.add(split + ":" + r.sequenceNumber());
            }
        }
        return out;
    }

    @Test
    void readsShardsInTurnSkipsPausedOnesAndGoesOnWhereItLeftOffWhenResumed() {
        FakeProxy kinesis = new FakeProxy();
        kinesis.sizes.put("a", 10);
        kinesis.sizes.put("b", 10);
        PausableShardSplitReader reader = new PausableShardSplitReader(kinesis);
        reader.handleSplitsChanges(new SplitsAddition<>(Arrays.asList(split("a"), split("b"))));

        assertEquals(Collections.singletonList("a:0"), read(reader.fetch()));
        assertEquals(Collections.singletonList("b:0"), read(reader.fetch()));

        reader.pauseOrResumeSplits(Collections.singletonList(split("a")), Collections.emptyList());
        assertEquals(Collections.singletonList("b:1"), read(reader.fetch()));
        assertEquals(Collections.singletonList("b:2"), read(reader.fetch()));
        assertEquals(Collections.singleton("a"), reader.pausedSplitIds());

        reader.pauseOrResumeSplits(Collections.emptyList(), Collections.singletonList(split("a")));
        List<String> next = new ArrayList<>(read(reader.fetch()));
        next.addAll(read(reader.fetch()));
        assertEquals(Arrays.asList("a:1", "b:3"), next);
        assertTrue(reader.pausedSplitIds().isEmpty());
    }

    @Test
    void whenEveryShardIsPausedAFetchWaitsWithoutCallingKinesisUntilWokenUp() throws Exception {
        FakeProxy kinesis = new FakeProxy();
        kinesis.sizes.put("a", 10);
        PausableShardSplitReader reader = new PausableShardSplitReader(kinesis);
        reader.handleSplitsChanges(new SplitsAddition<>(Collections.singletonList(split("a"))));
        reader.pauseOrResumeSplits(Collections.singletonList(split("a")), Collections.emptyList());

        long start = System.nanoTime();
        assertEquals(Collections.emptyList(), read(reader.fetch()));
        long waitedMillis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(waitedMillis >= PausableShardSplitReader.ALL_PAUSED_WAIT_MILLIS - 10,
                "waited " + waitedMillis + " ms");

        reader.wakeUp();
        start = System.nanoTime();
        assertEquals(Collections.emptyList(), read(reader.fetch()));
        assertTrue((System.nanoTime() - start) / 1_000_000 < 50, "a woken-up fetch returns");
        assertTrue(kinesis.calls.isEmpty(), "a paused shard is not read: " + kinesis.calls);
    }

    @Test
    void aFinishedShardIsReportedOnceWithItsLastRecordsAndNotReadAgain() {
        FakeProxy kinesis = new FakeProxy();
        kinesis.sizes.put("closed", 2);
        kinesis.sizes.put("open", 10);
        kinesis.closedShards.add("closed");
        PausableShardSplitReader reader = new PausableShardSplitReader(kinesis);
        reader.handleSplitsChanges(
                new SplitsAddition<>(Arrays.asList(split("closed"), split("open"))));

        assertEquals(Collections.singletonList("closed:0"), read(reader.fetch()));
        reader.fetch();
        RecordsWithSplitIds<Record> last = reader.fetch();
        assertEquals(Collections.singleton("closed"), last.finishedSplits());
        assertEquals(Collections.singletonList("closed:1"), read(last));
        for (int i = 0; i < 3; i++) {
            assertTrue(reader.fetch().finishedSplits().isEmpty());
        }
        assertEquals(Arrays.asList("closed", "open", "closed", "open", "open", "open"),
                kinesis.calls);
        // Each call goes on after the last record read from the shard.
        assertEquals("0", kinesis.positions.get(2).getStartingMarker());
    }

    @Test
    void aLargeAnswerIsHandedOverInPartsAndAPauseStopsTheRestUntilResumed() {
        FakeProxy kinesis = new FakeProxy();
        kinesis.perCall = 12;
        kinesis.sizes.put("a", 100);
        PausableShardSplitReader reader = new PausableShardSplitReader(kinesis, 5, System::nanoTime);
        reader.handleSplitsChanges(new SplitsAddition<>(Collections.singletonList(split("a"))));

        assertEquals(Arrays.asList("a:0", "a:1", "a:2", "a:3", "a:4"), read(reader.fetch()));
        reader.pauseOrResumeSplits(Collections.singletonList(split("a")), Collections.emptyList());
        assertEquals(Collections.emptyList(), read(reader.fetch()));
        reader.pauseOrResumeSplits(Collections.emptyList(), Collections.singletonList(split("a")));
        assertEquals(Arrays.asList("a:5", "a:6", "a:7", "a:8", "a:9"), read(reader.fetch()));
        assertEquals(Arrays.asList("a:10", "a:11"), read(reader.fetch()));
        assertEquals(1, kinesis.calls.size(), "one GetRecords for the first 12 records");
        assertEquals(Arrays.asList("a:12", "a:13", "a:14", "a:15", "a:16"), read(reader.fetch()));
        assertEquals("11", kinesis.positions.get(1).getStartingMarker());
    }

    @Test
    void anIdleShardIsAskedAgainOnlyAfterTheIntervalWhileAShardWithRecordsIsReadAtOnce() {
        FakeProxy kinesis = new FakeProxy();
        kinesis.sizes.put("idle", 0);
        kinesis.sizes.put("busy", 100);
        long[] now = {0};
        PausableShardSplitReader reader = new PausableShardSplitReader(kinesis, 500, () -> now[0]);
        reader.handleSplitsChanges(
                new SplitsAddition<>(Arrays.asList(split("idle"), split("busy"))));

        for (int i = 0; i < 4; i++) {
            reader.fetch();
        }
        assertEquals(Arrays.asList("idle", "busy", "busy", "busy"), kinesis.calls);

        now[0] += java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(
                PausableShardSplitReader.EMPTY_SHARD_INTERVAL_MILLIS);
        reader.fetch();
        reader.fetch();
        assertEquals(Arrays.asList("idle", "busy", "busy", "busy", "idle", "busy"), kinesis.calls);
    }

    @Test
    void whenOnlyIdleShardsAreLeftAFetchWaitsForTheFirstToBeDue() {
        FakeProxy kinesis = new FakeProxy();
        kinesis.sizes.put("idle", 0);
        PausableShardSplitReader reader = new PausableShardSplitReader(kinesis);
        reader.handleSplitsChanges(new SplitsAddition<>(Collections.singletonList(split("idle"))));

        long start = System.nanoTime();
        while (kinesis.calls.size() < 3) {
            reader.fetch();
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(millis >= 2 * PausableShardSplitReader.EMPTY_SHARD_INTERVAL_MILLIS - 20,
                "3 calls to an idle shard took " + millis + " ms");
    }
}
