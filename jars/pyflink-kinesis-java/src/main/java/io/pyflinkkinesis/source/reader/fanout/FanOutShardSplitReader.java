package io.pyflinkkinesis.source.reader.fanout;

import io.pyflinkkinesis.source.efo.StreamConsumerRegistrar;
import io.pyflinkkinesis.source.reader.fanout.ShardSubscription.Attempt;
import io.pyflinkkinesis.source.metrics.ShardMetrics;
import io.pyflinkkinesis.source.split.ShardSplit;
import io.pyflinkkinesis.source.split.ShardSplitState;
import org.apache.flink.connector.base.source.reader.RecordsBySplits;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsChange;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.awscore.exception.AwsServiceException;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.SubscribeToShardEvent;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.SubscribeToShardRequest;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.util.Preconditions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;

/**
 * The enhanced fan-out (EFO) shard reader of our FLIP-27 {@link
 * io.pyflinkkinesis.source.KinesisStreamsSource}: one SubscribeToShard subscription per shard,
 * through the source's registered stream consumer.
 *
 * <p>It behaves towards the source as the polling {@link
 * io.pyflinkkinesis.source.reader.PausableShardSplitReader} does: records are handed over in the
 * order the shard delivers them, in parts of at most {@link #MAX_RECORDS_PER_FETCH}; a shard
 * whose subscription reports its end (an event without continuation sequence number) is reported
 * finished once, after its last records, and dropped; a paused shard gets nothing more, because
 * demand is one event at a time: the next is requested when the last one is taken (one event
 * ahead of the records handed over), and only for a shard that is not paused.
 * The split state the source checkpoints is the reader's (the last record emitted).
 *
 * <p>A subscription ends after 5 minutes on AWS, sooner on errors; the next one starts after the
 * last record taken (AFTER_SEQUENCE_NUMBER). A subscription that does not start within {@code
 * source.efo.subscription.timeout} is given up and started again. Failures are retried with
 * exponential back-off ({@link #MIN_BACKOFF_MILLIS} doubling to {@link #MAX_BACKOFF_MILLIS}), at
 * most {@link #MAX_FAILURES} times in a row for a shard; a missing stream, shard or consumer, and
 * a denied access, fail the job at once with what to check.
 *
 * <p>kinesis-mock (0.6.2, and so LocalStack) never ends a closed shard's subscription, which would
 * hold its children back for ever. So with {@code checkEnds} (a server that is not AWS), a shard
 * whose subscription has brought no records for {@link #END_CHECK_INTERVAL_MILLIS} is asked with
 * GetRecords whether it is closed and nothing follows its last record, and finished if so. On
 * AWS the subscription says so itself, and the GetRecords calls would take from the shard's
 * limit that every consumer of the stream shares.
 */
public class FanOutShardSplitReader implements SplitReader<Record, ShardSplit> {

    private static final Logger LOG = LoggerFactory.getLogger(FanOutShardSplitReader.class);

    /** The most records one fetch hands over: the granularity of a pause. */
    public static final int MAX_RECORDS_PER_FETCH = 500;
    /** How long a fetch waits for an event when nothing is ready, unless woken up. */
    static final long IDLE_WAIT_MILLIS = 100;
    static final long MIN_BACKOFF_MILLIS = 200;
    static final long MAX_BACKOFF_MILLIS = 5000;
    /** Failed subscriptions in a row, for one shard, before the job fails. */
    static final int MAX_FAILURES = 10;
    /** How long a shard brings no records before GetRecords asks whether it has ended. */
    static final long END_CHECK_INTERVAL_MILLIS = 2000;
    /** GetRecords calls an end check follows through empty answers. */
    static final int END_CHECK_CALLS = 3;
    /** Errors no retry cures: the job fails with them. */
    private static final Set<String> FATAL_ERRORS = new HashSet<>(Arrays.asList(
            "ResourceNotFoundException", "AccessDeniedException", "InvalidArgumentException",
            "KmsAccessDeniedException"));

    private final KinesisAsyncClient kinesis;
    private final StreamConsumerRegistrar consumers;
    private final long subscriptionTimeoutNanos;
    private final boolean checkEnds;
    private final LongSupplier nanoClock;
    private final Object lock = new Object();
    /** Guarded by {@link #lock}: the shards in turn, the paused ones, and the wake-up flags. */
    private final Deque<ShardSubscription> shards = new ArrayDeque<>();
    private final Set<String> pausedSplitIds = new HashSet<>();
    private boolean changed;
    private boolean wokenUp;
    /** Looked up on the first fetch with shards (fetch thread only). */
    private String consumerArn;
    /** Where each shard's lag gauge is registered. */
    private final MetricGroup metricGroup;

    public FanOutShardSplitReader(KinesisAsyncClient kinesis, StreamConsumerRegistrar consumers,
            MetricGroup metricGroup, Duration subscriptionTimeout, boolean checkEnds) {
        this(kinesis, consumers, metricGroup, subscriptionTimeout, checkEnds, System::nanoTime);
    }

    FanOutShardSplitReader(KinesisAsyncClient kinesis, StreamConsumerRegistrar consumers,
            MetricGroup metricGroup, Duration subscriptionTimeout, boolean checkEnds,
            LongSupplier nanoClock) {
        this.kinesis = Preconditions.checkNotNull(kinesis, "kinesis");
        this.consumers = Preconditions.checkNotNull(consumers, "consumers");
        this.metricGroup = Preconditions.checkNotNull(metricGroup, "metricGroup");
        this.subscriptionTimeoutNanos = subscriptionTimeout.toNanos();
        this.checkEnds = checkEnds;
        this.nanoClock = Preconditions.checkNotNull(nanoClock, "nanoClock");
    }

    @Override
    public RecordsWithSplitIds<Record> fetch() {
        if (consumerArn == null && hasShards()) {
            try {
                consumerArn = consumers.activeConsumerArn();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return nothing();
            }
        }
        List<Runnable> calls = new ArrayList<>();
        RecordsWithSplitIds<Record> batch;
        List<ShardSubscription> idle = new ArrayList<>();
        synchronized (lock) {
            changed = false;
            batch = nextBatch(nanoClock.getAsLong(), calls, idle);
        }
        calls.forEach(Runnable::run);
        if (batch != null) {
            return batch;
        }
        for (ShardSubscription shard : idle) {
            checkEnd(shard);
        }
        synchronized (lock) {
            if (!changed && !wokenUp) {
                try {
                    lock.wait(IDLE_WAIT_MILLIS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            wokenUp = false;
        }
        return nothing();
    }

    private boolean hasShards() {
        synchronized (lock) {
            return !shards.isEmpty();
        }
    }

    /**
     * Under the lock: keeps every shard's subscription going, and returns the next records to
     * hand over (round robin), or null; {@code calls} are made after the lock is released.
     */
    private RecordsWithSplitIds<Record> nextBatch(
            long now, List<Runnable> calls, List<ShardSubscription> idle) {
        for (int i = shards.size(); i > 0; i--) {
            ShardSubscription shard = shards.poll();
            maintain(shard, now, calls);
            if (!pausedSplitIds.contains(shard.split.getSplitId())) {
                take(shard, now, calls);
                if (!shard.unsent.isEmpty() || shard.ended) {
                    return handOver(shard);
                }
                if (checkEnds && now - shard.lastEndCheckNanos
                        >= TimeUnit.MILLISECONDS.toNanos(END_CHECK_INTERVAL_MILLIS)) {
                    shard.lastEndCheckNanos = now;
                    idle.add(shard);
                }
            }
            shards.add(shard);
        }
        return null;
    }

    /** Ends what has ended, starts the next subscription when due, and asks for an event. */
    private void maintain(ShardSubscription shard, long now, List<Runnable> calls) {
        Attempt attempt = shard.attempt;
        if (attempt != null && attempt.delivered == null) {
            if (attempt.done) {
                shard.attempt = null;
                if (attempt.error != null) {
                    failed(shard, attempt.error, now);
                } else if (attempt.events == 0) {
                    shard.nextSubscribeNanos =
                            now + TimeUnit.MILLISECONDS.toNanos(MIN_BACKOFF_MILLIS);
                }
            } else if (attempt.subscription == null
                    && now - attempt.startedNanos > subscriptionTimeoutNanos) {
                shard.attempt = null;
                cancel(attempt, calls);
                failed(shard, new TimeoutException("SubscribeToShard did not start within "
                        + Duration.ofNanos(subscriptionTimeoutNanos)), now);
            }
        }
        if (shard.attempt == null && !shard.ended && now - shard.nextSubscribeNanos >= 0) {
            subscribe(shard, now, calls);
        }
        demand(shard, calls);
    }

    private void subscribe(ShardSubscription shard, long now, List<Runnable> calls) {
        Attempt attempt = shard.new Attempt(lock, this::onChange, now);
        shard.attempt = attempt;
        SubscribeToShardRequest request = SubscribeToShardRequest.builder()
                .consumerARN(consumerArn)
                .shardId(shard.split.getShardId())
                .startingPosition(sdkPosition(shard.split.getNextStartingPosition()))
                .build();
        calls.add(() -> {
            CompletableFuture<Void> call = kinesis.subscribeToShard(request, attempt);
            synchronized (lock) {
                attempt.call = call;
            }
            call.whenComplete((ignored, error) -> {
                if (error != null) {
                    attempt.exceptionOccurred(error);
                }
            });
        });
    }

    /** Asks for the next event when none is asked for, none is waiting and the shard runs. */
    private void demand(ShardSubscription shard, List<Runnable> calls) {
        Attempt attempt = shard.attempt;
        if (attempt != null && attempt.subscription != null && !attempt.demanded
                && !attempt.done && attempt.delivered == null && !shard.ended
                && !pausedSplitIds.contains(shard.split.getSplitId())) {
            attempt.demanded = true;
            calls.add(() -> attempt.subscription.request(1));
        }
    }

    /** Takes the delivered event once the previous one's records are handed over. */
    private void take(ShardSubscription shard, long now, List<Runnable> calls) {
        Attempt attempt = shard.attempt;
        if (attempt == null || attempt.delivered == null || !shard.unsent.isEmpty()
                || shard.ended) {
            return;
        }
        SubscribeToShardEvent event = attempt.delivered;
        attempt.delivered = null;
        shard.failures = 0;
        shard.metrics.setMillisBehindLatest(event.millisBehindLatest());
        List<Record> records = event.records();
        if (!records.isEmpty()) {
            shard.unsent.addAll(records);
            shard.split.setNextStartingPosition(StartingPosition.continueFromSequenceNumber(
                    records.get(records.size() - 1).sequenceNumber()));
            shard.lastEndCheckNanos = now;
        }
        if (event.continuationSequenceNumber() == null) {
            end(shard, calls);
        } else {
            demand(shard, calls);
        }
    }

    private RecordsWithSplitIds<Record> handOver(ShardSubscription shard) {
        List<Record> records = new ArrayList<>();
        while (records.size() < MAX_RECORDS_PER_FETCH && !shard.unsent.isEmpty()) {
            records.add(shard.unsent.poll());
        }
        boolean done = shard.ended && shard.unsent.isEmpty();
        RecordsBySplits.Builder<Record> batch = new RecordsBySplits.Builder<>();
        batch.addAll(shard.split.getSplitId(), records);
        if (done) {
            batch.addFinishedSplit(shard.split.getSplitId());
            shard.metrics.unregister();
        } else {
            shards.add(shard);
        }
        return batch.build();
    }

    private void end(ShardSubscription shard, List<Runnable> calls) {
        shard.ended = true;
        if (shard.attempt != null) {
            cancel(shard.attempt, calls);
            shard.attempt = null;
        }
        LOG.info("Shard {} read to its end", shard.split.getShardId());
    }

    private void failed(ShardSubscription shard, Throwable error, long now) {
        String shardId = shard.split.getShardId();
        AwsServiceException fatal = fatalCause(error);
        if (fatal != null) {
            throw new IllegalStateException("SubscribeToShard of shard " + shardId + " with EFO "
                    + "consumer '" + consumers.consumerName() + "' failed: "
                    + errorCode(fatal) + ": " + fatal.getMessage()
                    + ". Check that the stream, the shard and the consumer exist and that the "
                    + "job's credentials may call SubscribeToShard.", error);
        }
        shard.failures++;
        if (shard.failures > MAX_FAILURES) {
            throw new IllegalStateException("SubscribeToShard of shard " + shardId + " failed "
                    + shard.failures + " times in a row; the last error: " + error, error);
        }
        long backoff = Math.min(MAX_BACKOFF_MILLIS,
                MIN_BACKOFF_MILLIS << Math.min(shard.failures - 1, 16));
        shard.nextSubscribeNanos = now + TimeUnit.MILLISECONDS.toNanos(backoff);
        LOG.warn("SubscribeToShard of shard {} failed ({} in a row); subscribing again in {} ms",
                shardId, shard.failures, backoff, error);
    }

    /** The AWS error in {@code error}'s causes that no retry cures, or null. */
    private static AwsServiceException fatalCause(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof AwsServiceException) {
                AwsServiceException aws = (AwsServiceException) t;
                if (FATAL_ERRORS.contains(errorCode(aws)) || aws.statusCode() == 403) {
                    return aws;
                }
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return null;
    }

    /** The AWS error code, else the exception's class name (the same for Kinesis' errors). */
    private static String errorCode(AwsServiceException error) {
        return error.awsErrorDetails() != null && error.awsErrorDetails().errorCode() != null
                ? error.awsErrorDetails().errorCode() : error.getClass().getSimpleName();
    }

    private static void cancel(Attempt attempt, List<Runnable> calls) {
        attempt.done = true;
        calls.add(() -> {
            if (attempt.subscription != null) {
                attempt.subscription.cancel();
            }
            if (attempt.call != null) {
                attempt.call.cancel(false);
            }
        });
    }

    /**
     * Outside the lock: finishes {@code shard} if it is closed and nothing follows its last
     * record (the subscription of kinesis-mock does not say so).
     */
    private void checkEnd(ShardSubscription shard) {
        StartingPosition position;
        synchronized (lock) {
            if (shard.ended || !shard.unsent.isEmpty()) {
                return;
            }
            position = shard.split.getNextStartingPosition();
        }
        boolean drained;
        try {
            drained = isDrained(shard.split, position);
        } catch (Exception e) {
            LOG.debug("Could not ask shard {} whether it has ended", shard.split.getShardId(), e);
            return;
        }
        List<Runnable> calls = new ArrayList<>();
        synchronized (lock) {
            boolean unchanged = position.equals(shard.split.getNextStartingPosition())
                    && shard.unsent.isEmpty()
                    && (shard.attempt == null || shard.attempt.delivered == null
                            || shard.attempt.delivered.records().isEmpty());
            if (drained && unchanged && !shard.ended) {
                LOG.info("Shard {} is closed and nothing follows its last record, though its "
                        + "subscription did not say so", shard.split.getShardId());
                end(shard, calls);
            }
        }
        calls.forEach(Runnable::run);
    }

    private boolean isDrained(ShardSplitState split, StartingPosition position) throws Exception {
        String iterator = get(kinesis.getShardIterator(b -> {
            b.streamARN(split.getStreamArn()).shardId(split.getShardId())
                    .shardIteratorType(position.getShardIteratorType());
            Object marker = position.getStartingMarker();
            if (marker instanceof String) {
                b.startingSequenceNumber((String) marker);
            } else if (marker instanceof Instant) {
                b.timestamp((Instant) marker);
            }
        })).shardIterator();
        for (int call = 0; call < END_CHECK_CALLS && iterator != null; call++) {
            String current = iterator;
            GetRecordsResponse answer = get(kinesis.getRecords(
                    b -> b.streamARN(split.getStreamArn()).shardIterator(current).limit(1)));
            if (!answer.records().isEmpty()) {
                return false;
            }
            iterator = answer.nextShardIterator();
        }
        return iterator == null;
    }

    private static <V> V get(CompletableFuture<V> call) throws Exception {
        try {
            return call.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception ? (Exception) e.getCause() : e;
        }
    }

    /** SubscribeToShard's starting position for the split's. */
    static org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model
            .StartingPosition sdkPosition(StartingPosition position) {
        org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model
                .StartingPosition.Builder builder = org.apache.flink.kinesis.shaded.software
                .amazon.awssdk.services.kinesis.model.StartingPosition.builder()
                .type(position.getShardIteratorType());
        Object marker = position.getStartingMarker();
        if (marker instanceof String) {
            builder.sequenceNumber((String) marker);
        } else if (marker instanceof Instant) {
            builder.timestamp((Instant) marker);
        }
        return builder.build();
    }

    private void onChange() {
        synchronized (lock) {
            changed = true;
            lock.notifyAll();
        }
    }

    private static RecordsWithSplitIds<Record> nothing() {
        return new RecordsBySplits.Builder<Record>().build();
    }

    @Override
    public void handleSplitsChanges(SplitsChange<ShardSplit> splitsChanges) {
        long now = nanoClock.getAsLong();
        synchronized (lock) {
            for (ShardSplit split : splitsChanges.splits()) {
                shards.add(new ShardSubscription(new ShardSplitState(split),
                        new ShardMetrics(metricGroup, split.getStreamArn(), split.getShardId()),
                        now));
            }
        }
    }

    @Override
    public void pauseOrResumeSplits(
            Collection<ShardSplit> splitsToPause, Collection<ShardSplit> splitsToResume) {
        List<Runnable> calls = new ArrayList<>();
        synchronized (lock) {
            for (ShardSplit split : splitsToPause) {
                pausedSplitIds.add(split.splitId());
            }
            for (ShardSplit split : splitsToResume) {
                pausedSplitIds.remove(split.splitId());
            }
            for (ShardSubscription shard : shards) {
                demand(shard, calls);
            }
        }
        calls.forEach(Runnable::run);
    }

    /** The shards this reader does not deliver now (for tests and logs). */
    public Set<String> pausedSplitIds() {
        synchronized (lock) {
            return new HashSet<>(pausedSplitIds);
        }
    }

    @Override
    public void wakeUp() {
        synchronized (lock) {
            wokenUp = true;
            lock.notifyAll();
        }
    }

    @Override
    public void close() throws Exception {
        List<Runnable> calls = new ArrayList<>();
        synchronized (lock) {
            for (ShardSubscription shard : shards) {
                if (shard.attempt != null) {
                    cancel(shard.attempt, calls);
                }
                shard.metrics.unregister();
            }
            shards.clear();
        }
        calls.forEach(Runnable::run);
        kinesis.close();
    }
}
