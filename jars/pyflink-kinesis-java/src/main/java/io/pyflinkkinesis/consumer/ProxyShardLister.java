package io.pyflinkkinesis.consumer;

import org.apache.flink.streaming.connectors.kinesis.model.StreamShardHandle;
import org.apache.flink.streaming.connectors.kinesis.proxy.KinesisProxyInterface;

import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * ListShards through the connector's proxy (with its retries and backoff), at most once per
 * {@link #MIN_INTERVAL_MILLIS} per stream, however many children of the subtask wait: a
 * stream's ListShards quota (100 calls/s) is shared with every subtask's shard discovery.
 */
final class ProxyShardLister implements ShardLister {

    static final long MIN_INTERVAL_MILLIS = 1000;

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
     * @param proxyFactory makes the proxy when the first listing is needed
     * @param clock milliseconds
     */
    ProxyShardLister(Supplier<KinesisProxyInterface> proxyFactory, LongSupplier clock) {
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
        if (proxy == null) {
            proxy = proxyFactory.get();
        }
        List<StreamShardHandle> listed = proxy.getShardList(
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
}
