package io.pyflinkkinesis.consumer;

import org.apache.flink.streaming.connectors.kinesis.model.StreamShardHandle;

import java.util.Map;

/** The shards a stream has now (ListShards). */
interface ShardLister {

    /**
     * The shards of {@code stream} by shard id. The connector's proxy answers an empty list when
     * the stream is being resharded (ResourceInUseException) or a page expired: callers trust a
     * listing only if it holds a shard they know exists.
     */
    Map<String, StreamShardHandle> shards(String stream) throws InterruptedException;
}
