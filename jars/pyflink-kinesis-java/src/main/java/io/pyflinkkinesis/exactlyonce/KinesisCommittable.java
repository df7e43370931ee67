package io.pyflinkkinesis.exactlyonce;

import io.pyflinkkinesis.aggregation.KeyedRecord;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * What one sink writer received between two checkpoints, to be written to Kinesis once the
 * later checkpoint completes: the records in arrival order and their ids, {@code (writer,
 * firstSequenceNumber + index)}. Immutable; it lives in checkpoint state until committed, so a
 * committable re-committed after a restore writes the very same ids.
 */
public final class KinesisCommittable {

    private final RecordId.WriterId writer;
    private final long firstSequenceNumber;
    private final List<KeyedRecord> records;
    private final long sizeInBytes;

    public KinesisCommittable(RecordId.WriterId writer, long firstSequenceNumber,
            List<KeyedRecord> records) {
        this.writer = Objects.requireNonNull(writer, "writer");
        if (firstSequenceNumber < 0) {
            throw new IllegalArgumentException(
                    "a sequence number is at least 0, not " + firstSequenceNumber);
        }
        this.firstSequenceNumber = firstSequenceNumber;
        this.records = Collections.unmodifiableList(records);
        long bytes = 0;
        for (KeyedRecord record : records) {
            bytes += record.plainSize();
        }
        this.sizeInBytes = bytes;
    }

    public RecordId.WriterId writer() {
        return writer;
    }

    public long firstSequenceNumber() {
        return firstSequenceNumber;
    }

    /** The records, in the order the writer received them. */
    public List<KeyedRecord> records() {
        return records;
    }

    /** The id of the record at {@code index} in {@link #records()}. */
    public RecordId idOf(int index) {
        return new RecordId(writer, firstSequenceNumber + index);
    }

    /** Data plus partition key bytes of every record: what the committable costs in state. */
    public long sizeInBytes() {
        return sizeInBytes;
    }

    @Override
    public boolean equals(Object other) {
        if (!(other instanceof KinesisCommittable)) {
            return false;
        }
        KinesisCommittable that = (KinesisCommittable) other;
        return writer.equals(that.writer) && firstSequenceNumber == that.firstSequenceNumber
                && records.size() == that.records.size() && sameRecords(that.records);
    }

    private boolean sameRecords(List<KeyedRecord> others) {
        for (int i = 0; i < records.size(); i++) {
            KeyedRecord mine = records.get(i);
            KeyedRecord theirs = others.get(i);
            if (!mine.partitionKey.equals(theirs.partitionKey)
                    || !Arrays.equals(mine.data, theirs.data)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        return Objects.hash(writer, firstSequenceNumber, records.size());
    }

    /** The ids and size only: Flink prints a committable that fails, records may be secret. */
    @Override
    public String toString() {
        return "KinesisCommittable{ids " + writer + ":" + firstSequenceNumber + ".."
                + (firstSequenceNumber + records.size() - 1) + ", " + records.size()
                + " records, " + sizeInBytes() + " bytes}";
    }
}
