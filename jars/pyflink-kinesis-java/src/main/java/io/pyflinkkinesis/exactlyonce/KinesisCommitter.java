package io.pyflinkkinesis.exactlyonce;

import io.pyflinkkinesis.aggregation.AggregatingKinesisStreamsSinkBuilder;
import io.pyflinkkinesis.aggregation.KeyedRecord;
import io.pyflinkkinesis.aggregation.KplAggregate;
import io.pyflinkkinesis.aggregation.ShardMap;
import io.pyflinkkinesis.aggregation.ShardRange;
import io.pyflinkkinesis.sink.KinesisSinkException;
import io.pyflinkkinesis.sink.PutRecordsErrors;
import io.pyflinkkinesis.sink.StreamClient;

import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.AccessDeniedException;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResultEntry;

import org.apache.flink.util.ExceptionUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.UnknownHostException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;

/**
 * Writes each committable's records to Kinesis, each with its id, so that what landed in a shard
 * from one writer is always a prefix, in id order, of what was meant for that shard.
 *
 * <p>The records are routed by the stream's shard map (ListShards) to the open shard holding
 * their hash key and packed per shard, in id order, into KPL aggregates whose explicit hash key
 * is the shard's starting hash key and whose own partition key names the shard's range ({@link
 * HashKeyRange#toPartitionKey()}): de-duplicating readers keep their marks per intended shard,
 * since aggregates meant for two shards merged after the map was read land in the child
 * interleaved. Each aggregate goes in a PutRecords request of its own, and a shard's next
 * aggregate goes out as soon as its previous one landed, whatever the other shards' requests are
 * doing: a throttled or failed aggregate is sent again (same ids) first, and holds up only its
 * own shard. An aggregate that landed in a shard whose range does
 * not hold all its records (the stream was resharded after the map was read; readers drop such an
 * aggregate whole) is sent again, with every record not yet landed, routed by a new map.
 *
 * <p>Flink 1.20 calls {@link #commit} on the task's thread when a checkpoint completes. When the
 * sink's writer is chained with this committer, the writes go to a background thread and the
 * task takes in the next checkpoint's records meanwhile; the writer waits for them before it hands
 * over its next committable (see {@link CommitLink}), and a write that failed fails the task
 * there. Otherwise {@code commit} writes before it returns. Retryable failures (throttling, partial
 * failures, request errors) are retried here until {@code commitTimeoutMs}; then a background
 * write fails the task (the job restores its last checkpoint and writes the committable again)
 * and a synchronous one marks the request to retry (Flink calls {@code commit} again at once, at
 * most {@code sink.committer.retries} times, then the job fails). A throttled aggregate is sent
 * again after a short fixed pause: a shard's write quota
 * refills continuously, and an aggregate of up to 1 MiB lands only once its shard's quota holds
 * that much again, so a growing pause would leave refilled quota unused (measured: 0.6 of
 * kinesalite's quota with pauses doubling to 2 s). Other failures are retried with a pause
 * doubling up to the most. Errors that will not go away (stream not found, invalid credentials, a
 * denied call) fail the job at once.
 */
public final class KinesisCommitter implements Committer<KinesisCommittable> {

    private static final Logger LOG = LoggerFactory.getLogger(KinesisCommitter.class);

    /** A PutRecords entry's error code when its shard's write quota was spent. */
    private static final String THROTTLED = "ProvisionedThroughputExceededException";

    private static final int MAX_AGGREGATE_BYTES =
            AggregatingKinesisStreamsSinkBuilder.MAX_KINESIS_RECORD_BYTES;

    private final StreamClient stream;
    private final PutRecordsErrors errors;
    private final LongSupplier clockMs;
    private final Sleeper sleeper;
    private final long commitTimeoutMs;
    private final long initialBackoffMs;
    private final long maxBackoffMs;
    private final long throttledRetryMs;

    /** Where this subtask's writer waits for the background writes. */
    private final CommitLink link;
    /** Writes committables in the background, one after the other; null until the first. */
    private ExecutorService background;

    /** The shards as last listed, or null before the first commit. */
    private ShardMap shards;

    /** Waits between retries: {@code Thread::sleep}, or a test's record of the waits. */
    interface Sleeper {
        void sleep(long ms) throws InterruptedException;
    }

    KinesisCommitter(StreamClient stream, LongSupplier clockMs, Sleeper sleeper,
            long commitTimeoutMs, long initialBackoffMs, long maxBackoffMs,
            long throttledRetryMs, CommitLink link) {
        this.stream = stream;
        this.link = link;
        link.openCommitter();
        this.errors = new PutRecordsErrors(stream.describe(), false);
        this.clockMs = clockMs;
        this.sleeper = sleeper;
        this.commitTimeoutMs = commitTimeoutMs;
        this.initialBackoffMs = initialBackoffMs;
        this.maxBackoffMs = maxBackoffMs;
        this.throttledRetryMs = throttledRetryMs;
    }

    /**
     * Writes the committables in the background when its {@link CommitLink} allows (the writer
     * waits for them before the next checkpoint), else before it returns, after the background
     * writes. A receipt is written with the records its writer holds; a restored receipt of
     * another writer is skipped (that writer's restored state hands its records over again).
     */
    @Override
    public void commit(Collection<CommitRequest<KinesisCommittable>> requests)
            throws InterruptedException {
        if (link.inBackground()) {
            for (CommitRequest<KinesisCommittable> request : requests) {
                KinesisCommittable committable = resolve(request.getCommittable());
                if (committable != null) {
                    link.writeInBackground(() -> writeOrFail(committable), background());
                }
            }
            return;
        }
        link.awaitWrites();
        for (CommitRequest<KinesisCommittable> request : requests) {
            KinesisCommittable committable = resolve(request.getCommittable());
            if (committable == null) {
                continue;
            }
            try {
                write(committable);
                link.written(committable);
            } catch (CommitTimeout e) {
                LOG.warn("Could not write {} to the Kinesis {} in {} ms; retrying it",
                        committable, stream.describe(), commitTimeoutMs, e.getCause());
                request.retryLater();
            } catch (KinesisSinkException e) {
                request.signalFailedWithUnknownReason(e);
            }
        }
    }

    /** The committable to write for {@code committable}, or null for another writer's receipt. */
    private KinesisCommittable resolve(KinesisCommittable committable) {
        KinesisCommittable resolved = link.resolve(committable);
        if (resolved == null) {
            LOG.info("Kinesis {}: skipping the restored {}: its records are in the restored "
                    + "state of the sink's writers, which hand them over again",
                    stream.describe(), committable);
        }
        return resolved;
    }

    private ExecutorService background() {
        if (background == null) {
            LOG.info("Kinesis {}: the committer writes in the background, chained with its "
                    + "writer, which waits for the writes at the next checkpoint",
                    stream.describe());
            background = Executors.newSingleThreadExecutor(task -> {
                Thread thread = new Thread(task, "exactly-once Kinesis committer for the "
                        + stream.describe());
                thread.setDaemon(true);
                return thread;
            });
        }
        return background;
    }

    /**
     * Writes {@code committable} in the background: a failure, and a retryable one that outlasts
     * the commit timeout, fails the writer's next checkpoint, so the job restores the last
     * checkpoint, which still holds the committable, and writes it again.
     */
    private void writeOrFail(KinesisCommittable committable) {
        try {
            write(committable);
            link.written(committable);
        } catch (CommitTimeout e) {
            throw new KinesisSinkException("Could not write " + committable + " to the Kinesis "
                    + stream.describe() + " in " + commitTimeoutMs + " ms (the commit timeout); "
                    + "the job restores its last checkpoint and writes them again. The last "
                    + "error: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KinesisSinkException("Writing " + committable + " to the Kinesis "
                    + stream.describe() + " was interrupted (the task is cancelled)", e);
        }
    }

    /** The retryable failure that outlasted the commit timeout. */
    private static final class CommitTimeout extends Exception {
        private static final long serialVersionUID = 1L;

        CommitTimeout(Throwable lastError) {
            super(lastError);
        }
    }

    /**
     * Writes every record of {@code committable} into a shard whose readers keep it.
     *
     * @throws KinesisSinkException on an error that will not go away
     * @throws CommitTimeout when retryable failures lasted past the commit timeout
     */
    void write(KinesisCommittable committable) throws InterruptedException, CommitTimeout {
        Backoff backoff = new Backoff(clockMs.getAsLong() + commitTimeoutMs);
        if (shards == null) {
            shards = listShards(backoff);
        }
        List<Integer> unwritten = new ArrayList<>(committable.records().size());
        for (int i = 0; i < committable.records().size(); i++) {
            unwritten.add(i);
        }
        while (!unwritten.isEmpty()) {
            Map<ShardRange, Deque<Integer>> queues = route(committable, unwritten, backoff);
            boolean resharded = writeQueues(committable, queues, backoff);
            unwritten = new ArrayList<>();
            for (Deque<Integer> queue : queues.values()) {
                unwritten.addAll(queue);
            }
            unwritten.sort(null);
            if (resharded) {
                shards = listShards(backoff);
                LOG.info("The Kinesis {} was resharded: writing the {} records of {} not yet "
                        + "landed by the new map", stream.describe(), unwritten.size(),
                        committable);
            }
        }
    }

    /** The records by the open shard holding their hash key, in id order per shard. */
    private Map<ShardRange, Deque<Integer>> route(KinesisCommittable committable,
            List<Integer> records, Backoff backoff) throws InterruptedException, CommitTimeout {
        Map<ShardRange, Deque<Integer>> queues = new LinkedHashMap<>();
        for (int index : records) {
            KeyedRecord record = committable.records().get(index);
            ShardRange shard = shards.openShardFor(record.hashKey);
            while (shard == null) {
                // A map listed during a reshard may miss a child shard: list again.
                backoff.pause(new IllegalStateException(
                        "no open shard holds hash key " + record.hashKey + " in " + shards));
                shards = listShards(backoff);
                shard = shards.openShardFor(record.hashKey);
            }
            queues.computeIfAbsent(shard, key -> new ArrayDeque<>()).add(index);
        }
        return queues;
    }

    /** One aggregate for a shard: the first records of the shard's queue. */
    private static final class Put {
        final KplAggregate aggregate;
        final PutRecordsRequestEntry entry;

        Put(ShardRange shard, KplAggregate aggregate) {
            this.aggregate = aggregate;
            this.entry = aggregate.toEntry(shard.startingHashKey);
        }
    }

    /**
     * One shard's queue: its next aggregate, sent alone in a PutRecords request, and sent again
     * until it lands; the one after it is built while it is on its way.
     */
    private final class ShardWrites {
        final KinesisCommittable committable;
        final ShardRange shard;
        final Deque<Integer> queue;
        /** The aggregate on its way or to send (again); null once the queue is written. */
        Put put;
        /** The aggregate after {@link #put}, built while it is on its way; null if none. */
        Put following;
        /** The answer to {@link #put}, while it is on its way; else null. */
        CompletableFuture<PutRecordsResponse> response;
        /** When {@link #put} may be sent again after a failure. */
        long retryAtMs;
        /** The pauses after failures other than throttling. */
        final Doubling pauses = new Doubling();

        ShardWrites(KinesisCommittable committable, ShardRange shard, Deque<Integer> queue) {
            this.committable = committable;
            this.shard = shard;
            this.queue = queue;
            this.put = nextAggregate(committable, shard, queue, 0);
        }

        void send() {
            response = putRecords(Collections.singletonList(put.entry));
        }

        void buildFollowing() {
            if (following == null && queue.size() > put.aggregate.size()) {
                following = nextAggregate(committable, shard, queue, put.aggregate.size());
            }
        }

        /** {@link #put} landed in a shard that holds its records: on to the next one. */
        void landed() {
            for (int landed = 0; landed < put.aggregate.size(); landed++) {
                queue.poll();
            }
            put = following;
            following = null;
            pauses.reset();
        }

        /**
         * {@link #put} did not land: it is sent again after a short fixed pause when throttled,
         * else after a doubling one.
         *
         * @throws CommitTimeout when that would be past the deadline
         */
        void failed(String error, boolean throttled, Backoff deadline)
                throws CommitTimeout {
            long waitMs = throttled ? throttledRetryMs : pauses.next();
            retryAtMs = deadline.retryAtMs(waitMs, new KinesisSinkException("PutRecords to the "
                    + "Kinesis " + stream.describe() + " failed for " + shard.shardId + ": "
                    + error));
        }
    }

    /**
     * Writes the queues, each shard on its own: its aggregates one after the other, the next
     * sent as soon as the one before landed, so a throttled or slow shard holds up no other.
     * Returns when all are written, or true once an aggregate landed where its readers drop it
     * (after the aggregates on their way are answered: the caller routes what is left again).
     */
    private boolean writeQueues(KinesisCommittable committable,
            Map<ShardRange, Deque<Integer>> queues, Backoff backoff)
            throws InterruptedException, CommitTimeout {
        List<ShardWrites> writes = new ArrayList<>();
        for (Map.Entry<ShardRange, Deque<Integer>> queue : queues.entrySet()) {
            if (!queue.getValue().isEmpty()) {
                writes.add(new ShardWrites(committable, queue.getKey(), queue.getValue()));
            }
        }
        boolean misplaced = false;
        while (true) {
            long nowMs = clockMs.getAsLong();
            long wakeMs = Long.MAX_VALUE;
            List<ShardWrites> onTheirWay = new ArrayList<>();
            for (ShardWrites shard : writes) {
                if (shard.put == null || (shard.response == null && misplaced)) {
                    continue;
                }
                if (shard.response == null && shard.retryAtMs > nowMs) {
                    wakeMs = Math.min(wakeMs, shard.retryAtMs);
                    continue;
                }
                if (shard.response == null) {
                    shard.send();
                }
                onTheirWay.add(shard);
            }
            if (onTheirWay.isEmpty()) {
                if (misplaced || wakeMs == Long.MAX_VALUE) {
                    return misplaced;
                }
                LOG.debug("Retrying a write to the Kinesis {} in {} ms", stream.describe(),
                        wakeMs - nowMs);
                sleeper.sleep(wakeMs - nowMs);
                continue;
            }
            for (ShardWrites shard : onTheirWay) {
                shard.buildFollowing();
            }
            awaitAny(onTheirWay, wakeMs, backoff);
            for (ShardWrites shard : onTheirWay) {
                if (!shard.response.isDone()) {
                    continue;
                }
                PutRecordsResultEntry result = result(shard.response);
                shard.response = null;
                if (result.errorCode() != null) {
                    shard.failed(result.errorCode() + ": " + result.errorMessage(),
                            THROTTLED.equals(result.errorCode()), backoff);
                } else if (shard.shard.shardId.equals(result.shardId())
                        || readable(shard.put.aggregate, result.shardId(), backoff)) {
                    // A shard's range never changes: the one routed to holds all the records.
                    shard.landed();
                } else {
                    misplaced = true;
                }
            }
        }
    }

    /**
     * Waits until one of the shards' aggregates is answered, or until {@code wakeMs} (a shard's
     * retry), whichever comes first.
     *
     * @throws CommitTimeout when none is answered by the deadline
     */
    private void awaitAny(List<ShardWrites> onTheirWay, long wakeMs, Backoff backoff)
            throws InterruptedException, CommitTimeout {
        CompletableFuture<?>[] responses = new CompletableFuture<?>[onTheirWay.size()];
        for (int i = 0; i < responses.length; i++) {
            responses[i] = onTheirWay.get(i).response;
        }
        long waitMs = wakeMs == Long.MAX_VALUE ? backoff.remainingMs()
                : Math.min(backoff.remainingMs(), Math.max(1, wakeMs - clockMs.getAsLong()));
        try {
            CompletableFuture.anyOf(responses).get(waitMs, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            // read per shard by result()
        } catch (TimeoutException e) {
            if (backoff.remainingMs() <= 1) {
                throw new CommitTimeout(new TimeoutException("PutRecords to the Kinesis "
                        + stream.describe() + " not answered within the commit timeout"));
            }
        }
    }

    /**
     * The result of a request of one entry; a request that failed gives an error result.
     *
     * @throws KinesisSinkException when it failed with an error that will not go away
     */
    private PutRecordsResultEntry result(CompletableFuture<PutRecordsResponse> response)
            throws InterruptedException {
        List<PutRecordsResultEntry> answered;
        try {
            answered = response.get().records();
        } catch (ExecutionException e) {
            throwIfFatal(e.getCause());
            return PutRecordsResultEntry.builder()
                    .errorCode("RequestFailed").errorMessage(e.getCause().toString()).build();
        }
        if (answered.size() != 1) {
            throw new IllegalStateException("PutRecords answered " + answered.size()
                    + " results for 1 record");
        }
        return answered.get(0);
    }

    /**
     * The shard's next aggregate: as many records as fit from its queue, after the first {@code
     * skip} (those of the aggregate on its way).
     */
    private static Put nextAggregate(KinesisCommittable committable, ShardRange shard,
            Deque<Integer> queue, int skip) {
        KplAggregate aggregate = new KplAggregate(MAX_AGGREGATE_BYTES, MAX_AGGREGATE_BYTES,
                new HashKeyRange(shard.startingHashKey, shard.endingHashKey).toPartitionKey());
        int skipped = 0;
        for (int index : queue) {
            if (skipped < skip) {
                skipped++;
            } else if (!aggregate.add(committable.records().get(index), committable.idOf(index))) {
                break;
            }
        }
        if (aggregate.isEmpty()) {
            throw new KinesisSinkException("A record of " + committable + " does not fit a "
                    + "Kinesis record with its id; the writer refuses such records");
        }
        return new Put(shard, aggregate);
    }

    private CompletableFuture<PutRecordsResponse> putRecords(List<PutRecordsRequestEntry> entries) {
        try {
            return stream.putRecords(entries);
        } catch (RuntimeException e) {
            CompletableFuture<PutRecordsResponse> failed = new CompletableFuture<>();
            failed.completeExceptionally(e);
            return failed;
        }
    }

    /**
     * Fails the commit (and so the job) on an error that will not go away: those the sink's
     * writers take for fatal, and a denied call (a missing permission stays missing; the
     * at-least-once writers retry it as connector 4.3.0 does, but a commit retrying it would
     * hold the task and its checkpoints for the commit timeout, then ten times more). A lost
     * connection is not one of them, though connector 4.3.0's writers fail on any SDK client
     * error once the SDK's own retries are spent: the committer sends the same aggregate again,
     * and if the lost request had landed, readers drop the copy by its ids.
     */
    private void throwIfFatal(Throwable error) {
        if (lostConnection(error)) {
            return;
        }
        Optional<AccessDeniedException> denied =
                ExceptionUtils.findThrowable(error, AccessDeniedException.class);
        if (denied.isPresent()) {
            throw new KinesisSinkException("Writing to the Kinesis " + stream.describe()
                    + " was denied: " + denied.get().getMessage() + ". The exactly-once sink "
                    + "needs kinesis:PutRecords and kinesis:ListShards on the stream "
                    + "(pyflink-kinesis iam-policy prints the policy).", denied.get());
        }
        Exception fatal = errors.ofRequest(error, 0);
        if (fatal instanceof KinesisSinkException) {
            throw (KinesisSinkException) fatal;
        }
        if (fatal != null) {
            throw new KinesisSinkException("Writing to the Kinesis " + stream.describe()
                    + " failed: " + fatal.getMessage(), fatal);
        }
    }

    /** A connection refused, reset or closed; not a host that does not resolve. */
    private static boolean lostConnection(Throwable error) {
        return ExceptionUtils.findThrowable(error, IOException.class).isPresent()
                && !ExceptionUtils.findThrowable(error, UnknownHostException.class).isPresent();
    }

    /**
     * Whether readers of {@code shardId} keep every record of {@code aggregate}: the shard's
     * range holds all their hash keys. A shard missing from the map is looked up in a new one.
     */
    private boolean readable(KplAggregate aggregate, String shardId, Backoff backoff)
            throws InterruptedException, CommitTimeout {
        ShardRange shard = shards.shard(shardId);
        if (shard == null) {
            shards = listShards(backoff);
            shard = shards.shard(shardId);
        }
        if (shard == null) {
            return false;
        }
        for (KeyedRecord record : aggregate.records()) {
            if (!shard.contains(record.hashKey)) {
                return false;
            }
        }
        return true;
    }

    /** Lists the stream's shards, retrying what may go away. */
    private ShardMap listShards(Backoff backoff) throws InterruptedException, CommitTimeout {
        while (true) {
            try {
                ShardMap map = ShardMap.fromShards(
                        stream.listShards().get(backoff.remainingMs(), TimeUnit.MILLISECONDS));
                LOG.info("Kinesis {}: {}", stream.describe(), map);
                return map;
            } catch (ExecutionException | TimeoutException | RuntimeException e) {
                Throwable error = e instanceof ExecutionException ? e.getCause() : e;
                throwIfFatal(error);
                backoff.pause(error);
            }
        }
    }

    /**
     * Waits between retries until the deadline: a fixed short pause after throttling, else a
     * pause doubling up to the most.
     */
    private final class Backoff {
        private final long deadlineMs;
        private final Doubling pauses = new Doubling();

        Backoff(long deadlineMs) {
            this.deadlineMs = deadlineMs;
        }

        long remainingMs() {
            return Math.max(1, deadlineMs - clockMs.getAsLong());
        }

        /**
         * Waits, doubling the wait each time up to the most.
         *
         * @throws CommitTimeout (caused by {@code error}) when the wait would pass the deadline
         */
        void pause(Throwable error) throws InterruptedException, CommitTimeout {
            long waitMs = pauses.next();
            retryAtMs(waitMs, error);
            LOG.debug("Retrying a call to the Kinesis {} in {} ms", stream.describe(), waitMs,
                    error);
            sleeper.sleep(waitMs);
        }

        /**
         * When a retry {@code waitMs} from now is due.
         *
         * @throws CommitTimeout (caused by {@code error}) when that is past the deadline
         */
        long retryAtMs(long waitMs, Throwable error) throws CommitTimeout {
            long atMs = clockMs.getAsLong() + waitMs;
            if (atMs > deadlineMs) {
                throw new CommitTimeout(error);
            }
            return atMs;
        }
    }

    /**
     * Pauses after failures: the first {@code initialBackoffMs}, each next twice the last, up to
     * {@code maxBackoffMs}.
     */
    private final class Doubling {
        private long nextMs = initialBackoffMs;

        long next() {
            long pauseMs = nextMs;
            nextMs = Math.min(nextMs * 2, maxBackoffMs);
            return pauseMs;
        }

        void reset() {
            nextMs = initialBackoffMs;
        }
    }

    /** Waits for the background writes (a failed one fails the task) unless interrupted. */
    @Override
    public void close() throws InterruptedException {
        try {
            link.closeCommitter();
            link.awaitWrites();
        } finally {
            if (background != null) {
                background.shutdownNow();
            }
            stream.close();
        }
    }
}
