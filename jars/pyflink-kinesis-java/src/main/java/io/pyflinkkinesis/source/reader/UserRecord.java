package io.pyflinkkinesis.source.reader;

import io.pyflinkkinesis.exactlyonce.HashKeyRange;
import io.pyflinkkinesis.exactlyonce.RecordId;
import io.pyflinkkinesis.source.split.ShardSplit;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.util.Preconditions;

import java.math.BigInteger;

/**
 * One record for the deserialization schema: a Kinesis record that is no KPL aggregate, or one
 * user record of an aggregate with its place in it (its sub-sequence number), its hash key, the
 * id a committing sink gave it ({@link RecordId}, from its {@value RecordId#TAG_KEY} tag) and the
 * range of the shard the sink meant the aggregate for ({@link HashKeyRange#fromPartitionKey}).
 */
public final class UserRecord {

    private final Record record;
    private final long subSequenceNumber;
    private final BigInteger hashKey;
    private final RecordId id;
    private final HashKeyRange intended;

    private UserRecord(Record record, long subSequenceNumber, BigInteger hashKey, RecordId id,
            HashKeyRange intended) {
        this.record = Preconditions.checkNotNull(record, "record");
        this.subSequenceNumber = subSequenceNumber;
        this.hashKey = hashKey;
        this.id = id;
        this.intended = intended;
    }

    /** A Kinesis record that is no aggregate, as read. */
    public static UserRecord whole(Record record) {
        return new UserRecord(record, ShardSplit.NO_SUB_SEQUENCE_NUMBER, null, null, null);
    }

    /**
     * User record {@code subSequenceNumber} (its index, from 0) of an aggregate; {@code record}
     * has its data and partition key and the aggregate's sequence number and arrival time;
     * {@code hashKey} is the one Kinesis routes it by, {@code id} its id or null when it has none,
     * {@code intended} the range the aggregate was meant for or null when it names none.
     */
    public static UserRecord ofAggregate(Record record, long subSequenceNumber,
            BigInteger hashKey, RecordId id, HashKeyRange intended) {
        Preconditions.checkArgument(subSequenceNumber >= 0, "subSequenceNumber must be >= 0");
        return new UserRecord(record, subSequenceNumber,
                Preconditions.checkNotNull(hashKey, "hashKey"), id, intended);
    }

    /** What the deserialization schema gets. */
    public Record record() {
        return record;
    }

    /** The hash key of a user record of an aggregate; null for a whole record. */
    public BigInteger hashKey() {
        return hashKey;
    }

    /** The id a committing sink gave the user record, or null (none, or a whole record). */
    public RecordId id() {
        return id;
    }

    /** The range of the shard a committing sink meant its aggregate for, or null. */
    public HashKeyRange intended() {
        return intended;
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
