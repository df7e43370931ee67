package io.pyflinkkinesis.source.reader;

import io.pyflinkkinesis.source.split.ShardSplit;
import org.apache.flink.connector.base.source.reader.RecordsBySplits;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsChange;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.SdkBytes;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * One shard's records (sequence numbers "1", "2", ...) read from the position of the split it
 * is given, {@code perFetch} records a fetch; remembers the positions it was given.
 */
final class FakeShardReader implements SplitReader<Record, ShardSplit> {

    final List<Record> records = new ArrayList<>();
    final List<StartingPosition> positions = new ArrayList<>();
    int perFetch = 2;
    private String splitId;
    private int next;

    /** Appends a record with {@code data} and partition key {@code key}; returns it. */
    Record append(String key, byte[] data) {
        Record record = Record.builder()
                .sequenceNumber(String.valueOf(records.size() + 1))
                .partitionKey(key)
                .data(SdkBytes.fromByteArray(data))
                .approximateArrivalTimestamp(Instant.ofEpochMilli(1000L * (records.size() + 1)))
                .build();
        records.add(record);
        return record;
    }

    @Override
    public RecordsWithSplitIds<Record> fetch() {
        RecordsBySplits.Builder<Record> batch = new RecordsBySplits.Builder<>();
        for (int n = 0; n < perFetch && next < records.size(); n++) {
            batch.add(splitId, records.get(next++));
        }
        return batch.build();
    }

    @Override
    public void handleSplitsChanges(SplitsChange<ShardSplit> splitsChanges) {
        for (ShardSplit split : splitsChanges.splits()) {
            splitId = split.splitId();
            StartingPosition position = split.getStartingPosition();
            positions.add(position);
            switch (position.getShardIteratorType()) {
                case TRIM_HORIZON:
                    next = 0;
                    break;
                case AT_SEQUENCE_NUMBER:
                    next = Integer.parseInt((String) position.getStartingMarker()) - 1;
                    break;
                case AFTER_SEQUENCE_NUMBER:
                    next = Integer.parseInt((String) position.getStartingMarker());
                    break;
                default:
                    throw new IllegalArgumentException("not in this fake: " + position);
            }
        }
    }

    @Override
    public void pauseOrResumeSplits(
            Collection<ShardSplit> splitsToPause, Collection<ShardSplit> splitsToResume) {
    }

    @Override
    public void wakeUp() {
    }

    @Override
    public void close() {
    }
}
