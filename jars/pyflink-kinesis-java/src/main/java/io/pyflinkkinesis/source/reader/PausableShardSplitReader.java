package io.pyflinkkinesis.source.reader;

import io.pyflinkkinesis.source.config.SourceOptions;
import io.pyflinkkinesis.source.metrics.ShardMetrics;
import io.pyflinkkinesis.source.split.ShardSplit;
import io.pyflinkkinesis.source.split.ShardSplitState;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.source.reader.RecordsBySplits;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsChange;
import org.apache.flink.connector.kinesis.source.proxy.StreamProxy;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ProvisionedThroughputExceededException;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.util.Preconditions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * The polling shard reader of our FLIP-27 {@link io.pyflinkkinesis.source.KinesisStreamsSource}:
 * reads a subtask's shards concurrently and can pause them.
 *
 * <p>Connector 4.3.0's {@code PollingShardSplitReader} calls GetRecords for one shard at a time
 * and does not implement {@link #pauseOrResumeSplits}, so a job with {@code
 * WatermarkStrategy.withWatermarkAlignment} fails as soon as Flink asks it to hold back a shard
 * that is ahead; and the connector builds its fetcher manager without the source's
 * configuration, so {@code pipeline.watermark-alignment.allow-unaligned-source-splits} cannot be
 * set either.
 *
 * <p>This reader runs its {@code GetRecords} calls on a pool of {@link
 * SourceOptions#FETCH_THREADS} threads, at most one call per shard at a time, so a subtask with
 * many shards reads them concurrently, as the legacy consumer's thread per shard does. Each
 * {@link #fetch} hands over the records of one shard, round robin over the shards that have
 * some, in parts of at most {@link #MAX_RECORDS_PER_FETCH} records, so that a pause takes effect
 * within one part; a paused shard gets no new call and hands nothing over until resumed. A
 * shard's next call starts once at most one part of its last answer is left to hand over, so the
 * call overlaps the hand-over; records of a shard are handed over in the order read.
 *
 * <p>A shard that is behind (an answer with {@code millisBehindLatest} above 0, or as many
 * records as {@link SourceOptions#SHARD_GET_RECORDS_MAX} allows: some servers always report 0)
 * is asked again at once. A shard at the tip (any other answer, empty or not) is asked again
 * {@link SourceOptions#READER_EMPTY_RECORDS_FETCH_INTERVAL} after its last call began, as the
 * consumer's shard thread does: at most 5 calls a second with the default 200 ms, within
 * Kinesis' read quota, where the connector's reader calls GetRecords on an idle shard without
 * a pause. A throttled call ({@code ProvisionedThroughputExceededException}, which the client
 * does not retry: {@link io.pyflinkkinesis.source.proxy.KinesisClients}) is made again one
 * interval after it began, for as long as the shard is throttled, so a shard whose read quota
 * refilled is read within one interval. A finished shard (no next iterator) is reported once, after its
 * last records, and dropped, where the connector's keeps polling it. Each answer's {@code
 * millisBehindLatest} updates the shard's {@link ShardMetrics}. The split state the source
 * checkpoints is the source reader's (the last record emitted), so records read but not handed
 * over are read again after a restore, never skipped.
 */
public class PausableShardSplitReader implements SplitReader<Record, ShardSplit> {

    private static final Logger LOG = LoggerFactory.getLogger(PausableShardSplitReader.class);

    /** How long a fetch waits when no shard has records to hand over, unless woken up. */
    static final long IDLE_WAIT_MILLIS = 100;
    /**
     * The most records one fetch hands over. A {@code GetRecords} answer (up to 10,000 records)
     * is handed over in parts, so that a pause stops a shard within this many records rather
     * than after the whole answer: the granularity of watermark alignment.
     */
    public static final int MAX_RECORDS_PER_FETCH = 500;
    private static final long NANOS_PER_MILLI = TimeUnit.MILLISECONDS.toNanos(1);
    /** How long closing waits for the calls in flight before interrupting them. */
    static final long CLOSE_WAIT_SECONDS = 30;

    /** A shard: where its next call starts, its state between calls, records not handed over. */
    private static final class Shard {
        final ShardSplitState split;
        final ShardMetrics metrics;
        final Deque<Record> unsent = new ArrayDeque<>();
        boolean reading;
        boolean finished;
        long nextReadNanos;
        RuntimeException failure;

        Shard(ShardSplitState split, ShardMetrics metrics) {
            this.split = split;
            this.metrics = metrics;
        }
    }

    private final StreamProxy kinesis;
    private final MetricGroup metricGroup;
    private final int maxRecordsPerFetch;
    private final long tipIntervalNanos;
    private final int getRecordsLimit;
    private final LongSupplier nanoClock;
    private final ExecutorService calls;
    /** Guards every field below and each shard's fields; notified by answers and wake-ups. */
    private final Object lock = new Object();
    private final Deque<Shard> assignedSplits = new ArrayDeque<>();
    private final Set<String> pausedSplitIds = new HashSet<>();
    private boolean wokenUp;

    /** A reader of shards through {@code kinesis}, with the options in {@code config}. */
    public PausableShardSplitReader(
            StreamProxy kinesis, Configuration config, MetricGroup metricGroup) {
        this(kinesis, config, metricGroup, MAX_RECORDS_PER_FETCH, System::nanoTime);
    }

    PausableShardSplitReader(StreamProxy kinesis, Configuration config, MetricGroup metricGroup,
            int maxRecordsPerFetch, LongSupplier nanoClock) {
        this.kinesis = Preconditions.checkNotNull(kinesis, "kinesis");
        this.metricGroup = Preconditions.checkNotNull(metricGroup, "metricGroup");
        Preconditions.checkArgument(maxRecordsPerFetch > 0, "maxRecordsPerFetch must be > 0");
        this.maxRecordsPerFetch = maxRecordsPerFetch;
        this.nanoClock = Preconditions.checkNotNull(nanoClock, "nanoClock");
        int threads = config.get(SourceOptions.FETCH_THREADS);
        Preconditions.checkArgument(threads > 0, "%s must be at least 1, not %s",
                SourceOptions.FETCH_THREADS.key(), threads);
        this.tipIntervalNanos =
                config.get(SourceOptions.READER_EMPTY_RECORDS_FETCH_INTERVAL).toNanos();
        this.getRecordsLimit = config.get(SourceOptions.SHARD_GET_RECORDS_MAX);
        ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), PausableShardSplitReader::callThread);
        pool.allowCoreThreadTimeOut(true);
        this.calls = pool;
    }

    private static final AtomicInteger THREADS = new AtomicInteger();

    private static Thread callThread(Runnable call) {
        Thread thread = new Thread(call, "kinesis-get-records-" + THREADS.incrementAndGet());
        thread.setDaemon(true);
        return thread;
    }

    @Override
    public RecordsWithSplitIds<Record> fetch() throws IOException {
        synchronized (lock) {
            Shard shard = nextReadyShard();
            if (shard == null) {
                if (!wokenUp) {
                    waitForAnswer(millisUntilAShardIsDue());
                }
                wokenUp = false;
                shard = nextReadyShard();
            }
            return shard == null ? nothing() : handOver(shard);
        }
    }

    /**
     * Starts the calls that are due, then returns the next shard in turn, taken off the queue,
     * that is not paused and has records to hand over or has finished; null when none has.
     */
    private Shard nextReadyShard() throws IOException {
        long now = nanoClock.getAsLong();
        for (Shard shard : assignedSplits) {
            if (shard.failure != null) {
                throw new IOException("GetRecords failed for shard " + shard.split.getShardId(),
                        shard.failure);
            }
            if (!pausedSplitIds.contains(shard.split.getSplitId()) && !shard.reading
                    && !shard.finished && shard.unsent.size() <= maxRecordsPerFetch
                    && shard.nextReadNanos - now <= 0) {
                shard.reading = true;
                calls.execute(() -> read(shard));
            }
        }
        for (int i = assignedSplits.size(); i > 0; i--) {
            Shard shard = assignedSplits.poll();
            boolean ready = !shard.unsent.isEmpty() || (shard.finished && !shard.reading);
            if (ready && !pausedSplitIds.contains(shard.split.getSplitId())) {
                return shard;
            }
            assignedSplits.add(shard);
        }
        return null;
    }

    /** Hands over one part of the shard's records, and its end once all are handed over. */
    private RecordsWithSplitIds<Record> handOver(Shard shard) {
        List<Record> records = new ArrayList<>();
        while (records.size() < maxRecordsPerFetch && !shard.unsent.isEmpty()) {
            records.add(shard.unsent.poll());
        }
        RecordsBySplits.Builder<Record> batch = new RecordsBySplits.Builder<>();
        batch.addAll(shard.split.getSplitId(), records);
        if (shard.finished && shard.unsent.isEmpty()) {
            batch.addFinishedSplit(shard.split.getSplitId());
            shard.metrics.unregister();
        } else {
            assignedSplits.add(shard);
        }
        return batch.build();
    }

    /**
     * One {@code GetRecords} call, on a pool thread; the next one starts after the last record
     * it returned. The shard's position is only touched here while {@code reading} is set.
     */
    private void read(Shard shard) {
        ShardSplitState split = shard.split;
        long began = nanoClock.getAsLong();
        GetRecordsResponse response;
        try {
            response = kinesis.getRecords(
                    split.getStreamArn(), split.getShardId(), split.getNextStartingPosition());
        } catch (ProvisionedThroughputExceededException e) {
            LOG.debug("GetRecords of shard {} throttled; asking again in {} ms",
                    split.getShardId(), TimeUnit.NANOSECONDS.toMillis(tipIntervalNanos));
            synchronized (lock) {
                shard.nextReadNanos = began + tipIntervalNanos;
                shard.reading = false;
                lock.notifyAll();
            }
            return;
        } catch (RuntimeException e) {
            synchronized (lock) {
                shard.failure = e;
                shard.reading = false;
                lock.notifyAll();
            }
            return;
        }
        shard.metrics.setMillisBehindLatest(response.millisBehindLatest());
        List<Record> records = response.hasRecords() ? response.records() : Collections.emptyList();
        Long millisBehind = response.millisBehindLatest();
        boolean behind = (millisBehind != null && millisBehind > 0)
                || records.size() >= getRecordsLimit;
        synchronized (lock) {
            shard.finished = response.nextShardIterator() == null;
            if (!behind) {
                shard.nextReadNanos = began + tipIntervalNanos;
            }
            if (!records.isEmpty()) {
                shard.unsent.addAll(records);
                split.setNextStartingPosition(StartingPosition.continueFromSequenceNumber(
                        records.get(records.size() - 1).sequenceNumber()));
            }
            shard.reading = false;
            lock.notifyAll();
        }
    }

    /**
     * Until the first idle shard that is not paused is due, rounded up to whole milliseconds
     * (at least 1: waking before it is due would cost another wait), else the idle wait: an
     * answer or a wake-up ends the wait sooner.
     */
    long millisUntilAShardIsDue() {
        long now = nanoClock.getAsLong();
        long millis = IDLE_WAIT_MILLIS;
        for (Shard shard : assignedSplits) {
            if (!pausedSplitIds.contains(shard.split.getSplitId()) && !shard.reading) {
                long dueNanos = shard.nextReadNanos - now;
                long due = (dueNanos + NANOS_PER_MILLI - 1) / NANOS_PER_MILLI;
                millis = Math.min(millis, Math.max(1, due));
            }
        }
        return millis;
    }

    private void waitForAnswer(long millis) {
        try {
            lock.wait(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static RecordsWithSplitIds<Record> nothing() {
        return new RecordsBySplits.Builder<Record>().build();
    }

    @Override
    public void handleSplitsChanges(SplitsChange<ShardSplit> splitsChanges) {
        synchronized (lock) {
            for (ShardSplit split : splitsChanges.splits()) {
                assignedSplits.add(new Shard(new ShardSplitState(split),
                        new ShardMetrics(metricGroup, split.getStreamArn(), split.getShardId())));
            }
        }
    }

    @Override
    public void pauseOrResumeSplits(
            Collection<ShardSplit> splitsToPause,
            Collection<ShardSplit> splitsToResume) {
        synchronized (lock) {
            for (ShardSplit split : splitsToPause) {
                pausedSplitIds.add(split.splitId());
            }
            for (ShardSplit split : splitsToResume) {
                pausedSplitIds.remove(split.splitId());
            }
        }
    }

    /** Whether a GetRecords call of the shard is in flight (for tests). */
    boolean isReading(String splitId) {
        synchronized (lock) {
            return assignedSplits.stream().anyMatch(
                    shard -> shard.split.getSplitId().equals(splitId) && shard.reading);
        }
    }

    /** The shards this reader skips now (for tests and logs). */
    public Set<String> pausedSplitIds() {
        synchronized (lock) {
            return Collections.unmodifiableSet(new HashSet<>(pausedSplitIds));
        }
    }

    @Override
    public void wakeUp() {
        synchronized (lock) {
            wokenUp = true;
            lock.notifyAll();
        }
    }

    /**
     * Lets the calls in flight finish (up to {@link #CLOSE_WAIT_SECONDS}) before closing the
     * client: an interrupted call aborts its HTTP request mid-way, which kinesalite does not
     * survive (it stops on the aborted request).
     */
    @Override
    public void close() throws Exception {
        calls.shutdown();
        if (!calls.awaitTermination(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS)) {
            calls.shutdownNow();
        }
        synchronized (lock) {
            for (Shard shard : assignedSplits) {
                shard.metrics.unregister();
            }
        }
        kinesis.close();
    }
}
