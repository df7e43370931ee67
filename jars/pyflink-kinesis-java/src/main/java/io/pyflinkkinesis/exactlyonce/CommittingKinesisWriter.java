package io.pyflinkkinesis.exactlyonce;

import io.pyflinkkinesis.aggregation.AggregatingKinesisStreamsSinkBuilder;
import io.pyflinkkinesis.aggregation.KeyedRecord;
import io.pyflinkkinesis.aggregation.KplAggregate;
import io.pyflinkkinesis.sink.KinesisSinkException;

import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.connector.kinesis.sink.PartitionKeyGenerator;
import org.apache.flink.metrics.Counter;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;

/**
 * Buffers the records a sink subtask receives and hands them, at each checkpoint, to the
 * committer as one {@link KinesisCommittable}: nothing is sent to Kinesis here.
 *
 * <p>Each writer draws a new random {@link RecordId.WriterId} when it is created (fresh start,
 * failover, restore, rescale), and numbers its records from 0 in arrival order, so no id is ever
 * given twice. At end of input, Flink asks for the last committable after {@link #flush}: the
 * records still buffered are in it, committed with the final checkpoint.
 *
 * <p>The committer of the same subtask may still be writing the previous checkpoint's records
 * in the background while this writer takes in the next ones ({@link CommitLink}).
 */
public final class CommittingKinesisWriter<InputT>
        implements CommittingSinkWriter<InputT, KinesisCommittable> {

    private static final int MAX_RECORD_BYTES =
            AggregatingKinesisStreamsSinkBuilder.MAX_KINESIS_RECORD_BYTES;
    /** Below this plain size, a record surely fits in a one-record tagged aggregate. */
    private static final long SURELY_FITS_BYTES = MAX_RECORD_BYTES - 1024;

    private final RecordId.WriterId writer = RecordId.WriterId.random();
    private final SerializationSchema<InputT> serializationSchema;
    private final PartitionKeyGenerator<InputT> partitionKeyGenerator;
    private final long maxBufferedBytes;
    private final Counter userRecordsIn;
    private final CommitLink link;

    private List<KeyedRecord> buffer = new ArrayList<>();
    private long bufferedBytes;
    private long nextSequenceNumber;

    /**
     * @param maxBufferedBytes the most data and key bytes buffered between two checkpoints
     * @param link where the committer of this subtask writes in the background; created on the
     *     task's thread
     */
    CommittingKinesisWriter(SerializationSchema<InputT> serializationSchema,
            PartitionKeyGenerator<InputT> partitionKeyGenerator, long maxBufferedBytes,
            Counter userRecordsIn, CommitLink link) {
        this.serializationSchema = serializationSchema;
        this.partitionKeyGenerator = partitionKeyGenerator;
        this.maxBufferedBytes = maxBufferedBytes;
        this.userRecordsIn = userRecordsIn;
        this.link = link;
        link.openWriter();
    }

    RecordId.WriterId writerId() {
        return writer;
    }

    @Override
    public void write(InputT element, Context context) {
        link.throwIfFailed();
        KeyedRecord record = keyed(element);
        if (bufferedBytes + record.plainSize() > maxBufferedBytes) {
            throw new KinesisSinkException("The exactly-once Kinesis sink holds every record "
                    + "between two checkpoints in checkpoint state, and " + buffer.size()
                    + " records of " + bufferedBytes + " bytes (data and partition keys) since "
                    + "the last checkpoint leave no room for one of " + record.plainSize()
                    + " bytes under max-buffered-bytes (" + maxBufferedBytes + "). Checkpoint "
                    + "more often (a shorter checkpoint interval), or raise max-buffered-bytes.");
        }
        buffer.add(record);
        bufferedBytes += record.plainSize();
        userRecordsIn.inc();
    }

    private KeyedRecord keyed(InputT element) {
        KeyedRecord record = KeyedRecord.of(element, serializationSchema, partitionKeyGenerator);
        if (record.plainSize() > SURELY_FITS_BYTES && !fitsAlone(record)) {
            throw new IllegalArgumentException("A record of " + record.data.length + " bytes with a "
                    + "partition key of " + record.partitionKey.length() + " characters is too big: the "
                    + "exactly-once sink writes it as a KPL aggregate with its id, and a Kinesis "
                    + "record takes at most " + MAX_RECORD_BYTES + " bytes (data and key)");
        }
        return record;
    }

    /** Whether {@code record} fits a Kinesis record as an aggregate of its own with an id. */
    private boolean fitsAlone(KeyedRecord record) {
        return new KplAggregate(MAX_RECORD_BYTES, MAX_RECORD_BYTES)
                .add(record, new RecordId(writer, Long.MAX_VALUE));
    }

    /**
     * Nothing to write: the buffered records go into the committable Flink asks for next. At the
     * end of input, the commits from now on (the job's last) write before they return.
     */
    @Override
    public void flush(boolean endOfInput) {
        if (endOfInput) {
            link.endInput();
        }
    }

    /**
     * The records since the last checkpoint, with their ids; none when nothing arrived. Called
     * before any operator of the task snapshots: first waits for the committer's background
     * writes, so the checkpoint's committer state lacks no committable whose records are not
     * written.
     *
     * @throws KinesisSinkException when a background write failed
     */
    @Override
    public Collection<KinesisCommittable> prepareCommit() throws InterruptedException {
        link.awaitWrites();
        if (buffer.isEmpty()) {
            return Collections.emptyList();
        }
        KinesisCommittable committable =
                new KinesisCommittable(writer, nextSequenceNumber, buffer);
        nextSequenceNumber += buffer.size();
        buffer = new ArrayList<>();
        bufferedBytes = 0;
        return Collections.singletonList(committable);
    }

    @Override
    public void close() {
        link.closeWriter();
    }
}
