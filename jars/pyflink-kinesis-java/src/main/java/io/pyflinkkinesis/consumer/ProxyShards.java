package io.pyflinkkinesis.consumer;

import org.apache.flink.kinesis.shaded.com.amazonaws.services.kinesis.model.GetRecordsResult;
import org.apache.flink.streaming.connectors.kinesis.model.SentinelSequenceNumber;
import org.apache.flink.streaming.connectors.kinesis.model.SequenceNumber;
import org.apache.flink.streaming.connectors.kinesis.model.StreamShardHandle;
import org.apache.flink.streaming.connectors.kinesis.proxy.KinesisProxyInterface;

import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Questions about shards, asked through the connector's proxy (with its retries and backoff).
 *
 * <p>ListShards runs at most once per {@link #MIN_INTERVAL_MILLIS} per stream, however many
 * children of the subtask wait: a stream's ListShards quota (100 calls/s) is shared with every
 * subtask's shard discovery.
 */
final class ProxyShards implements ShardLister {

    static final long MIN_INTERVAL_MILLIS = 1000;
    /** GetRecords calls {@link #isDrained} follows through empty answers. */
    static final int DRAIN_PROBE_CALLS = 3;

    private final Supplier<KinesisProxyInterface> proxyFactory;
    private final LongSupplier clock;
    private final Map<String, Listing> listings = new HashMap<>();
    private KinesisProxyInterface proxy;

    private static final class Listing {
        final long at;
        final Map<String, StreamShardHandle> shards;

        Listing(long at, Map<String, StreamShardHandle> shards) {
            this.at = at;
            this.shards = shards;
        }
    }

    /**
     * @param proxyFactory makes the proxy when it is first needed
     * @param clock milliseconds
     */
    ProxyShards(Supplier<KinesisProxyInterface> proxyFactory, LongSupplier clock) {
        this.proxyFactory = proxyFactory;
        this.clock = clock;
    }

    @Override
    public synchronized Map<String, StreamShardHandle> shards(String stream)
            throws InterruptedException {
        long now = clock.getAsLong();
        Listing last = listings.get(stream);
        if (last != null && now - last.at < MIN_INTERVAL_MILLIS) {
            return last.shards;
        }
        List<StreamShardHandle> listed = proxy().getShardList(
                Collections.singletonMap(stream, null)).getRetrievedShardListOfStream(stream);
        Map<String, StreamShardHandle> shards = new HashMap<>();
        if (listed != null) {
            for (StreamShardHandle shard : listed) {
                shards.put(shard.getShard().getShardId(), shard);
            }
        }
        listings.put(stream, new Listing(now, shards));
        return shards;
    }

    /**
     * Whether closed shard {@code shard} has no record after {@code last} (the last record
     * emitted from it, or the sentinel it started at): GetRecords there answers no records and
     * no next iterator, which Kinesis does only at a closed shard's end. False when it cannot
     * tell: a position inside a KPL aggregate, an AT_TIMESTAMP start, or empty answers that
     * still name a next iterator.
     */
    synchronized boolean isDrained(StreamShardHandle shard, SequenceNumber last)
            throws InterruptedException {
        String type;
        String marker = null;
        if (last.equals(SentinelSequenceNumber.SENTINEL_EARLIEST_SEQUENCE_NUM.get())) {
            type = "TRIM_HORIZON";
        } else if (last.equals(SentinelSequenceNumber.SENTINEL_LATEST_SEQUENCE_NUM.get())) {
            type = "LATEST";
        } else if (SentinelSequenceNumber.isSentinelSequenceNumber(last) || last.isAggregated()) {
            return false;
        } else {
            type = "AFTER_SEQUENCE_NUMBER";
            marker = last.getSequenceNumber();
        }
        String iterator = proxy().getShardIterator(shard, type, marker);
        for (int call = 0; call < DRAIN_PROBE_CALLS && iterator != null; call++) {
            GetRecordsResult answer = proxy().getRecords(iterator, 1);
            if (!answer.getRecords().isEmpty()) {
                return false;
            }
            iterator = answer.getNextShardIterator();
        }
        return iterator == null;
    }

    private KinesisProxyInterface proxy() {
        if (proxy == null) {
            proxy = proxyFactory.get();
        }
        return proxy;
    }
}
