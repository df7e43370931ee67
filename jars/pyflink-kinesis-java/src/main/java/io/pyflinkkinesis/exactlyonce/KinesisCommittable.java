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
 *
 * <p>A <em>receipt</em> ({@link #receipt()}) names such a committable without its records: what
 * the writer hands to a committer chained with it, while the records stay in the writer's state
 * until they are written (see {@link CommitLink}).
 */
public final class KinesisCommittable {

    private final RecordId.WriterId writer;
    private final long firstSequenceNumber;
    /** The records; empty in a receipt. */
    private final List<KeyedRecord> records;
    private final int recordCount;
    private final long sizeInBytes;
    private final boolean receipt;

    public KinesisCommittable(RecordId.WriterId writer, long firstSequenceNumber,
            List<KeyedRecord> records) {
        this(writer, firstSequenceNumber, Collections.unmodifiableList(records), records.size(),
                plainSize(records), false);
    }

    private KinesisCommittable(RecordId.WriterId writer, long firstSequenceNumber,
            List<KeyedRecord> records, int recordCount, long sizeInBytes, boolean receipt) {
        this.writer = Objects.requireNonNull(writer, "writer");
        if (firstSequenceNumber < 0) {
            throw new IllegalArgumentException(
                    "a sequence number is at least 0, not " + firstSequenceNumber);
        }
        this.firstSequenceNumber = firstSequenceNumber;
        this.records = records;
        this.recordCount = recordCount;
        this.sizeInBytes = sizeInBytes;
        this.receipt = receipt;
    }

    /** A receipt for {@code writer}'s committable whose first id is {@code firstSequenceNumber}. */
    static KinesisCommittable receipt(RecordId.WriterId writer, long firstSequenceNumber,
            int recordCount, long sizeInBytes) {
        return new KinesisCommittable(writer, firstSequenceNumber, Collections.emptyList(),
                recordCount, sizeInBytes, true);
    }

    private static long plainSize(List<KeyedRecord> records) {
        long bytes = 0;
        for (KeyedRecord record : records) {
            bytes += record.plainSize();
        }
        return bytes;
    }

    /** This committable's receipt: its ids and size, not its records. */
    public KinesisCommittable receipt() {
        return receipt ? this
                : receipt(writer, firstSequenceNumber, recordCount, sizeInBytes);
    }

    /** Whether this is a receipt, whose records are in its writer's state. */
    public boolean isReceipt() {
        return receipt;
    }

    /** Whether {@code other} is this committable or its receipt (or they are the same receipt). */
    boolean sameIds(KinesisCommittable other) {
        return writer.equals(other.writer) && firstSequenceNumber == other.firstSequenceNumber
                && recordCount == other.recordCount;
    }

    public RecordId.WriterId writer() {
        return writer;
    }

    public long firstSequenceNumber() {
        return firstSequenceNumber;
    }

    /** The records, in the order the writer received them. */
    public List<KeyedRecord> records() {
        if (receipt) {
            throw new IllegalStateException(
                    this + " is a receipt: its records are in the writer's state");
        }
        return records;
    }

    /** How many records it holds (or, in a receipt, stands for). */
    public int recordCount() {
        return recordCount;
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
        return sameIds(that) && receipt == that.receipt && sizeInBytes == that.sizeInBytes
                && sameRecords(that.records);
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
        return Objects.hash(writer, firstSequenceNumber, recordCount, receipt);
    }

    /** The ids and size only: Flink prints a committable that fails, records may be secret. */
    @Override
    public String toString() {
        return (receipt ? "KinesisCommittable receipt{ids " : "KinesisCommittable{ids ")
                + writer + ":" + firstSequenceNumber + ".."
                + (firstSequenceNumber + recordCount - 1)
                + ", " + recordCount + " records, " + sizeInBytes + " bytes}";
    }
}
