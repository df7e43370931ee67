package io.pyflinkkinesis.source.reader;

import org.apache.flink.connector.base.source.reader.RecordsBySplits;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsChange;
import io.pyflinkkinesis.source.split.ShardSplit;
import io.pyflinkkinesis.source.split.ShardSplitState;
import org.apache.flink.connector.kinesis.source.proxy.StreamProxy;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.util.Preconditions;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The polling shard reader of our FLIP-27 {@link io.pyflinkkinesis.source.KinesisStreamsSource},
 * able to pause shards.
 *
 * <p>Connector 4.3.0's {@code PollingShardSplitReader} does not implement {@link
 * #pauseOrResumeSplits}, so a job with {@code WatermarkStrategy.withWatermarkAlignment} fails as
 * soon as Flink asks it to hold back a shard that is ahead ("This split reader does not support
 * pausing or resuming splits"); and the connector builds its fetcher manager without the source's
 * configuration, so {@code pipeline.watermark-alignment.allow-unaligned-source-splits} cannot be
 * set either. This reader reads as the connector's does, one {@code GetRecords} call at a time,
 * round robin over its shards, and skips paused ones until they are resumed. A shard whose last
 * answer had no records is asked again only after {@link #EMPTY_SHARD_INTERVAL_MILLIS}, where
 * the connector's reader calls GetRecords on an idle shard without a pause. It hands an answer
 * over in parts of at most {@link #MAX_RECORDS_PER_FETCH} records, so that a pause takes effect
 * within one part. A finished shard (no next iterator) is reported once, after its last
 * records, and dropped, where the connector's keeps polling it. Records are handed over in the
 * order read; the split state the source checkpoints is the reader's (the last record emitted),
 * so records read but not handed over are read again after a restore, never skipped.
 */
public class PausableShardSplitReader implements SplitReader<Record, ShardSplit> {

    /** How long a fetch waits when every shard is paused, unless woken up. */
    static final long ALL_PAUSED_WAIT_MILLIS = 100;
    /**
     * After an answer without records, the shard is not asked again for this long (the legacy
     * consumer's default {@code flink.shard.getrecords.intervalmillis}); a shard with records is
     * read again at once. Kinesis allows 5 GetRecords calls per second per shard, shared by all
     * of the stream's consumers; connector 4.3.0's reader asks an idle shard without a pause.
     */
    public static final long EMPTY_SHARD_INTERVAL_MILLIS = 200;
    /**
     * The most records one fetch hands over. A {@code GetRecords} answer (up to 10,000 records)
     * is handed over in parts, so that a pause stops a shard within this many records rather
     * than after the whole answer: the granularity of watermark alignment.
     */
    public static final int MAX_RECORDS_PER_FETCH = 500;

    /** A shard: where its next {@code GetRecords} starts, and records read not yet handed over. */
    private static final class Shard {
        final ShardSplitState split;
        final Deque<Record> unsent = new ArrayDeque<>();
        boolean finished;
        long nextReadNanos;

        Shard(ShardSplitState split) {
            this.split = split;
        }
    }

    private final StreamProxy kinesis;
    private final int maxRecordsPerFetch;
    private final LongSupplier nanoClock;
    private final Deque<Shard> assignedSplits = new ArrayDeque<>();
    private final Set<String> pausedSplitIds = new HashSet<>();
    private final Object wakeUps = new Object();
    private boolean wokenUp;

    public PausableShardSplitReader(StreamProxy kinesis) {
        this(kinesis, MAX_RECORDS_PER_FETCH, System::nanoTime);
    }

    PausableShardSplitReader(StreamProxy kinesis, int maxRecordsPerFetch, LongSupplier nanoClock) {
        this.kinesis = Preconditions.checkNotNull(kinesis, "kinesis");
        Preconditions.checkArgument(maxRecordsPerFetch > 0, "maxRecordsPerFetch must be > 0");
        this.maxRecordsPerFetch = maxRecordsPerFetch;
        this.nanoClock = Preconditions.checkNotNull(nanoClock, "nanoClock");
    }

    @Override
    public RecordsWithSplitIds<Record> fetch() {
        long now = nanoClock.getAsLong();
        Shard shard = nextReadyShard(now);
        if (shard == null) {
            if (!assignedSplits.isEmpty()) {
                waitForWakeUp(millisUntilAShardIsDue(now));
            }
            return nothing();
        }
        if (shard.unsent.isEmpty() && !shard.finished) {
            read(shard);
        }
        List<Record> records = new ArrayList<>();
        while (records.size() < maxRecordsPerFetch && !shard.unsent.isEmpty()) {
            records.add(shard.unsent.poll());
        }
        boolean done = shard.finished && shard.unsent.isEmpty();
        if (!done) {
            assignedSplits.add(shard);
        }
        if (records.isEmpty() && !done) {
            return nothing();
        }
        RecordsBySplits.Builder<Record> batch = new RecordsBySplits.Builder<>();
        batch.addAll(shard.split.getSplitId(), records);
        if (done) {
            batch.addFinishedSplit(shard.split.getSplitId());
        }
        return batch.build();
    }

    /** One {@code GetRecords} call; the next one starts after the last record it returned. */
    private void read(Shard shard) {
        ShardSplitState split = shard.split;
        GetRecordsResponse response = kinesis.getRecords(
                split.getStreamArn(), split.getShardId(), split.getNextStartingPosition());
        shard.finished = response.nextShardIterator() == null;
        if (response.hasRecords() && !response.records().isEmpty()) {
            List<Record> records = response.records();
            shard.unsent.addAll(records);
            split.setNextStartingPosition(StartingPosition.continueFromSequenceNumber(
                    records.get(records.size() - 1).sequenceNumber()));
        } else {
            shard.nextReadNanos = nanoClock.getAsLong()
                    + TimeUnit.MILLISECONDS.toNanos(EMPTY_SHARD_INTERVAL_MILLIS);
        }
    }

    /**
     * The next shard in turn that is not paused and has records to hand over or is due for a
     * call, taken off the queue; null when none is.
     */
    private Shard nextReadyShard(long now) {
        for (int i = assignedSplits.size(); i > 0; i--) {
            Shard shard = assignedSplits.poll();
            if (!pausedSplitIds.contains(shard.split.getSplitId()) && isDue(shard, now)) {
                return shard;
            }
            assignedSplits.add(shard);
        }
        return null;
    }

    private static boolean isDue(Shard shard, long now) {
        return !shard.unsent.isEmpty() || shard.finished || shard.nextReadNanos - now <= 0;
    }

    /** Until the first shard that is not paused is due (at least 1 ms), else the pause wait. */
    private long millisUntilAShardIsDue(long now) {
        long millis = ALL_PAUSED_WAIT_MILLIS;
        for (Shard shard : assignedSplits) {
            if (!pausedSplitIds.contains(shard.split.getSplitId())) {
                long due = TimeUnit.NANOSECONDS.toMillis(shard.nextReadNanos - now);
                millis = Math.min(millis, Math.max(1, due));
            }
        }
        return millis;
    }

    private void waitForWakeUp(long millis) {
        synchronized (wakeUps) {
            if (!wokenUp) {
                try {
                    wakeUps.wait(millis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            wokenUp = false;
        }
    }

    private static RecordsWithSplitIds<Record> nothing() {
        return new RecordsBySplits.Builder<Record>().build();
    }

    @Override
    public void handleSplitsChanges(SplitsChange<ShardSplit> splitsChanges) {
        for (ShardSplit split : splitsChanges.splits()) {
            assignedSplits.add(new Shard(new ShardSplitState(split)));
        }
    }

    @Override
    public void pauseOrResumeSplits(
            Collection<ShardSplit> splitsToPause,
            Collection<ShardSplit> splitsToResume) {
        for (ShardSplit split : splitsToPause) {
            pausedSplitIds.add(split.splitId());
        }
        for (ShardSplit split : splitsToResume) {
            pausedSplitIds.remove(split.splitId());
        }
    }

    /** The shards this reader skips now (for tests and logs). */
    public Set<String> pausedSplitIds() {
        return Collections.unmodifiableSet(new HashSet<>(pausedSplitIds));
    }

    @Override
    public void wakeUp() {
        synchronized (wakeUps) {
            wokenUp = true;
            wakeUps.notifyAll();
        }
    }

    @Override
    public void close() throws Exception {
        kinesis.close();
    }
}
