package io.pyflinkkinesis.consumer;

import org.apache.flink.streaming.connectors.kinesis.model.SentinelSequenceNumber;
import org.apache.flink.streaming.connectors.kinesis.model.SequenceNumber;
import org.apache.flink.streaming.connectors.kinesis.model.StreamShardHandle;

import org.junit.jupiter.api.Test;

import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static io.pyflinkkinesis.consumer.Shards.EARLIEST;
import static io.pyflinkkinesis.consumer.Shards.ENDING;
import static io.pyflinkkinesis.consumer.Shards.shard;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gate of a child shard read by subtask 0 of 2. Shard 0 splits into 2 and 3; shards 3 and 1
 * merge into 4. Subtask 1 stands for the other subtask; the JobManager is in memory.
 */
class ParentGateTest {

    /** Subtask 0's view of the job: its checkpoints, the JobManager, ListShards. */
    private static final class Job {
        final FakeAggregateManager jobManager = new FakeAggregateManager();
        final CheckpointClock clock;
        final Set<String> finishedInRestoredState = new HashSet<>();
        /** What ListShards answers, by shard number. */
        final Map<Integer, StreamShardHandle> listed = new HashMap<>();
        int listings;
        final ShardOrder order;

        Job(boolean checkpointing) {
            clock = new CheckpointClock(checkpointing, 0);
            for (int n = 0; n <= 4; n++) {
                listed.put(n, shard(n));
            }
            order = new ShardOrder(0, clock, finishedInRestoredState, board(0), stream -> {
                listings++;
                Map<String, StreamShardHandle> shards = new HashMap<>();
                listed.forEach((n, shard) -> shards.put(Shards.id(n), shard));
                return shards;
            }, shard -> shard.getShard().getShardId().endsWith("1") ? 1 : 0);
        }

        ShardBoard board(int subtask) {
            return new JobManagerShardBoard(jobManager, "board", subtask);
        }

        /** Shard {@code n} read by subtask 0 from its start. */
        TrackedShardState readHere(int n) {
            TrackedShardState state = Shards.state(n, EARLIEST, clock);
            order.register(state);
            return state;
        }
    }

    private final Job job = new Job(true);
    private final FakeAggregateManager jobManager = job.jobManager;
    private final CheckpointClock clock = job.clock;
    private final ShardOrder order = job.order;

    private ShardBoard board(int subtask) {
        return job.board(subtask);
    }

    @Test
    void aShardWithoutParentsOrAlreadyBeingReadDoesNotWait() {
        assertFalse(ShardOrder.waitsForParents(shard(0), EARLIEST));
        assertFalse(ShardOrder.waitsForParents(shard(2, 0), new SequenceNumber("49")));
        assertFalse(ShardOrder.waitsForParents(shard(2, 0),
                SentinelSequenceNumber.SENTINEL_LATEST_SEQUENCE_NUM.get()));
        assertTrue(ShardOrder.waitsForParents(shard(2, 0), EARLIEST));
        assertTrue(ShardOrder.waitsForParents(shard(2, 0),
                SentinelSequenceNumber.SENTINEL_AT_TIMESTAMP_SEQUENCE_NUM.get()));
    }

    @Test
    void aParentReadHereMustHaveEmittedItsLastRecord() throws Exception {
        TrackedShardState parent = job.readHere(0);
        ParentGate gate = order.gate(shard(2, 0));
        parent.handedOver();
        parent.setLastProcessedSequenceNum(ENDING); // the record still waits to be emitted

        assertFalse(gate.isOpen());

        parent.setLastProcessedSequenceNum(new SequenceNumber("1"));
        assertTrue(gate.isOpen());
        assertEquals(0, jobManager.calls); // no checkpoint and no JobManager needed
    }

    @Test
    void aParentReadElsewhereMustBeInACompletedCheckpoint() throws Exception {
        ParentGate gate = order.gate(shard(2, 0));
        assertFalse(gate.isOpen());

        board(1).finished(Shards.key(0), 5);
        clock.completed(4);
        assertFalse(gate.isOpen()); // checkpoint 4's barrier may precede the parent's records

        clock.completed(5);
        assertTrue(gate.isOpen());
        assertTrue(gate.isOpen()); // and stays open
    }

    @Test
    void withoutCheckpointsTheParentsPublicationIsEnough() throws Exception {
        Job withoutCheckpoints = new Job(false);
        ParentGate gate = withoutCheckpoints.order.gate(shard(2, 0));
        assertFalse(gate.isOpen());

        withoutCheckpoints.board(1).finished(Shards.key(0), 1);

        assertTrue(gate.isOpen());
    }

    @Test
    void aParentFinishedInTheRestoredCheckpointIsRead() throws Exception {
        job.finishedInRestoredState.add(Shards.key(0));

        assertTrue(order.gate(shard(2, 0)).isOpen());
        assertEquals(0, jobManager.calls);
        assertEquals(0, job.listings);
    }

    @Test
    void aMergedShardWaitsForBothParents() throws Exception {
        TrackedShardState here = job.readHere(3);
        ParentGate gate = order.gate(shard(4, 3, 1));
        here.setLastProcessedSequenceNum(ENDING);
        assertFalse(gate.isOpen()); // shard 1, read by subtask 1, is not finished

        board(1).finished(Shards.key(1), 2);
        clock.completed(2);
        assertTrue(gate.isOpen());

        ParentGate other = order.gate(shard(4, 1, 3));
        assertTrue(other.isOpen());
    }

    @Test
    void aParentNoLongerListedHasExpiredAndCountsAsRead() throws Exception {
        job.listed.remove(0);

        assertTrue(order.gate(shard(2, 0)).isOpen());
    }

    @Test
    void anEmptyListingSaysNothingAboutExpiry() throws Exception {
        job.listed.clear(); // the connector's proxy answers so while the stream is UPDATING

        assertFalse(order.gate(shard(2, 0)).isOpen());
    }

    @Test
    void aPublicationWithdrawnByARestartDoesNotOpenTheGate() throws Exception {
        ParentGate gate = order.gate(shard(2, 0));
        board(1).finished(Shards.key(0), 5);
        board(1).reopen(2, Collections.emptySet()); // subtask 1 restarts before checkpoint 5

        clock.completed(6);

        assertFalse(gate.isOpen());
    }

    @Test
    void theCompletedCheckpointIsReadBeforeTheBoard() throws Exception {
        ParentGate gate = order.gate(shard(2, 0));
        board(1).finished(Shards.key(0), 6);
        clock.completed(5);
        // Checkpoint 6 completes while the board answers: that answer may predate a restart's
        // withdrawal, which checkpoint 6 would have to follow, so it must not count for it.
        jobManager.duringCall = () -> clock.completed(6);

        assertFalse(gate.isOpen());

        jobManager.duringCall = () -> {};
        assertTrue(gate.isOpen()); // asked again after checkpoint 6, the word holds
    }

    @Test
    void theBoardIsAskedAgainOnlyAfterANewerCheckpointCompleted() throws Exception {
        ParentGate gate = order.gate(shard(2, 0));
        clock.completed(1);
        assertFalse(gate.isOpen());
        int calls = jobManager.calls;

        board(1).finished(Shards.key(0), 2);
        assertFalse(gate.isOpen());
        assertFalse(gate.isOpen());
        assertEquals(calls + 1, jobManager.calls); // the publication only

        clock.completed(2);
        assertTrue(gate.isOpen());
    }
}
