package org.apache.flink.connector.kinesis.source.split;

import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ShardIteratorType;

/**
 * The {@link StartingPosition} connector 4.3.0 has no factory for: at a sequence number.
 *
 * <p>Its constructor is package-private and its factories make TRIM_HORIZON, AT_TIMESTAMP and
 * AFTER_SEQUENCE_NUMBER positions only; its {@code KinesisStreamProxy.getRecords} asks for a
 * shard iterator of any type, AT_SEQUENCE_NUMBER with the marker as the sequence number (read in
 * its bytecode). The de-aggregating reader starts there to read an aggregate again after a
 * restore in the middle of it.
 */
public final class StartingPositions {

    private StartingPositions() {}

    /** The position of the record with {@code sequenceNumber}, that record included. */
    public static StartingPosition atSequenceNumber(String sequenceNumber) {
        return new StartingPosition(ShardIteratorType.AT_SEQUENCE_NUMBER, sequenceNumber);
    }
}
