package io.pyflinkkinesis.consumer;

import org.apache.flink.kinesis.shaded.com.amazonaws.services.kinesis.model.Shard;
import org.apache.flink.streaming.connectors.kinesis.internals.KinesisDataFetcher;
import org.apache.flink.streaming.connectors.kinesis.model.KinesisStreamShardState;
import org.apache.flink.streaming.connectors.kinesis.model.SentinelSequenceNumber;
import org.apache.flink.streaming.connectors.kinesis.model.SequenceNumber;
import org.apache.flink.streaming.connectors.kinesis.model.StreamShardHandle;

/** Shards of stream "orders" for the tests. */
final class Shards {

    static final String STREAM = "orders";
    static final SequenceNumber EARLIEST =
            SentinelSequenceNumber.SENTINEL_EARLIEST_SEQUENCE_NUM.get();
    static final SequenceNumber ENDING =
            SentinelSequenceNumber.SENTINEL_SHARD_ENDING_SEQUENCE_NUM.get();

    private Shards() {}

    static String id(int n) {
        return String.format("shardId-%012d", n);
    }

    static String key(int n) {
        return STREAM + "/" + id(n);
    }

    /** Shard {@code n} with the given parents (shard numbers; none for an original shard). */
    static StreamShardHandle shard(int n, int... parents) {
        Shard shard = new Shard().withShardId(id(n));
        if (parents.length > 0) {
            shard.setParentShardId(id(parents[0]));
        }
        if (parents.length > 1) {
            shard.setAdjacentParentShardId(id(parents[1]));
        }
        return new StreamShardHandle(STREAM, shard);
    }

    /** The state of shard {@code n} read from {@code start}, tracked with {@code clock}. */
    static TrackedShardState state(int n, SequenceNumber start, CheckpointClock clock) {
        StreamShardHandle shard = shard(n);
        return new TrackedShardState(new KinesisStreamShardState(
                KinesisDataFetcher.convertToStreamShardMetadata(shard), shard, start), clock);
    }
}
