package io.pyflinkkinesis.source.reader;

import io.pyflinkkinesis.source.split.ShardSplit;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.util.Preconditions;

/**
 * One record for the deserialization schema: a Kinesis record that is no KPL aggregate, or one
 * user record of an aggregate with its place in it (its sub-sequence number).
 */
public final class UserRecord {

    private final Record record;
    private final long subSequenceNumber;

    private UserRecord(Record record, long subSequenceNumber) {
        this.record = Preconditions.checkNotNull(record, "record");
        this.subSequenceNumber = subSequenceNumber;
    }

    /** A Kinesis record that is no aggregate, as read. */
    public static UserRecord whole(Record record) {
        return new UserRecord(record, ShardSplit.NO_SUB_SEQUENCE_NUMBER);
    }

    /**
     * User record {@code subSequenceNumber} (its index, from 0) of an aggregate; {@code record}
     * has its data and partition key and the aggregate's sequence number and arrival time.
     */
    public static UserRecord ofAggregate(Record record, long subSequenceNumber) {
        Preconditions.checkArgument(subSequenceNumber >= 0, "subSequenceNumber must be >= 0");
        return new UserRecord(record, subSequenceNumber);
    }

    /** What the deserialization schema gets. */
    public Record record() {
        return record;
    }

    /** Its index in its aggregate, or {@link ShardSplit#NO_SUB_SEQUENCE_NUMBER} for a whole record. */
    public long subSequenceNumber() {
        return subSequenceNumber;
    }

    @Override
    public String toString() {
        return record.sequenceNumber()
                + (subSequenceNumber == ShardSplit.NO_SUB_SEQUENCE_NUMBER
                        ? "" : "/" + subSequenceNumber);
    }
}
