package io.pyflinkkinesis.source.enumerator;

import io.pyflinkkinesis.exactlyonce.RecordId;
import io.pyflinkkinesis.exactlyonce.RecordId.WriterId;
import io.pyflinkkinesis.source.event.ShardsFinishedEvent;
import io.pyflinkkinesis.source.split.ShardMarks;
import io.pyflinkkinesis.source.split.ShardSplit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kinesis.source.config.KinesisStreamsSourceConfigConstants;
import org.apache.flink.connector.kinesis.source.config.KinesisStreamsSourceConfigConstants.InitialPosition;
import org.apache.flink.connector.kinesis.source.enumerator.KinesisShardAssigner;
import org.apache.flink.connector.kinesis.source.enumerator.assigner.ShardAssignerFactory;
import org.apache.flink.connector.kinesis.source.proxy.StreamProxy;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.HashKeyRange;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.SequenceNumberRange;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Shard;
import org.apache.flink.util.FlinkRuntimeException;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardEnumeratorTest {

    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
    private static final Instant NOW = Instant.parse("2026-01-02T03:04:05Z");

    /** Lists the shards the test put in {@code shards}. */
    private static final class FakeKinesis implements StreamProxy {
        final List<Shard> shards = new ArrayList<>();

        @Override
        public List<Shard> listShards(String streamArn, String lastSeenShardId) {
            return new ArrayList<>(shards);
        }

        @Override
        public GetRecordsResponse getRecords(String arn, String shardId, StartingPosition p) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void close() {
        }
    }

    private static Shard shard(String id, boolean closed, String... parents) {
        return Shard.builder()
                .shardId(id)
                .parentShardId(parents.length > 0 ? parents[0] : null)
                .adjacentParentShardId(parents.length > 1 ? parents[1] : null)
                .hashKeyRange(HashKeyRange.builder().startingHashKey("0").endingHashKey("9")
                        .build())
                .sequenceNumberRange(SequenceNumberRange.builder().startingSequenceNumber("1")
                        .endingSequenceNumber(closed ? "2" : null).build())
                .build();
    }

    private final FakeKinesis kinesis = new FakeKinesis();
    /** Where the test's assigner puts each shard (subtask 0 when not named). */
    private final Map<String, Integer> placement = new HashMap<>();
    private final KinesisShardAssigner byPlacement =
            (split, context) -> placement.getOrDefault(split.getShardId(), 0);
    private final Configuration config = new Configuration();

    {
        config.set(KinesisStreamsSourceConfigConstants.STREAM_INITIAL_POSITION,
                InitialPosition.TRIM_HORIZON);
    }

    private ShardEnumerator enumerator(
            FakeEnumeratorContext context, boolean checkpointing, EnumeratorState state) {
        return enumerator(context,
                checkpointing ? CheckpointMode.ALIGNED : CheckpointMode.NONE, state);
    }

    private ShardEnumerator enumerator(
            FakeEnumeratorContext context, CheckpointMode mode, EnumeratorState state) {
        ShardEnumerator enumerator = new ShardEnumerator(context, ARN, config, kinesis,
                byPlacement, () -> mode, () -> NOW, state);
        enumerator.start();
        return enumerator;
    }

    private static FakeEnumeratorContext readers(int parallelism) {
        FakeEnumeratorContext context = new FakeEnumeratorContext(parallelism);
        for (int i = 0; i < parallelism; i++) {
            context.register(i);
        }
        return context;
    }

    private static ShardsFinishedEvent finished(String... ids) {
        return new ShardsFinishedEvent(withoutMarks(ids), false);
    }

    private static ShardsFinishedEvent restoredFinished(String... ids) {
        return new ShardsFinishedEvent(withoutMarks(ids), true);
    }

    private static Map<String, ShardMarks> withoutMarks(String... ids) {
        Map<String, ShardMarks> marks = new TreeMap<>();
        for (String id : ids) {
            marks.put(id, new ShardMarks());
        }
        return marks;
    }

    @Test
    void assignsOnlyOnceEveryReaderRegisteredThenAtOnce() throws Exception {
        FakeEnumeratorContext context = new FakeEnumeratorContext(2);
        context.register(0);
        kinesis.shards.add(shard("a", false));
        kinesis.shards.add(shard("b", false));
        placement.put("b", 1);
        ShardEnumerator enumerator = enumerator(context, true, EnumeratorState.initial());
        context.runPeriodic();
        assertEquals(Collections.emptyList(), context.allAssigned());
        context.register(1);
        enumerator.addReader(1);
        assertEquals(Collections.singletonList("a"), context.assignedTo(0));
        assertEquals(Collections.singletonList("b"), context.assignedTo(1));
    }

    @Test
    void splitChildrenWaitForTheirParent() throws Exception {
        FakeEnumeratorContext context = readers(2);
        kinesis.shards.addAll(Arrays.asList(
                shard("p", true), shard("c1", false, "p"), shard("c2", false, "p")));
        ShardEnumerator enumerator = enumerator(context, true, EnumeratorState.initial());
        context.runPeriodic();
        assertEquals(Collections.singletonList("p"), context.allAssigned());
        context.runPeriodic();
        assertEquals(Collections.singletonList("p"), context.allAssigned());
        enumerator.handleSourceEvent(0, finished("p"));
        assertEquals(Arrays.asList("p", "c1", "c2"), context.assignedTo(0));
    }

    @Test
    void aChildForAnotherSubtaskWaitsForACheckpointTakenAfterTheFinish() throws Exception {
        FakeEnumeratorContext context = readers(2);
        kinesis.shards.addAll(Arrays.asList(
                shard("p", true), shard("same", false, "p"), shard("other", false, "p")));
        placement.put("other", 1);
        ShardEnumerator enumerator = enumerator(context, true, EnumeratorState.initial());
        context.runPeriodic();
        enumerator.snapshotState(4);
        enumerator.handleSourceEvent(0, finished("p"));
        // The same subtask may go on at once: its output keeps the order.
        assertEquals(Arrays.asList("p", "same"), context.assignedTo(0));
        assertEquals(Collections.emptyList(), context.assignedTo(1));
        enumerator.notifyCheckpointComplete(4);
        assertEquals(Collections.emptyList(), context.assignedTo(1), "checkpoint 4 came before");
        assertEquals(Collections.emptyList(), context.events);
        enumerator.snapshotState(5);
        assertEquals(Collections.emptyList(), context.assignedTo(1), "5 has not completed");
        enumerator.notifyCheckpointComplete(5);
        assertEquals(Collections.singletonList("other"), context.assignedTo(1));
        assertEquals(Collections.singletonList("0:FinishedShardsAckEvent{[p]}"), context.events);
    }

    @Test
    void aMergeOfParentsReadOnTwoSubtasksWaitsForBothAndTheCheckpoint() throws Exception {
        FakeEnumeratorContext context = readers(2);
        kinesis.shards.addAll(Arrays.asList(
                shard("p0", true), shard("p1", true), shard("m", false, "p0", "p1")));
        placement.put("p1", 1);
        ShardEnumerator enumerator = enumerator(context, true, EnumeratorState.initial());
        context.runPeriodic();
        enumerator.handleSourceEvent(0, finished("p0"));
        enumerator.snapshotState(1);
        enumerator.notifyCheckpointComplete(1);
        assertEquals(Collections.singletonList("p0"), context.assignedTo(0), "p1 is not done");
        enumerator.handleSourceEvent(1, finished("p1"));
        assertEquals(Collections.singletonList("p0"), context.assignedTo(0),
                "p1 was read on subtask 1, m goes to 0: wait for a checkpoint");
        enumerator.snapshotState(2);
        enumerator.notifyCheckpointComplete(2);
        assertEquals(Arrays.asList("p0", "m"), context.assignedTo(0));
    }

    @Test
    void aMergeOfParentsReadOnTheChildsSubtaskGoesOnAtOnce() throws Exception {
        FakeEnumeratorContext context = readers(2);
        kinesis.shards.addAll(Arrays.asList(
                shard("p0", true), shard("p1", true), shard("m", false, "p0", "p1")));
        placement.put("m", 1);
        placement.put("p0", 1);
        placement.put("p1", 1);
        ShardEnumerator enumerator = enumerator(context, true, EnumeratorState.initial());
        context.runPeriodic();
        enumerator.handleSourceEvent(1, finished("p1"));
        assertEquals(Arrays.asList("p0", "p1"), context.assignedTo(1));
        enumerator.handleSourceEvent(1, finished("p0"));
        assertEquals(Arrays.asList("p0", "p1", "m"), context.assignedTo(1));
    }

    @Test
    void withoutCheckpointingAChildGoesToItsParentsSubtaskAtOnce() throws Exception {
        FakeEnumeratorContext context = readers(3);
        kinesis.shards.addAll(Arrays.asList(shard("p", true), shard("c", false, "p"),
                shard("p0", true), shard("p1", true), shard("m", false, "p0", "p1")));
        placement.put("p", 1);
        placement.put("c", 2);
        placement.put("p0", 2);
        placement.put("p1", 1);
        placement.put("m", 0);
        ShardEnumerator enumerator = enumerator(context, false, EnumeratorState.initial());
        context.runPeriodic();
        enumerator.handleSourceEvent(1, finished("p"));
        assertEquals(Arrays.asList("p", "p1", "c"), context.assignedTo(1));
        assertEquals(Collections.singletonList("1:FinishedShardsAckEvent{[p]}"), context.events,
                "nothing to wait for: acknowledged at once");
        enumerator.handleSourceEvent(1, finished("p1"));
        enumerator.handleSourceEvent(2, finished("p0"));
        assertEquals(Arrays.asList("p0", "m"), context.assignedTo(2), "the lower parent's");
        assertEquals(Collections.emptyList(), context.assignedTo(0));
    }

    @Test
    void withUnalignedCheckpointsAChildGoesToItsParentsSubtaskAndIsAcknowledgedAfterOne()
            throws Exception {
        FakeEnumeratorContext context = readers(2);
        kinesis.shards.addAll(Arrays.asList(shard("p", true), shard("c", false, "p"),
                shard("q", true)));
        placement.put("p", 1);
        placement.put("d", 1);
        ShardEnumerator enumerator = enumerator(context, CheckpointMode.UNALIGNED,
                EnumeratorState.initial());
        context.runPeriodic();
        enumerator.handleSourceEvent(1, finished("p"));
        assertEquals(Arrays.asList("p", "c"), context.assignedTo(1), "c: p's subtask, at once");
        assertEquals(Collections.emptyList(), context.events, "acknowledged after a checkpoint");
        enumerator.snapshotState(1);
        enumerator.notifyCheckpointComplete(1);
        assertEquals(Collections.singletonList("1:FinishedShardsAckEvent{[p]}"), context.events);
        // A completed unaligned checkpoint does not put q's last records through the job: a
        // child found after it still goes to q's subtask, not where the assigner says.
        enumerator.handleSourceEvent(0, finished("q"));
        enumerator.snapshotState(2);
        enumerator.notifyCheckpointComplete(2);
        kinesis.shards.add(shard("d", false, "q"));
        context.runPeriodic();
        assertEquals(Arrays.asList("q", "d"), context.assignedTo(0));
    }

    @Test
    void repeatedAndRestoredReportsAreTakenOnce() throws Exception {
        FakeEnumeratorContext context = readers(2);
        kinesis.shards.addAll(Arrays.asList(shard("p", true), shard("c", false, "p")));
        placement.put("c", 1);
        ShardEnumerator enumerator = enumerator(context, true, EnumeratorState.initial());
        context.runPeriodic();
        enumerator.handleSourceEvent(0, finished("p"));
        enumerator.handleSourceEvent(0, finished("p"));
        assertEquals(Collections.emptyList(), context.assignedTo(1));
        enumerator.handleSourceEvent(0, restoredFinished("p"));
        enumerator.handleSourceEvent(0, restoredFinished("p"));
        enumerator.handleSourceEvent(0, finished("p"));
        assertEquals(Collections.singletonList("c"), context.assignedTo(1));
        assertEquals(Collections.singletonList("p"), context.assignedTo(0));
        assertEquals(Arrays.asList("0:FinishedShardsAckEvent{[p]}",
                "0:FinishedShardsAckEvent{[p]}", "0:FinishedShardsAckEvent{[p]}"),
                context.events);
    }

    private static final WriterId WRITER = new WriterId(7, 7);
    private static final BigInteger LOW_KEY = BigInteger.ONE;
    private static final BigInteger HIGH_KEY = BigInteger.valueOf(8);

    /** A finish report of {@code id} whose marks say sequence numbers up to {@code mark}. */
    private static ShardsFinishedEvent finishedWithMark(
            String id, long mark, long first, long last) {
        ShardMarks marks = new ShardMarks();
        marks.admit(new RecordId(WRITER, mark), BigInteger.valueOf(first), null, 0);
        return new ShardsFinishedEvent(Collections.singletonMap(id,
                marks.inheritance(BigInteger.valueOf(first), BigInteger.valueOf(last))), false);
    }

    /** Whether the split assigned for {@code id} lets sequence number {@code s} through. */
    private static boolean admits(FakeEnumeratorContext context, String id, long s,
            BigInteger hashKey) {
        return context.splits.get(id).getMarks().admit(new RecordId(WRITER, s), hashKey, null, 0);
    }

    @Test
    void aMergedChildGetsEachParentsMarksWithTheParentsRange() throws Exception {
        FakeEnumeratorContext context = readers(1);
        kinesis.shards.addAll(Arrays.asList(
                shard("p0", true), shard("p1", true), shard("m", false, "p0", "p1")));
        ShardEnumerator enumerator = enumerator(context, true, EnumeratorState.initial());
        context.runPeriodic();
        enumerator.handleSourceEvent(0, finishedWithMark("p0", 10, 0, 4));
        enumerator.handleSourceEvent(0, finishedWithMark("p1", 5, 5, 9));

        assertEquals(Arrays.asList("p0", "p1", "m"), context.assignedTo(0));
        assertFalse(admits(context, "m", 10, LOW_KEY));
        assertTrue(admits(context, "m", 7, HIGH_KEY), "7 never landed in p1");
        assertFalse(admits(context, "m", 5, HIGH_KEY));
        assertTrue(admits(context, "m", 11, LOW_KEY));
    }

    @Test
    void splitChildrenGetTheirParentsMarksAlsoAfterARestoreOfTheEnumerator() throws Exception {
        FakeEnumeratorContext context = readers(1);
        kinesis.shards.addAll(Arrays.asList(
                shard("p", true), shard("c1", false, "p"), shard("c2", false, "p")));
        EnumeratorStateSerializer serializer = new EnumeratorStateSerializer();
        ShardEnumerator enumerator = enumerator(context, true, EnumeratorState.initial());
        context.runPeriodic();
        enumerator.snapshotState(1);
        enumerator.handleSourceEvent(0, finishedWithMark("p", 10, 0, 9));
        for (String child : Arrays.asList("c1", "c2")) {
            assertFalse(admits(context, child, 10, HIGH_KEY), child);
            assertTrue(admits(context, child, 11, HIGH_KEY), child);
        }

        // Restored from a checkpoint taken before the children were assigned.
        EnumeratorState state = new EnumeratorState(true,
                Arrays.asList(context.splits.get("c1").withMarks(new ShardMarks()),
                        context.splits.get("c2").withMarks(new ShardMarks())),
                Collections.emptySet(), enumerator.snapshotState(2).getFinishedMarks());
        FakeEnumeratorContext restored = readers(1);
        enumerator(restored, true,
                serializer.deserialize(serializer.getVersion(), serializer.serialize(state)));
        restored.runPeriodic();
        assertEquals(Arrays.asList("c1", "c2"), restored.assignedTo(0));
        assertFalse(admits(restored, "c1", 10, LOW_KEY));
        assertTrue(admits(restored, "c2", 11, LOW_KEY));
    }

    @Test
    void stateRoundTripKeepsWhatIsFinishedAssignedAndWaiting() throws Exception {
        FakeEnumeratorContext context = readers(2);
        kinesis.shards.addAll(Arrays.asList(shard("p", true), shard("q", true),
                shard("c", false, "p"), shard("d", false, "q")));
        placement.put("c", 1);
        ShardEnumerator enumerator = enumerator(context, true, EnumeratorState.initial());
        context.runPeriodic();
        enumerator.handleSourceEvent(0, finished("p"));
        EnumeratorStateSerializer serializer = new EnumeratorStateSerializer();
        EnumeratorState state = enumerator.snapshotState(7);
        EnumeratorState copy = serializer.deserialize(serializer.getVersion(),
                serializer.serialize(state));
        assertEquals(state, copy);
        assertEquals(new HashSet<>(Collections.singletonList("p")), copy.getFinished());
        assertEquals(new HashSet<>(Collections.singletonList("q")), copy.getAssigned());
        assertEquals(2, copy.getUnassigned().size());

        // Restored: p's finish is in a completed checkpoint, so c goes at once; q is not
        // assigned again (its reader restores it), d still waits for q.
        FakeEnumeratorContext restored = readers(2);
        kinesis.shards.add(shard("new", false));
        ShardEnumerator again = enumerator(restored, true, copy);
        restored.runPeriodic();
        assertEquals(Collections.singletonList("c"), restored.assignedTo(1));
        assertEquals(Collections.singletonList("new"), restored.assignedTo(0));
        assertFalse(restored.allAssigned().contains("q"));
        assertFalse(restored.allAssigned().contains("d"));
        assertEquals(Collections.singleton("q"), again.snapshotState(8).getAssigned().isEmpty()
                ? null : Collections.singleton(again.snapshotState(9).getUnassigned().get(0)
                        .getParentShardIds().iterator().next()));
    }

    @Test
    void laterShardsStartAtTrimHorizon() throws Exception {
        config.set(KinesisStreamsSourceConfigConstants.STREAM_INITIAL_POSITION,
                InitialPosition.AT_TIMESTAMP);
        config.set(KinesisStreamsSourceConfigConstants.STREAM_INITIAL_TIMESTAMP, "1700000000");
        FakeEnumeratorContext context = new FakeEnumeratorContext(1);
        kinesis.shards.add(shard("a", false));
        ShardEnumerator enumerator = enumerator(context, true, EnumeratorState.initial());
        context.runPeriodic();
        kinesis.shards.add(shard("b", false));
        context.runPeriodic();
        Map<String, StartingPosition> starts = new HashMap<>();
        for (ShardSplit split : enumerator.snapshotState(1).getUnassigned()) {
            starts.put(split.getShardId(), split.getStartingPosition());
        }
        assertEquals(StartingPosition.fromTimestamp(Instant.ofEpochSecond(1700000000)),
                starts.get("a"));
        assertEquals(StartingPosition.fromStart(), starts.get("b"));
    }

    @Test
    void latestReadsOnlyOpenShardsFromTheListingTime() throws Exception {
        config.set(KinesisStreamsSourceConfigConstants.STREAM_INITIAL_POSITION,
                InitialPosition.LATEST);
        FakeEnumeratorContext context = new FakeEnumeratorContext(1);
        kinesis.shards.addAll(Arrays.asList(shard("p", true), shard("c", false, "p")));
        ShardEnumerator enumerator = enumerator(context, true, EnumeratorState.initial());
        context.runPeriodic();
        EnumeratorState state = enumerator.snapshotState(1);
        assertEquals(1, state.getUnassigned().size());
        assertEquals(StartingPosition.fromTimestamp(NOW),
                state.getUnassigned().get(0).getStartingPosition());
        assertEquals(Collections.singleton("p"), state.getFinished());
        context.register(0);
        enumerator.addReader(0);
        assertEquals(Collections.singletonList("c"), context.assignedTo(0));
    }

    @Test
    void trimHorizonReadsEveryShardParentsFirst() throws Exception {
        FakeEnumeratorContext context = readers(1);
        kinesis.shards.addAll(Arrays.asList(shard("p0", true), shard("p1", true),
                shard("m", true, "p0", "p1"), shard("c", false, "m")));
        ShardEnumerator enumerator = enumerator(context, true, EnumeratorState.initial());
        context.runPeriodic();
        assertEquals(Arrays.asList("p0", "p1"), context.assignedTo(0));
        enumerator.handleSourceEvent(0, finished("p0", "p1"));
        assertEquals(Arrays.asList("p0", "p1", "m"), context.assignedTo(0));
        enumerator.handleSourceEvent(0, finished("m"));
        assertEquals(Arrays.asList("p0", "p1", "m", "c"), context.assignedTo(0));
    }

    @Test
    void aParentNoLongerListedCountsAsFinishedAndFinishedShardsAreForgotten() throws Exception {
        FakeEnumeratorContext context = readers(2);
        kinesis.shards.addAll(Arrays.asList(shard("c", false, "expired"), shard("p", true)));
        placement.put("p", 1);
        ShardEnumerator enumerator = enumerator(context, true, EnumeratorState.initial());
        context.runPeriodic();
        assertEquals(Collections.singletonList("c"), context.assignedTo(0));
        enumerator.handleSourceEvent(1, finished("p"));
        enumerator.snapshotState(1);
        enumerator.notifyCheckpointComplete(1);
        assertEquals(Collections.singleton("p"), enumerator.snapshotState(2).getFinished());
        kinesis.shards.removeIf(shard -> shard.shardId().equals("p"));
        context.runPeriodic();
        assertEquals(Collections.emptySet(), enumerator.snapshotState(3).getFinished());
    }

    /**
     * FLINK-37627: the checkpoint was taken after the reader finished the parent but before the
     * enumerator heard of it. The reader's restored state re-reports it: the child is assigned
     * (not lost) and the parent is not read again.
     */
    @Test
    void aFinishMissingFromTheEnumeratorsCheckpointComesBackFromTheReader() throws Exception {
        FakeEnumeratorContext context = readers(2);
        kinesis.shards.addAll(Arrays.asList(shard("p", true), shard("c", false, "p")));
        placement.put("c", 1);
        ShardEnumerator enumerator = enumerator(context, true, EnumeratorState.initial());
        context.runPeriodic();
        EnumeratorState checkpoint = enumerator.snapshotState(3);
        assertEquals(Collections.singleton("p"), checkpoint.getAssigned());

        FakeEnumeratorContext restored = readers(2);
        ShardEnumerator again = enumerator(restored, true, checkpoint);
        restored.runPeriodic();
        assertEquals(Collections.emptyList(), restored.allAssigned());
        again.handleSourceEvent(0, restoredFinished("p"));
        assertEquals(Collections.singletonList("c"), restored.assignedTo(1));
        assertFalse(restored.allAssigned().contains("p"));
    }

    @Test
    void aReaderRestartedAloneReadsItsUnflushedFinishedShardsAgainBeforeTheirChildren()
            throws Exception {
        FakeEnumeratorContext context = readers(2);
        kinesis.shards.addAll(Arrays.asList(shard("p", true), shard("c", false, "p")));
        ShardEnumerator enumerator = enumerator(context, true, EnumeratorState.initial());
        context.runPeriodic();
        enumerator.snapshotState(1);
        enumerator.notifyCheckpointComplete(1);
        enumerator.handleSourceEvent(0, finished("p"));
        assertEquals(Arrays.asList("p", "c"), context.assignedTo(0));

        // Subtask 0 fails over from checkpoint 1 (p in its state, c assigned after it).
        ShardSplit c = new ShardSplit(ARN, "c", StartingPosition.fromStart(),
                Collections.singleton("p"), "0", "9");
        context.readers.remove(0);
        enumerator.addSplitsBack(Collections.singletonList(c), 0);
        context.register(0);
        enumerator.addReader(0);
        assertEquals(Arrays.asList("p", "c"), context.assignedTo(0), "c waits for p again");
        enumerator.handleSourceEvent(0, finished("p"));
        assertEquals(Arrays.asList("p", "c", "c"), context.assignedTo(0));
    }

    @Test
    void splitsAddedBackAreAssignedAgainAndTheirFinishForgotten() throws Exception {
        FakeEnumeratorContext context = readers(2);
        kinesis.shards.addAll(Arrays.asList(shard("p", true), shard("c", false, "p")));
        placement.put("c", 1);
        ShardEnumerator enumerator = enumerator(context, true, EnumeratorState.initial());
        context.runPeriodic();
        enumerator.handleSourceEvent(0, finished("p"));
        ShardSplit p = new ShardSplit(ARN, "p", StartingPosition.fromStart(),
                Collections.emptySet(), "0", "9");
        enumerator.addSplitsBack(Collections.singletonList(p), 0);
        assertEquals(Arrays.asList("p", "p"), context.assignedTo(0));
        enumerator.snapshotState(1);
        enumerator.notifyCheckpointComplete(1);
        assertEquals(Collections.emptyList(), context.assignedTo(1), "p is being read again");
        enumerator.handleSourceEvent(0, finished("p"));
        enumerator.snapshotState(2);
        enumerator.notifyCheckpointComplete(2);
        assertEquals(Collections.singletonList("c"), context.assignedTo(1));
    }

    @Test
    void failsTheJobOnlyAfterTenListingsFailedInARow() throws Exception {
        FakeEnumeratorContext context = readers(1);
        kinesis.shards.add(shard("a", false));
        enumerator(context, true, EnumeratorState.initial());
        RuntimeException gone = new RuntimeException("ResourceNotFoundException");
        for (int i = 0; i < ShardEnumerator.MAX_LISTING_FAILURES - 1; i++) {
            context.failPeriodic(gone);
        }
        context.runPeriodic();
        assertEquals(Collections.singletonList("a"), context.assignedTo(0));
        for (int i = 0; i < ShardEnumerator.MAX_LISTING_FAILURES - 1; i++) {
            context.failPeriodic(gone);
        }
        FlinkRuntimeException error = assertThrows(FlinkRuntimeException.class,
                () -> context.failPeriodic(gone));
        assertTrue(error.getMessage().contains("10 times in a row"), error.getMessage());
        assertEquals(gone, error.getCause());
    }

    @Test
    void theUniformAssignerSpreadsShards() throws Exception {
        FakeEnumeratorContext context = readers(2);
        kinesis.shards.addAll(Arrays.asList(shard("a", false), shard("b", false),
                shard("c", false), shard("d", false)));
        ShardEnumerator enumerator = new ShardEnumerator(context, ARN, config, kinesis,
                ShardAssignerFactory.uniformShardAssigner(), () -> CheckpointMode.ALIGNED,
                () -> NOW,
                EnumeratorState.initial());
        enumerator.start();
        context.runPeriodic();
        assertEquals(2, context.assignedTo(0).size());
        assertEquals(2, context.assignedTo(1).size());
        assertTrue(context.events.isEmpty());
    }
}
