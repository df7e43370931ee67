package io.pyflinkkinesis.aggregation;

import io.pyflinkkinesis.sink.KinesisSinkException;
import io.pyflinkkinesis.sink.StreamClient;

import org.apache.flink.metrics.Counter;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;

/**
 * The latest {@link ShardMap} of a stream, refreshed without blocking anyone: a refresh lists the
 * shards asynchronously and swaps the new map in atomically; readers see the old map until then.
 *
 * <p>Refreshes are shared (a refresh asked for while one runs joins it) and spaced: one starts at
 * most every {@code minRefreshIntervalMs}; asked for sooner, the current map is the answer. A
 * failed refresh keeps the current map and is logged. Thread-safe: the writer's mailbox thread
 * and the SDK's response threads both use it.
 */
final class LiveShardMap {

    private static final Logger LOG = LoggerFactory.getLogger(LiveShardMap.class);

    private final StreamClient stream;
    private final LongSupplier clockMs;
    private final long minRefreshIntervalMs;
    private final Counter refreshes;

    private volatile ShardMap current = ShardMap.EMPTY;

    // guarded by this
    private CompletableFuture<ShardMap> running;
    private boolean refreshedBefore;
    private long lastRefreshStartMs;

    LiveShardMap(StreamClient stream, LongSupplier clockMs, long minRefreshIntervalMs,
            Counter refreshes) {
        this.stream = stream;
        this.clockMs = clockMs;
        this.minRefreshIntervalMs = minRefreshIntervalMs;
        this.refreshes = refreshes;
    }

    ShardMap current() {
        return current;
    }

    /**
     * Lists the shards and waits for them: the first map, before any record is routed.
     *
     * @throws KinesisSinkException when the shards cannot be listed in {@code timeoutMs}
     */
    void load(long timeoutMs) throws InterruptedException {
        try {
            current = ShardMap.fromShards(
                    stream.listShards().get(timeoutMs, TimeUnit.MILLISECONDS));
        } catch (ExecutionException | TimeoutException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new KinesisSinkException("Could not list the shards of the Kinesis "
                    + stream.describe() + ": the aggregating sink needs them (permission "
                    + "kinesis:ListShards) to put only records of one shard in an aggregate. "
                    + cause, cause);
        }
        LOG.info("Kinesis {}: {}", stream.describe(), current);
    }

    /** The map after a refresh (or the current one, if refreshed too recently); never fails. */
    synchronized CompletableFuture<ShardMap> refresh() {
        if (running != null) {
            return running;
        }
        long now = clockMs.getAsLong();
        if (refreshedBefore && now - lastRefreshStartMs < minRefreshIntervalMs) {
            return CompletableFuture.completedFuture(current);
        }
        refreshedBefore = true;
        lastRefreshStartMs = now;
        CompletableFuture<ShardMap> refreshed = listShards().handle((map, error) -> {
            synchronized (this) {
                running = null;
                if (error != null) {
                    LOG.warn("Could not refresh the shards of the Kinesis {}; keeping {}",
                            stream.describe(), current, error);
                    return current;
                }
                current = map;
                refreshes.inc();
                LOG.info("Kinesis {} refreshed: {}", stream.describe(), map);
                return map;
            }
        });
        // A listing that completed at once has already cleared `running`.
        running = refreshed.isDone() ? null : refreshed;
        return refreshed;
    }

    private CompletableFuture<ShardMap> listShards() {
        try {
            return stream.listShards().thenApply(ShardMap::fromShards);
        } catch (RuntimeException e) {
            CompletableFuture<ShardMap> failed = new CompletableFuture<>();
            failed.completeExceptionally(e);
            return failed;
        }
    }
}
