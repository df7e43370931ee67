package io.pyflinkkinesis.source.reader;

import io.pyflinkkinesis.exactlyonce.RecordId;
import io.pyflinkkinesis.source.split.ShardSplitState;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.connector.base.source.reader.RecordEmitter;
import org.apache.flink.connector.kinesis.source.serialization.KinesisDeserializationSchema;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.metrics.Counter;
import org.apache.flink.util.Collector;
import org.apache.flink.util.Preconditions;

/**
 * Deserializes a record (a whole Kinesis record, or one user record of a KPL aggregate) into the
 * elements it makes, each stamped with the record's approximate arrival time, and moves the
 * shard's position past it: past the Kinesis record, or past that user record of the aggregate.
 *
 * <p>De-duplicating ({@code source.deduplication}), a user record with an id ({@link
 * UserRecord#id()}) that the shard's marks say was emitted already ({@link
 * io.pyflinkkinesis.source.split.ShardMarks#admit}) is dropped and counted in {@value
 * #DUPLICATES_DROPPED}; the position moves past it all the same.
 */
public final class ShardRecordEmitter<T> implements RecordEmitter<UserRecord, T, ShardSplitState> {

    /** The counter metric of records dropped as duplicates, per source subtask. */
    public static final String DUPLICATES_DROPPED = "duplicatesDropped";

    private final KinesisDeserializationSchema<T> schema;
    private final Counter duplicatesDropped;
    private final TimestampedOutput<T> output = new TimestampedOutput<>();

    /** An emitter that de-duplicates when {@code duplicatesDropped} is not null. */
    public ShardRecordEmitter(KinesisDeserializationSchema<T> schema, Counter duplicatesDropped) {
        this.schema = Preconditions.checkNotNull(schema, "schema");
        this.duplicatesDropped = duplicatesDropped;
    }

    @Override
    public void emitRecord(UserRecord userRecord, SourceOutput<T> sourceOutput,
            ShardSplitState split) throws Exception {
        Record record = userRecord.record();
        long arrival = record.approximateArrivalTimestamp().toEpochMilli();
        RecordId id = userRecord.id();
        if (duplicatesDropped != null && id != null
                && !split.getMarks().admit(
                        id, userRecord.hashKey(), userRecord.intended(), arrival)) {
            duplicatesDropped.inc();
        } else {
            output.target = sourceOutput;
            output.timestamp = arrival;
            schema.deserialize(record, split.getStreamArn(), split.getShardId(), output);
        }
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
