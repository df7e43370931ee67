package io.pyflinkkinesis.source.split;

import org.apache.flink.api.connector.source.SourceSplit;
import org.apache.flink.connector.kinesis.source.split.KinesisShardSplit;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.util.Preconditions;

import java.util.Collections;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * One Kinesis shard to read: where to start, and the shards it came from.
 *
 * <p>The parent shard ids (one after a split, two after a merge) let the enumerator hold a shard
 * back until its parents are read to their end; the hash key range says which keys it holds.
 * A split marked {@link #isFinished() finished} is not read: it stands in a reader's checkpoint
 * for a shard the reader has read to its end but the enumerator has not yet acknowledged, so that
 * a restore reports it again instead of losing it.
 */
public final class ShardSplit implements SourceSplit {

    private final String streamArn;
    private final String shardId;
    private final StartingPosition startingPosition;
    private final Set<String> parentShardIds;
    private final String startingHashKey;
    private final String endingHashKey;
    private final boolean finished;

    public ShardSplit(
            String streamArn,
            String shardId,
            StartingPosition startingPosition,
            Set<String> parentShardIds,
            String startingHashKey,
            String endingHashKey,
            boolean finished) {
        this.streamArn = Preconditions.checkNotNull(streamArn, "streamArn");
        this.shardId = Preconditions.checkNotNull(shardId, "shardId");
        this.startingPosition = Preconditions.checkNotNull(startingPosition, "startingPosition");
        this.parentShardIds = Collections.unmodifiableSet(new TreeSet<>(parentShardIds));
        this.startingHashKey = startingHashKey;
        this.endingHashKey = endingHashKey;
        this.finished = finished;
    }

    /** A shard to read from {@code startingPosition}. */
    public ShardSplit(
            String streamArn,
            String shardId,
            StartingPosition startingPosition,
            Set<String> parentShardIds,
            String startingHashKey,
            String endingHashKey) {
        this(streamArn, shardId, startingPosition, parentShardIds, startingHashKey,
                endingHashKey, false);
    }

    @Override
    public String splitId() {
        return shardId;
    }

    public String getStreamArn() {
        return streamArn;
    }

    public String getShardId() {
        return shardId;
    }

    public StartingPosition getStartingPosition() {
        return startingPosition;
    }

    /** The shards this one was split or merged from (none for a shard of the stream's start). */
    public Set<String> getParentShardIds() {
        return parentShardIds;
    }

    /** The first hash key of the shard's range (decimal), or null when not known. */
    public String getStartingHashKey() {
        return startingHashKey;
    }

    /** The last hash key of the shard's range (decimal), or null when not known. */
    public String getEndingHashKey() {
        return endingHashKey;
    }

    /** Read to its end; kept in a reader's checkpoint until the enumerator acknowledges it. */
    public boolean isFinished() {
        return finished;
    }

    /** The same shard, to be read on from {@code position}. */
    public ShardSplit withStartingPosition(StartingPosition position) {
        return new ShardSplit(streamArn, shardId, position, parentShardIds, startingHashKey,
                endingHashKey, finished);
    }

    /** The same shard, marked as read to its end. */
    public ShardSplit asFinished() {
        return new ShardSplit(streamArn, shardId, startingPosition, parentShardIds,
                startingHashKey, endingHashKey, true);
    }

    /** The connector's split for this shard, as a {@code KinesisShardAssigner} takes it. */
    public KinesisShardSplit toKinesisShardSplit() {
        return new KinesisShardSplit(streamArn, shardId, startingPosition);
    }

    @Override
    public boolean equals(Object other) {
        if (!(other instanceof ShardSplit)) {
            return false;
        }
        ShardSplit that = (ShardSplit) other;
        return finished == that.finished
                && streamArn.equals(that.streamArn)
                && shardId.equals(that.shardId)
                && startingPosition.equals(that.startingPosition)
                && parentShardIds.equals(that.parentShardIds)
                && Objects.equals(startingHashKey, that.startingHashKey)
                && Objects.equals(endingHashKey, that.endingHashKey);
    }

    @Override
    public int hashCode() {
        return Objects.hash(streamArn, shardId, startingPosition, parentShardIds, finished);
    }

    @Override
    public String toString() {
        return "ShardSplit{shardId=" + shardId + ", startingPosition=" + startingPosition
                + ", parents=" + parentShardIds + (finished ? ", finished" : "") + "}";
    }
}
