package io.pyflinkkinesis.source.split;

import io.pyflinkkinesis.exactlyonce.HashKeyRange;
import io.pyflinkkinesis.exactlyonce.RecordId;
import io.pyflinkkinesis.exactlyonce.RecordId.WriterId;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;
import java.io.Serializable;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What a de-duplicating source has emitted from one shard, per committing-sink writer: marks,
 * each a hash key range and a sequence number ({@link RecordId}), stating that every record of
 * the writer with a hash key in the range and a sequence number at or below the mark has landed,
 * kept, in this shard or one of its ancestors. A shard sets its own marks and inherits its
 * parents' (narrowed to its range).
 *
 * <p>{@link #admit} decides for each user record with an id: dropped when a mark of its writer
 * holds its hash key at or above its sequence number; otherwise emitted, and the mark of its
 * intended shard's range (named by the committer in the aggregate) raised to it. The committer
 * writes one writer's records into each intended shard in id order, so what landed aimed at one
 * shard is a prefix of what was meant for it, while records aimed at different shards may land
 * interleaved in one child after a merge: hence a mark per intended range, not per shard. A
 * record without an intended range (another producer's aggregate, or marks restored from split
 * version 3) sets a mark for all keys. A mark whose range lies within a raised one and whose
 * number is not higher is dropped: the raised one says all it says. docs/design-dedup-marks.md
 * gives the cases and why the rule is right in each.
 *
 * <p>Each mark keeps the arrival time of the record that set it. A mark whose record arrived more
 * than {@link #RETENTION} before a record of a new writer read from the shard is dropped then
 * (stream time, not wall time, so a reader far behind the tip keeps what it still needs): a
 * committable re-sent that long after its first landing is no longer recognised.
 *
 * <p>Mutable: a split's state changes it while records are emitted; {@link ShardSplit} keeps a
 * copy of its own.
 */
public final class ShardMarks implements Serializable {

    private static final long serialVersionUID = 1L;

    /** A Kinesis stream's default retention; marks older than this (stream time) are dropped. */
    public static final Duration RETENTION = Duration.ofHours(24);

    /** A writer's mark for a range of hash keys, with the arrival time of its record. */
    private static final class Mark implements Serializable {
        private static final long serialVersionUID = 1L;

        /** The keys it speaks for; null for all keys. */
        final HashKeyRange range;
        long sequenceNumber;
        long arrivalMillis;

        Mark(HashKeyRange range, long sequenceNumber, long arrivalMillis) {
            this.range = range;
            this.sequenceNumber = sequenceNumber;
            this.arrivalMillis = arrivalMillis;
        }

        boolean covers(BigInteger hashKey) {
            return range == null || range.contains(hashKey);
        }

        /** Whether every key of this mark is a key of {@code other} (null: all keys). */
        boolean isWithin(HashKeyRange other) {
            return other == null || range != null && range.isWithin(other);
        }

        @Override
        public boolean equals(Object other) {
            if (!(other instanceof Mark)) {
                return false;
            }
            Mark that = (Mark) other;
            return Objects.equals(range, that.range) && sequenceNumber == that.sequenceNumber
                    && arrivalMillis == that.arrivalMillis;
        }

        @Override
        public int hashCode() {
            return Objects.hash(range, sequenceNumber, arrivalMillis);
        }

        @Override
        public String toString() {
            return (range == null ? "" : range.toString()) + sequenceNumber;
        }
    }

    private final Map<WriterId, List<Mark>> marks = new TreeMap<>();

    public ShardMarks() {
    }

    /** A deep copy. */
    public ShardMarks copy() {
        ShardMarks copy = new ShardMarks();
        marks.forEach((writer, own) -> own.forEach(mark -> copy.add(writer, mark)));
        return copy;
    }

    public boolean isEmpty() {
        return marks.isEmpty();
    }

    /**
     * Whether to emit the user record with {@code id}, hash key {@code hashKey}, meant for the
     * shard of range {@code intended} (null when unknown), that arrived at {@code
     * arrivalMillis}: false for a duplicate; true otherwise, and the mark of {@code intended} is
     * raised to it.
     */
    public boolean admit(RecordId id, BigInteger hashKey, HashKeyRange intended,
            long arrivalMillis) {
        WriterId writer = id.writer();
        long sequenceNumber = id.sequenceNumber();
        List<Mark> own = marks.get(writer);
        if (own == null) {
            expire(arrivalMillis);
            own = new ArrayList<>();
            marks.put(writer, own);
        }
        for (Mark mark : own) {
            if (mark.covers(hashKey) && sequenceNumber <= mark.sequenceNumber) {
                return false;
            }
        }
        HashKeyRange range = intended != null && intended.contains(hashKey) ? intended : null;
        own.removeIf(mark -> mark.isWithin(range) && mark.sequenceNumber <= sequenceNumber);
        own.add(new Mark(range, sequenceNumber, arrivalMillis));
        return true;
    }

    /** Drops the marks whose record arrived more than {@link #RETENTION} before {@code now}. */
    private void expire(long nowMillis) {
        long oldest = nowMillis - RETENTION.toMillis();
        for (Iterator<List<Mark>> it = marks.values().iterator(); it.hasNext(); ) {
            List<Mark> own = it.next();
            own.removeIf(mark -> mark.arrivalMillis < oldest);
            if (own.isEmpty()) {
                it.remove();
            }
        }
    }

    /**
     * What a child of this shard inherits from it: its marks narrowed to its range {@code
     * first}..{@code last} (null, null: unknown, all keys), which a grandparent's mark can be
     * wider than.
     */
    public ShardMarks inheritance(BigInteger first, BigInteger last) {
        HashKeyRange shard = first == null ? null : new HashKeyRange(first, last);
        ShardMarks child = new ShardMarks();
        marks.forEach((writer, own) -> {
            for (Mark mark : own) {
                HashKeyRange range = mark.range == null ? shard
                        : shard == null ? mark.range : mark.range.intersection(shard);
                if (range != null || mark.range == null) {
                    child.add(writer, new Mark(range, mark.sequenceNumber, mark.arrivalMillis));
                }
            }
        });
        return child;
    }

    /** Takes in a parent's {@link #inheritance} (a mark already held is not added twice). */
    public void inherit(ShardMarks parent) {
        parent.marks.forEach((writer, own) -> own.forEach(mark -> add(writer, mark)));
    }

    /** Adds a copy of {@code mark}, or raises the writer's mark of the same range to it. */
    private void add(WriterId writer, Mark mark) {
        List<Mark> own = marks.computeIfAbsent(writer, w -> new ArrayList<>());
        for (Mark held : own) {
            if (Objects.equals(held.range, mark.range)) {
                if (held.sequenceNumber < mark.sequenceNumber) {
                    held.sequenceNumber = mark.sequenceNumber;
                    held.arrivalMillis = mark.arrivalMillis;
                }
                return;
            }
        }
        own.add(new Mark(mark.range, mark.sequenceNumber, mark.arrivalMillis));
    }

    /** Writes the marks (the format of {@link ShardSplitSerializer} version 4). */
    public void write(DataOutputView out) throws IOException {
        out.writeInt(marks.size());
        for (Map.Entry<WriterId, List<Mark>> entry : marks.entrySet()) {
            writeWriter(entry.getKey(), out);
            out.writeInt(entry.getValue().size());
            for (Mark mark : entry.getValue()) {
                out.writeBoolean(mark.range != null);
                if (mark.range != null) {
                    out.writeUTF(mark.range.first().toString());
                    out.writeUTF(mark.range.last().toString());
                }
                out.writeLong(mark.sequenceNumber);
                out.writeLong(mark.arrivalMillis);
            }
        }
    }

    /** Reads marks written by {@link #write}. */
    public static ShardMarks read(DataInputView in) throws IOException {
        ShardMarks marks = new ShardMarks();
        marks.readRanged(in);
        return marks;
    }

    /**
     * Reads marks of split version 3: a mark per writer for the shard's own records, without a
     * range (read as a mark for all keys), then the inherited marks, each with its range.
     */
    public static ShardMarks readWithoutIntendedRanges(DataInputView in) throws IOException {
        ShardMarks marks = new ShardMarks();
        int writers = in.readInt();
        for (int i = 0; i < writers; i++) {
            marks.add(readWriter(in), new Mark(null, in.readLong(), in.readLong()));
        }
        marks.readRanged(in);
        return marks;
    }

    private void readRanged(DataInputView in) throws IOException {
        int writers = in.readInt();
        for (int i = 0; i < writers; i++) {
            WriterId writer = readWriter(in);
            int count = in.readInt();
            for (int j = 0; j < count; j++) {
                HashKeyRange range = in.readBoolean()
                        ? new HashKeyRange(new BigInteger(in.readUTF()),
                                new BigInteger(in.readUTF()))
                        : null;
                add(writer, new Mark(range, in.readLong(), in.readLong()));
            }
        }
    }

    private static void writeWriter(WriterId writer, DataOutputView out) throws IOException {
        out.writeLong(writer.high());
        out.writeLong(writer.low());
    }

    private static WriterId readWriter(DataInputView in) throws IOException {
        return new WriterId(in.readLong(), in.readLong());
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ShardMarks && marks.equals(((ShardMarks) other).marks);
    }

    @Override
    public int hashCode() {
        return marks.hashCode();
    }

    /** Writers, ranges and sequence numbers only: no payload, nothing secret. */
    @Override
    public String toString() {
        StringBuilder text = new StringBuilder("{");
        marks.forEach((writer, own) -> text.append(writer).append(':').append(own).append(", "));
        if (text.length() > 1) {
            text.setLength(text.length() - 2);
        }
        return text.append('}').toString();
    }
}
