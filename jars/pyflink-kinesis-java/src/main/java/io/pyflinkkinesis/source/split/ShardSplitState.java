package io.pyflinkkinesis.source.split;

import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.util.Preconditions;

/** A shard being read: its split and where reading goes on (after the last record emitted). */
public final class ShardSplitState {

    private final ShardSplit split;
    private StartingPosition nextStartingPosition;

    public ShardSplitState(ShardSplit split) {
        this.split = Preconditions.checkNotNull(split, "split");
        this.nextStartingPosition = split.getStartingPosition();
    }

    public String getSplitId() {
        return split.splitId();
    }

    public String getStreamArn() {
        return split.getStreamArn();
    }

    public String getShardId() {
        return split.getShardId();
    }

    public StartingPosition getNextStartingPosition() {
        return nextStartingPosition;
    }

    public void setNextStartingPosition(StartingPosition position) {
        this.nextStartingPosition = Preconditions.checkNotNull(position, "position");
    }

    /** The split to checkpoint: the same shard, starting where reading goes on. */
    public ShardSplit toSplit() {
        return split.withStartingPosition(nextStartingPosition);
    }
}
