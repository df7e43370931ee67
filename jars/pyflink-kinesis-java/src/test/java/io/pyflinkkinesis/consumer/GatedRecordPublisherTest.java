package io.pyflinkkinesis.consumer;

import org.apache.flink.streaming.connectors.kinesis.internals.publisher.RecordPublisher;
import org.apache.flink.streaming.connectors.kinesis.internals.publisher.RecordPublisher.RecordPublisherRunResult;

import org.junit.jupiter.api.Test;

import java.util.HashMap;

import static io.pyflinkkinesis.consumer.Shards.ENDING;
import static io.pyflinkkinesis.consumer.Shards.shard;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GatedRecordPublisherTest {

    private final CheckpointClock clock = new CheckpointClock(true, 0);
    private final ShardOrder order = new ShardOrder(0, clock, new java.util.HashSet<>(),
            new JobManagerShardBoard(new FakeAggregateManager(), "board", 0),
            stream -> new HashMap<>(), shard -> 0);
    private final TrackedShardState parent = Shards.state(0, Shards.EARLIEST, clock);
    private int opened;
    private int runs;

    private GatedRecordPublisher publisher() {
        order.register(parent);
        return new GatedRecordPublisher(order.gate(shard(2, 0)), () -> {
            opened++;
            return consumer -> {
                runs++;
                return RecordPublisherRunResult.COMPLETE;
            };
        });
    }

    @Test
    void readsNothingUntilTheParentsAreReadThenReadsThroughOnePublisher() throws Exception {
        GatedRecordPublisher publisher = publisher();

        assertEquals(RecordPublisherRunResult.INCOMPLETE, publisher.run(batch -> null));
        assertEquals(0, opened);

        parent.setLastProcessedSequenceNum(ENDING);
        assertEquals(RecordPublisherRunResult.COMPLETE, publisher.run(batch -> null));
        assertEquals(RecordPublisherRunResult.COMPLETE, publisher.run(batch -> null));
        assertEquals(1, opened);
        assertEquals(2, runs);
    }

    @Test
    void anInterruptWhileWaitingEndsTheWaitAndStaysSetForTheShardConsumer() throws Exception {
        RecordPublisher publisher = publisher();
        Thread.currentThread().interrupt();

        assertEquals(RecordPublisherRunResult.INCOMPLETE, publisher.run(batch -> null));
        assertTrue(Thread.interrupted());
    }
}
