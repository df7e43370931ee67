package io.pyflinkkinesis.exactlyonce;

import io.pyflinkkinesis.aggregation.AggregatingKinesisStreamsSinkBuilder;
import io.pyflinkkinesis.aggregation.KeyedRecord;
import io.pyflinkkinesis.aggregation.KplAggregate;
import io.pyflinkkinesis.sink.KinesisSinkException;

import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.connector.kinesis.sink.PartitionKeyGenerator;
import org.apache.flink.metrics.Counter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.function.LongSupplier;

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
 * in the background while this writer takes in the next ones ({@link CommitLink}). Chained with
 * that committer, the writer hands it receipts and keeps the committables' records in its own
 * state ({@link KinesisWriterState}) until they are written; a restored writer hands its state's
 * committables over again at its first checkpoint.
 */
public final class CommittingKinesisWriter<InputT>
        implements CommittingSinkWriter<InputT, KinesisCommittable>,
                StatefulSinkWriter<InputT, KinesisWriterState> {

    private static final Logger LOG = LoggerFactory.getLogger(CommittingKinesisWriter.class);

    private static final int MAX_RECORD_BYTES =
            AggregatingKinesisStreamsSinkBuilder.MAX_KINESIS_RECORD_BYTES;
    /** Below this plain size, a record surely fits in a one-record tagged aggregate. */
    private static final long SURELY_FITS_BYTES = MAX_RECORD_BYTES - 1024;
    /** Past this share of max-buffered-bytes, {@link #write} slows its input down. */
    private static final double PACE_FROM = 0.5;
    /** The time between checkpoints assumed until two were seen. */
    private static final long FIRST_INTERVAL_MS = 5_000;
    /** The least time between checkpoints the pauses are scaled for. */
    private static final long MIN_INTERVAL_MS = 1_000;

    private final RecordId.WriterId writer = RecordId.WriterId.random();
    private final SerializationSchema<InputT> serializationSchema;
    private final PartitionKeyGenerator<InputT> partitionKeyGenerator;
    private final long maxBufferedBytes;
    private final Counter userRecordsIn;
    private final CommitLink link;
    private final LongSupplier clockMs;
    private final KinesisCommitter.Sleeper sleeper;

    /** Restored committables of earlier writers, handed over again at the next checkpoint. */
    private final List<KinesisCommittable> restored = new ArrayList<>();
    private List<KeyedRecord> buffer = new ArrayList<>();
    private long bufferedBytes;
    private long nextSequenceNumber;
    /** When the last committable was handed over, or -1 before the first. */
    private long lastCheckpointMs = -1;
    /** The time between the last two checkpoints the writer saw. */
    private long intervalMs = FIRST_INTERVAL_MS;
    /** Pause time owed but not yet taken (pauses are taken a millisecond or more at a time). */
    private double pauseOwedMs;
    /** The time paused since the last checkpoint, for the log. */
    private long pausedMs;
    /** Whether the log said that this writer hands over receipts. */
    private boolean saidChained;

    /**
     * @param maxBufferedBytes the most data and key bytes buffered between two checkpoints
     * @param link where the committer of this subtask writes in the background; created on the
     *     task's thread
     */
    CommittingKinesisWriter(SerializationSchema<InputT> serializationSchema,
            PartitionKeyGenerator<InputT> partitionKeyGenerator, long maxBufferedBytes,
            Counter userRecordsIn, CommitLink link) {
        this(serializationSchema, partitionKeyGenerator, maxBufferedBytes, userRecordsIn, link,
                System::currentTimeMillis, Thread::sleep);
    }

    /**
     * A writer that hands over {@code restoredState}'s committables again (with their ids) at its
     * first checkpoint, before its own records: the checkpoint they were restored from completed.
     */
    CommittingKinesisWriter(SerializationSchema<InputT> serializationSchema,
            PartitionKeyGenerator<InputT> partitionKeyGenerator, long maxBufferedBytes,
            Counter userRecordsIn, CommitLink link,
            Collection<KinesisWriterState> restoredState) {
        this(serializationSchema, partitionKeyGenerator, maxBufferedBytes, userRecordsIn, link);
        for (KinesisWriterState state : restoredState) {
            restored.addAll(state.committables());
        }
        if (!restored.isEmpty()) {
            LOG.info("The exactly-once Kinesis sink's writer restored {}: it hands them over "
                    + "again at its first checkpoint", restored);
        }
    }

    CommittingKinesisWriter(SerializationSchema<InputT> serializationSchema,
            PartitionKeyGenerator<InputT> partitionKeyGenerator, long maxBufferedBytes,
            Counter userRecordsIn, CommitLink link, LongSupplier clockMs,
            KinesisCommitter.Sleeper sleeper) {
        this.clockMs = clockMs;
        this.sleeper = sleeper;
        this.serializationSchema = serializationSchema;
        this.partitionKeyGenerator = partitionKeyGenerator;
        this.maxBufferedBytes = maxBufferedBytes;
        this.userRecordsIn = userRecordsIn;
        this.link = link;
        link.openWriter(writer);
    }

    RecordId.WriterId writerId() {
        return writer;
    }

    /**
     * Buffers the record. Past half of max-buffered-bytes it first pauses, longer the fuller
     * the buffer, so that a source faster than the sink fills it toward the bound without
     * reaching it before the next checkpoint's barrier comes through (the records ahead of the
     * barrier keep coming, only slower; waiting for room instead would hold the barrier back).
     */
    @Override
    public void write(InputT element, Context context) throws InterruptedException {
        link.throwIfFailed();
        KeyedRecord record = keyed(element);
        pace(record.plainSize());
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

    /**
     * Pauses before taking {@code bytes} more: nothing up to {@link #PACE_FROM} of the bound,
     * then per byte {@code 2 * interval / maxBufferedBytes * (full - PACE_FROM) / (1 - full)}.
     * At any input rate the free room then shrinks by about e per interval at most: a source
     * faster than the sink fills the buffer to about 0.92 of the bound in one interval, and to
     * 0.99 in three. The room left when the checkpoint's barrier enters the job must hold the
     * records ahead of it in Flink's network buffers (well under a MiB per channel by default).
     */
    private void pace(long bytes) throws InterruptedException {
        double full = (double) (bufferedBytes + bytes) / maxBufferedBytes;
        if (full <= PACE_FROM || full >= 1) {
            return;
        }
        pauseOwedMs += (double) bytes * 2 * intervalMs / maxBufferedBytes
                * (full - PACE_FROM) / (1 - full);
        if (pauseOwedMs >= 1) {
            long ms = (long) pauseOwedMs;
            pauseOwedMs -= ms;
            pausedMs += ms;
            sleeper.sleep(ms);
        }
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
     * The records since the last checkpoint, with their ids, after the restored committables not
     * yet handed over; none when there are none. Called before any operator of the task
     * snapshots: first waits for the committer's background writes, so the checkpoint's state
     * lacks no committable whose records are not written. Chained with the committer, the
     * committables are held (see {@link CommitLink}) and receipts handed over: the records stay in
     * this writer's state ({@link #snapshotState}) until written.
     *
     * @throws KinesisSinkException when a background write failed
     */
    @Override
    public Collection<KinesisCommittable> prepareCommit() throws InterruptedException {
        link.awaitWrites();
        long nowMs = clockMs.getAsLong();
        if (lastCheckpointMs >= 0) {
            intervalMs = Math.max(MIN_INTERVAL_MS, nowMs - lastCheckpointMs);
        }
        lastCheckpointMs = nowMs;
        if (pausedMs > 0) {
            LOG.info("The exactly-once Kinesis sink's input came faster than one checkpoint "
                    + "interval's worth fits in max-buffered-bytes ({} bytes): the writer paused "
                    + "{} ms since the last checkpoint to keep under it. Checkpoint more often "
                    + "or raise max-buffered-bytes for a faster job.", maxBufferedBytes, pausedMs);
            pausedMs = 0;
        }
        pauseOwedMs = 0;
        List<KinesisCommittable> committables = new ArrayList<>(restored);
        restored.clear();
        if (!buffer.isEmpty()) {
            committables.add(new KinesisCommittable(writer, nextSequenceNumber, buffer));
            nextSequenceNumber += buffer.size();
            buffer = new ArrayList<>();
            bufferedBytes = 0;
        }
        if (!link.chained()) {
            return committables;
        }
        if (!saidChained) {
            LOG.info("The exactly-once Kinesis sink's writer {} is chained with its committer: "
                    + "it keeps each checkpoint's records in its own state until they are "
                    + "written, and hands the committer receipts", writer);
            saidChained = true;
        }
        List<KinesisCommittable> receipts = new ArrayList<>(committables.size());
        for (KinesisCommittable committable : committables) {
            receipts.add(link.hold(committable));
        }
        return receipts;
    }

    /**
     * The committables handed over as receipts and not yet written, and the restored ones not yet
     * handed over: one state element per writer id, oldest first.
     */
    @Override
    public List<KinesisWriterState> snapshotState(long checkpointId) {
        List<KinesisCommittable> unwritten = link.held();
        unwritten.addAll(restored);
        return KinesisWriterState.byWriter(unwritten);
    }

    @Override
    public void close() {
        link.closeWriter();
    }
}
