package io.pyflinkkinesis.consumer;

import org.apache.flink.streaming.connectors.kinesis.model.SequenceNumber;

import org.junit.jupiter.api.Test;

import static io.pyflinkkinesis.consumer.Shards.EARLIEST;
import static io.pyflinkkinesis.consumer.Shards.ENDING;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrackedShardStateTest {

    private final CheckpointClock clock = new CheckpointClock(true, 0);

    @Test
    void recordsEmittedAsTheyAreHandedOverFinishTheShardWhenItEnds() {
        TrackedShardState state = Shards.state(0, EARLIEST, clock);
        clock.snapshotted(3);

        state.handedOver();
        state.setLastProcessedSequenceNum(new SequenceNumber("1"));
        state.handedOver();
        state.setLastProcessedSequenceNum(new SequenceNumber("2"));
        assertFalse(state.isFinished());
        state.setLastProcessedSequenceNum(ENDING);

        assertTrue(state.isFinished());
        assertEquals(ENDING, state.getLastProcessedSequenceNum());
        assertEquals(4, state.safeAfter()); // ended after snapshot 3: checkpoint 4's barrier follows
    }

    @Test
    void withAWatermarkTrackerTheShardFinishesOnlyWhenItsQueuedRecordsAreEmitted() {
        TrackedShardState state = Shards.state(0, EARLIEST, clock);
        state.handedOver(); // both records queued for the tracker's emitter thread
        state.handedOver();
        state.setLastProcessedSequenceNum(new SequenceNumber("1")); // the first is emitted
        state.setLastProcessedSequenceNum(ENDING); // the shard thread reaches the end

        assertTrue(state.endReached());
        assertFalse(state.isFinished());
        assertEquals(new SequenceNumber("1"), state.getLastProcessedSequenceNum());

        clock.snapshotted(7);
        state.setLastProcessedSequenceNum(new SequenceNumber("2")); // the last one is emitted

        assertTrue(state.isFinished());
        assertEquals(ENDING, state.getLastProcessedSequenceNum()); // not overwritten
        assertEquals(8, state.safeAfter());
    }

    @Test
    void anEmptyShardFinishesWhenItEnds() {
        TrackedShardState state = Shards.state(0, EARLIEST, clock);

        state.setLastProcessedSequenceNum(ENDING);

        assertTrue(state.isFinished());
        assertEquals(1, state.safeAfter());
    }

    @Test
    void aShardRestoredAsEndedIsFinished() {
        assertTrue(Shards.state(0, ENDING, clock).isFinished());
        assertFalse(Shards.state(0, new SequenceNumber("5"), clock).isFinished());
    }

    @Test
    void aDrainedShardFinishesOnlyAtTheRecordItWasProbedAfter() {
        TrackedShardState state = Shards.state(0, EARLIEST, clock);
        state.handedOver();
        state.setLastProcessedSequenceNum(new SequenceNumber("1"));

        assertFalse(state.finishDrained(new SequenceNumber("0"))); // a record came since the probe
        assertFalse(state.isFinished());

        clock.snapshotted(2);
        assertTrue(state.finishDrained(new SequenceNumber("1")));
        assertTrue(state.isFinished());
        assertEquals(ENDING, state.getLastProcessedSequenceNum());
        assertEquals(3, state.safeAfter());

        state.setLastProcessedSequenceNum(ENDING); // the subscription ends after all
        assertTrue(state.isFinished());
        assertEquals(3, state.safeAfter());
    }

    @Test
    void aDrainedShardWithRecordsWaitingToBeEmittedIsNotFinished() {
        TrackedShardState state = Shards.state(0, EARLIEST, clock);
        state.handedOver();

        assertFalse(state.finishDrained(EARLIEST));
    }
}
