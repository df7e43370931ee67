package io.pyflinkkinesis.source.split;

import org.apache.flink.api.connector.source.SourceSplit;
import org.apache.flink.connector.kinesis.source.split.KinesisShardSplit;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ShardIteratorType;
import org.apache.flink.util.Preconditions;

import java.math.BigInteger;
import java.util.Collections;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * One Kinesis shard to read: where to start, and the shards it came from.
 *
 * <p>Where to start is a Kinesis position and, after a KPL aggregate was read, the user record of
 * it emitted last ({@link #getSubSequenceNumber()}): a restore reads that aggregate again and
 * skips its user records up to that one. The parent shard ids (one after a split, two after a merge) let the enumerator hold a shard
 * back until its parents are read to their end; the hash key range says which keys it holds.
 * The marks ({@link ShardMarks}) are what a de-duplicating source emitted from it, per
 * committing-sink writer, and what it inherited from its parents.
 * A split marked {@link #isFinished() finished} is not read: it stands in a reader's checkpoint
 * for a shard the reader has read to its end but the enumerator has not yet acknowledged, so that
 * a restore reports it again instead of losing it.
 */
public final class ShardSplit implements SourceSplit {

    /** {@link #getSubSequenceNumber()} of a position after a whole Kinesis record. */
    public static final long NO_SUB_SEQUENCE_NUMBER = -1;

    private final String streamArn;
    private final String shardId;
    private final StartingPosition startingPosition;
    private final long subSequenceNumber;
    private final Set<String> parentShardIds;
    private final String startingHashKey;
    private final String endingHashKey;
    private final boolean finished;
    private final ShardMarks marks;

    ShardSplit(
            String streamArn,
            String shardId,
            StartingPosition startingPosition,
            long subSequenceNumber,
            Set<String> parentShardIds,
            String startingHashKey,
            String endingHashKey,
            boolean finished,
            ShardMarks marks) {
        this.streamArn = Preconditions.checkNotNull(streamArn, "streamArn");
        this.shardId = Preconditions.checkNotNull(shardId, "shardId");
        this.startingPosition = Preconditions.checkNotNull(startingPosition, "startingPosition");
        Preconditions.checkArgument(subSequenceNumber >= NO_SUB_SEQUENCE_NUMBER,
                "subSequenceNumber must be >= -1");
        Preconditions.checkArgument(subSequenceNumber == NO_SUB_SEQUENCE_NUMBER
                || startingPosition.getShardIteratorType()
                        == ShardIteratorType.AFTER_SEQUENCE_NUMBER,
                "a sub-sequence number needs a position after a sequence number");
        this.subSequenceNumber = subSequenceNumber;
        this.parentShardIds = Collections.unmodifiableSet(new TreeSet<>(parentShardIds));
        this.startingHashKey = startingHashKey;
        this.endingHashKey = endingHashKey;
        this.finished = finished;
        this.marks = marks.copy();
    }

    /** A shard to read from {@code startingPosition}. */
    public ShardSplit(
            String streamArn,
            String shardId,
            StartingPosition startingPosition,
            Set<String> parentShardIds,
            String startingHashKey,
            String endingHashKey) {
        this(streamArn, shardId, startingPosition, NO_SUB_SEQUENCE_NUMBER, parentShardIds,
                startingHashKey, endingHashKey, false, new ShardMarks());
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

    /**
     * The sub-sequence number of the last user record emitted of the KPL aggregate at the
     * starting position's sequence number, or {@link #NO_SUB_SEQUENCE_NUMBER} when the position
     * is after a whole record. Readers start at the starting position; the de-aggregating reader
     * reads the aggregate again and skips its user records up to this one.
     */
    public long getSubSequenceNumber() {
        return subSequenceNumber;
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

    /** A copy of the split's de-duplication marks (empty when none). */
    public ShardMarks getMarks() {
        return marks.copy();
    }

    /**
     * What this shard's children inherit from it: its marks with its hash key range (see
     * {@link ShardMarks#inheritance}).
     */
    public ShardMarks inheritance() {
        return marks.inheritance(
                startingHashKey == null ? null : new BigInteger(startingHashKey),
                endingHashKey == null ? null : new BigInteger(endingHashKey));
    }

    /** Read to its end; kept in a reader's checkpoint until the enumerator acknowledges it. */
    public boolean isFinished() {
        return finished;
    }

    /** The same shard, to be read on from {@code position} (after a whole record). */
    public ShardSplit withStartingPosition(StartingPosition position) {
        return withStartingPosition(position, NO_SUB_SEQUENCE_NUMBER);
    }

    /**
     * The same shard, to be read on from {@code position}, after user record {@code
     * subSequenceNumber} of the aggregate there ({@link #NO_SUB_SEQUENCE_NUMBER}: none).
     */
    public ShardSplit withStartingPosition(StartingPosition position, long subSequenceNumber) {
        return new ShardSplit(streamArn, shardId, position, subSequenceNumber, parentShardIds,
                startingHashKey, endingHashKey, finished, marks);
    }

    /** The same shard with {@code marks} (copied). */
    public ShardSplit withMarks(ShardMarks marks) {
        return new ShardSplit(streamArn, shardId, startingPosition, subSequenceNumber,
                parentShardIds, startingHashKey, endingHashKey, finished, marks);
    }

    /** The same shard, marked as read to its end. */
    public ShardSplit asFinished() {
        return new ShardSplit(streamArn, shardId, startingPosition, subSequenceNumber,
                parentShardIds, startingHashKey, endingHashKey, true, marks);
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
                && subSequenceNumber == that.subSequenceNumber
                && parentShardIds.equals(that.parentShardIds)
                && Objects.equals(startingHashKey, that.startingHashKey)
                && Objects.equals(endingHashKey, that.endingHashKey)
                && marks.equals(that.marks);
    }

    @Override
    public int hashCode() {
        return Objects.hash(streamArn, shardId, startingPosition, subSequenceNumber,
                parentShardIds, finished);
    }

    @Override
    public String toString() {
        return "ShardSplit{shardId=" + shardId + ", startingPosition=" + startingPosition
                + (subSequenceNumber == NO_SUB_SEQUENCE_NUMBER
                        ? "" : ", after user record " + subSequenceNumber)
                + ", parents=" + parentShardIds + (finished ? ", finished" : "")
                + (marks.isEmpty() ? "" : ", marks=" + marks) + "}";
    }
}
