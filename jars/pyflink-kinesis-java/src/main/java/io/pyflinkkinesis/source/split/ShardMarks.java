package io.pyflinkkinesis.source.split;

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
 * What a de-duplicating source has emitted from one shard, per committing-sink writer: the
 * highest sequence number ({@link RecordId}) emitted from this shard (its own marks), and the
 * marks its parent shards ended with, each with the parent's hash key range (inherited marks).
 *
 * <p>{@link #admit} decides for each user record with an id: dropped when its sequence number is
 * at or below the shard's own mark for its writer, or at or below an inherited mark of that
 * writer whose range holds the record's hash key; otherwise emitted and the own mark raised. The
 * committing sink writes one writer's records into a shard in id order, so a duplicate is always
 * at or below a mark. Inherited marks per range: after a merge the two parents' marks differ, and
 * a record re-sent into the child that never landed in the parent with the lower mark must pass.
 * Once the own mark of a writer is at or above all its inherited marks, those are dropped.
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

    /** The highest sequence number of one writer and the arrival time of its record. */
    private static final class Mark implements Serializable {
        private static final long serialVersionUID = 1L;

        long sequenceNumber;
        long arrivalMillis;

        Mark(long sequenceNumber, long arrivalMillis) {
            this.sequenceNumber = sequenceNumber;
            this.arrivalMillis = arrivalMillis;
        }
    }

    /** A parent's mark of one writer, for records whose hash key is in the parent's range. */
    private static final class Inherited implements Serializable {
        private static final long serialVersionUID = 1L;

        /** The range, first and last hash key; both null for a parent of unknown range. */
        final BigInteger first;
        final BigInteger last;
        final long sequenceNumber;
        final long arrivalMillis;

        Inherited(BigInteger first, BigInteger last, long sequenceNumber, long arrivalMillis) {
            this.first = first;
            this.last = last;
            this.sequenceNumber = sequenceNumber;
            this.arrivalMillis = arrivalMillis;
        }

        boolean covers(BigInteger hashKey) {
            return first == null || hashKey.compareTo(first) >= 0 && hashKey.compareTo(last) <= 0;
        }

        @Override
        public boolean equals(Object other) {
            if (!(other instanceof Inherited)) {
                return false;
            }
            Inherited that = (Inherited) other;
            return Objects.equals(first, that.first) && Objects.equals(last, that.last)
                    && sequenceNumber == that.sequenceNumber
                    && arrivalMillis == that.arrivalMillis;
        }

        @Override
        public int hashCode() {
            return Objects.hash(first, last, sequenceNumber, arrivalMillis);
        }

        @Override
        public String toString() {
            return (first == null ? "" : "[" + first + ".." + last + "]") + sequenceNumber;
        }
    }

    private final Map<WriterId, Mark> own = new TreeMap<>();
    private final Map<WriterId, List<Inherited>> inherited = new TreeMap<>();

    public ShardMarks() {
    }

    /** A deep copy. */
    public ShardMarks copy() {
        ShardMarks copy = new ShardMarks();
        own.forEach((writer, mark) ->
                copy.own.put(writer, new Mark(mark.sequenceNumber, mark.arrivalMillis)));
        inherited.forEach((writer, marks) -> copy.inherited.put(writer, new ArrayList<>(marks)));
        return copy;
    }

    public boolean isEmpty() {
        return own.isEmpty() && inherited.isEmpty();
    }

    /**
     * Whether to emit the user record with {@code id}, hash key {@code hashKey} that arrived at
     * {@code arrivalMillis}: false for a duplicate; true otherwise, and the writer's mark is
     * raised to it.
     */
    public boolean admit(RecordId id, BigInteger hashKey, long arrivalMillis) {
        WriterId writer = id.writer();
        long sequenceNumber = id.sequenceNumber();
        Mark mark = own.get(writer);
        if (mark != null && sequenceNumber <= mark.sequenceNumber) {
            return false;
        }
        List<Inherited> fromParents = inherited.get(writer);
        long highestInherited = -1;
        if (fromParents != null) {
            for (Inherited parent : fromParents) {
                if (parent.covers(hashKey) && sequenceNumber <= parent.sequenceNumber) {
                    return false;
                }
                highestInherited = Math.max(highestInherited, parent.sequenceNumber);
            }
        }
        if (mark == null) {
            expire(arrivalMillis);
            own.put(writer, new Mark(sequenceNumber, arrivalMillis));
        } else {
            mark.sequenceNumber = sequenceNumber;
            mark.arrivalMillis = arrivalMillis;
        }
        if (fromParents != null && sequenceNumber >= highestInherited) {
            inherited.remove(writer);
        }
        return true;
    }

    /** Drops the marks whose record arrived more than {@link #RETENTION} before {@code now}. */
    private void expire(long nowMillis) {
        long oldest = nowMillis - RETENTION.toMillis();
        own.values().removeIf(mark -> mark.arrivalMillis < oldest);
        for (Iterator<List<Inherited>> it = inherited.values().iterator(); it.hasNext(); ) {
            List<Inherited> marks = it.next();
            marks.removeIf(mark -> mark.arrivalMillis < oldest);
            if (marks.isEmpty()) {
                it.remove();
            }
        }
    }

    /**
     * What a child of this shard inherits from it: its own marks, with the range {@code
     * first}..{@code last} (null, null: unknown, all keys), and its inherited marks narrowed to
     * that range (a grandparent's range can be wider than this shard's).
     */
    public ShardMarks inheritance(BigInteger first, BigInteger last) {
        ShardMarks child = new ShardMarks();
        own.forEach((writer, mark) -> child.add(writer,
                new Inherited(first, last, mark.sequenceNumber, mark.arrivalMillis)));
        inherited.forEach((writer, marks) -> {
            for (Inherited mark : marks) {
                BigInteger from = max(mark.first, first);
                BigInteger to = min(mark.last, last);
                if (from == null || from.compareTo(to) <= 0) {
                    child.add(writer,
                            new Inherited(from, to, mark.sequenceNumber, mark.arrivalMillis));
                }
            }
        });
        return child;
    }

    /** Takes in a parent's {@link #inheritance} (an entry already held is not added twice). */
    public void inherit(ShardMarks parent) {
        parent.inherited.forEach((writer, marks) -> marks.forEach(mark -> add(writer, mark)));
    }

    private void add(WriterId writer, Inherited mark) {
        List<Inherited> marks = inherited.computeIfAbsent(writer, w -> new ArrayList<>());
        if (!marks.contains(mark)) {
            marks.add(mark);
        }
    }

    /** With a null bound meaning "unbounded": the larger of two lower bounds. */
    private static BigInteger max(BigInteger a, BigInteger b) {
        return a == null ? b : b == null ? a : a.max(b);
    }

    private static BigInteger min(BigInteger a, BigInteger b) {
        return a == null ? b : b == null ? a : a.min(b);
    }

    /** Writes the marks (the format of {@link ShardSplitSerializer} version 3). */
    public void write(DataOutputView out) throws IOException {
        out.writeInt(own.size());
        for (Map.Entry<WriterId, Mark> entry : own.entrySet()) {
            writeWriter(entry.getKey(), out);
            out.writeLong(entry.getValue().sequenceNumber);
            out.writeLong(entry.getValue().arrivalMillis);
        }
        out.writeInt(inherited.size());
        for (Map.Entry<WriterId, List<Inherited>> entry : inherited.entrySet()) {
            writeWriter(entry.getKey(), out);
            out.writeInt(entry.getValue().size());
            for (Inherited mark : entry.getValue()) {
                out.writeBoolean(mark.first != null);
                if (mark.first != null) {
                    out.writeUTF(mark.first.toString());
                    out.writeUTF(mark.last.toString());
                }
                out.writeLong(mark.sequenceNumber);
                out.writeLong(mark.arrivalMillis);
            }
        }
    }

    /** Reads marks written by {@link #write}. */
    public static ShardMarks read(DataInputView in) throws IOException {
        ShardMarks marks = new ShardMarks();
        int ownCount = in.readInt();
        for (int i = 0; i < ownCount; i++) {
            marks.own.put(readWriter(in), new Mark(in.readLong(), in.readLong()));
        }
        int writers = in.readInt();
        for (int i = 0; i < writers; i++) {
            WriterId writer = readWriter(in);
            int count = in.readInt();
            for (int j = 0; j < count; j++) {
                BigInteger first = null;
                BigInteger last = null;
                if (in.readBoolean()) {
                    first = new BigInteger(in.readUTF());
                    last = new BigInteger(in.readUTF());
                }
                marks.add(writer, new Inherited(first, last, in.readLong(), in.readLong()));
            }
        }
        return marks;
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
        if (!(other instanceof ShardMarks)) {
            return false;
        }
        ShardMarks that = (ShardMarks) other;
        if (!own.keySet().equals(that.own.keySet()) || !inherited.equals(that.inherited)) {
            return false;
        }
        for (Map.Entry<WriterId, Mark> entry : own.entrySet()) {
            Mark theirs = that.own.get(entry.getKey());
            if (entry.getValue().sequenceNumber != theirs.sequenceNumber
                    || entry.getValue().arrivalMillis != theirs.arrivalMillis) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        return own.keySet().hashCode() * 31 + inherited.hashCode();
    }

    /** Writers and sequence numbers only: no payload, nothing secret. */
    @Override
    public String toString() {
        StringBuilder text = new StringBuilder("{");
        own.forEach((writer, mark) ->
                text.append(writer).append(':').append(mark.sequenceNumber).append(", "));
        inherited.forEach((writer, marks) ->
                text.append(writer).append(":inherited").append(marks).append(", "));
        if (text.length() > 1) {
            text.setLength(text.length() - 2);
        }
        return text.append('}').toString();
    }
}
