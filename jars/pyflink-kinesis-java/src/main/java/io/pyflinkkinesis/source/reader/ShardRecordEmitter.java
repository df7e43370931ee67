package io.pyflinkkinesis.source.reader;

import io.pyflinkkinesis.source.split.ShardSplitState;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.connector.base.source.reader.RecordEmitter;
import org.apache.flink.connector.kinesis.source.serialization.KinesisDeserializationSchema;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.util.Collector;
import org.apache.flink.util.Preconditions;

/**
 * Deserializes a record (a whole Kinesis record, or one user record of a KPL aggregate) into the
 * elements it makes, each stamped with the record's approximate arrival time, and moves the
 * shard's position past it: past the Kinesis record, or past that user record of the aggregate.
 */
public final class ShardRecordEmitter<T> implements RecordEmitter<UserRecord, T, ShardSplitState> {

    private final KinesisDeserializationSchema<T> schema;
    private final TimestampedOutput<T> output = new TimestampedOutput<>();

    public ShardRecordEmitter(KinesisDeserializationSchema<T> schema) {
        this.schema = Preconditions.checkNotNull(schema, "schema");
    }

    @Override
    public void emitRecord(UserRecord userRecord, SourceOutput<T> sourceOutput,
            ShardSplitState split) throws Exception {
        Record record = userRecord.record();
        output.target = sourceOutput;
        output.timestamp = record.approximateArrivalTimestamp().toEpochMilli();
        schema.deserialize(record, split.getStreamArn(), split.getShardId(), output);
        split.setLastEmitted(record.sequenceNumber(), userRecord.subSequenceNumber());
    }

    /** Hands the schema's elements to the source output with the record's timestamp. */
    private static final class TimestampedOutput<T> implements Collector<T> {
        SourceOutput<T> target;
        long timestamp;

        @Override
        public void collect(T element) {
            target.collect(element, timestamp);
        }

        @Override
        public void close() {
        }
    }
}
