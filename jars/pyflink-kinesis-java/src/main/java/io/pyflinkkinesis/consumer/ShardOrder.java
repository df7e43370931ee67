package io.pyflinkkinesis.consumer;

import org.apache.flink.streaming.connectors.kinesis.model.SentinelSequenceNumber;
import org.apache.flink.streaming.connectors.kinesis.model.SequenceNumber;
import org.apache.flink.streaming.connectors.kinesis.model.StreamShardHandle;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToIntFunction;

/**
 * What one consumer subtask knows about which shards are read to their end, for the gates of
 * its child shards ({@link ParentGate}).
 *
 * <p>A parent counts as read, for a child of this subtask, when
 * <ul>
 *   <li>it is finished in the state this subtask restored (that checkpoint completed, so its
 *       records went through every operator);
 *   <li>this subtask reads it and has emitted its last record (one subtask's records reach each
 *       downstream channel in the order emitted);
 *   <li>another subtask published it finished on the {@link ShardBoard}, safe after checkpoint
 *       {@code n}, and this subtask has seen a checkpoint {@code >= n} complete: that
 *       checkpoint's barrier followed the parent's last record through every operator (Python
 *       bundles are finished and sinks flush at each checkpoint). Without checkpointing the
 *       publication alone counts, and records of parent and child may still cross downstream;
 *   <li>or ListShards no longer lists it (expired past the stream's retention).
 * </ul>
 */
final class ShardOrder {

    private static final Logger LOG = LoggerFactory.getLogger(ShardOrder.class);

    final int subtask;
    final CheckpointClock clock;
    final ShardBoard board;
    final ShardLister lister;
    private final Set<String> finishedInRestoredState;
    private final ToIntFunction<StreamShardHandle> owner;
    private final Map<String, TrackedShardState> here = new ConcurrentHashMap<>();

    /**
     * @param finishedInRestoredState keys of the shards finished in the restored union state
     * @param owner the subtask that reads a shard (the consumer's shard assigner)
     */
    ShardOrder(int subtask, CheckpointClock clock, Set<String> finishedInRestoredState,
            ShardBoard board, ShardLister lister, ToIntFunction<StreamShardHandle> owner) {
        this.subtask = subtask;
        this.clock = clock;
        this.finishedInRestoredState = finishedInRestoredState;
        this.board = board;
        this.lister = lister;
        this.owner = owner;
    }

    /** {@code stream/shardId}: a shard's name across subtasks. */
    static String key(StreamShardHandle shard) {
        return key(shard.getStreamName(), shard.getShard().getShardId());
    }

    static String key(String stream, String shardId) {
        return stream + "/" + shardId;
    }

    /** The parents of {@code shard} (none, one, or two after a merge). */
    static List<String> parents(StreamShardHandle shard) {
        List<String> parents = new ArrayList<>(2);
        if (shard.getShard().getParentShardId() != null) {
            parents.add(shard.getShard().getParentShardId());
        }
        if (shard.getShard().getAdjacentParentShardId() != null) {
            parents.add(shard.getShard().getAdjacentParentShardId());
        }
        return parents;
    }

    /**
     * Whether {@code shard}, read from {@code start}, must wait for its parents: not if it has
     * none, not if it starts at LATEST (its parents were closed before the job started, so they
     * have nothing after LATEST), not if it was already being read (restored at a sequence
     * number: its parents were read before).
     */
    static boolean waitsForParents(StreamShardHandle shard, SequenceNumber start) {
        return !parents(shard).isEmpty()
                && (start.equals(SentinelSequenceNumber.SENTINEL_EARLIEST_SEQUENCE_NUM.get())
                        || start.equals(
                                SentinelSequenceNumber.SENTINEL_AT_TIMESTAMP_SEQUENCE_NUM.get()));
    }

    /** This subtask reads the shard of {@code state}. */
    void register(TrackedShardState state) {
        here.put(state.key(), state);
    }

    /** The gate {@code child} waits at. */
    ParentGate gate(StreamShardHandle child) {
        return new ParentGate(this, child);
    }

    /** Tell the other subtasks that {@code state}'s shard is finished. */
    void publishFinished(TrackedShardState state) throws IOException {
        board.finished(state.key(), state.safeAfter());
        if (clock.isEnabled()) {
            LOG.info("Subtask {} read {} to its end: published, safe after checkpoint {}",
                    subtask, state.key(), state.safeAfter());
        } else {
            LOG.info("Subtask {} read {} to its end: published", subtask, state.key());
        }
    }

    boolean finishedInRestoredState(String key) {
        return finishedInRestoredState.contains(key);
    }

    /** This subtask's state of shard {@code key}, or null if another subtask reads it. */
    TrackedShardState stateHere(String key) {
        return here.get(key);
    }

    int owner(StreamShardHandle shard) {
        return owner.applyAsInt(shard);
    }
}
