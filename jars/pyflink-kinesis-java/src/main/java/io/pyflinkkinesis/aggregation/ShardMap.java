package io.pyflinkkinesis.aggregation;

import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Shard;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The shards of a stream as ListShards returned them at one moment: the open shards by hash key
 * (where new records go) and every listed shard, open or closed, by id (which hash keys a shard
 * covers, i.e. which sub-records a consumer of that shard keeps). Immutable.
 */
public final class ShardMap {

    static final ShardMap EMPTY = new ShardMap(new ArrayList<>());

    private final Map<String, ShardRange> byId = new HashMap<>();
    /** The open shards, by starting hash key; they do not overlap. */
    private final ShardRange[] open;

    ShardMap(Collection<ShardRange> shards) {
        List<ShardRange> openShards = new ArrayList<>();
        for (ShardRange shard : shards) {
            byId.put(shard.shardId, shard);
            if (shard.open) {
                openShards.add(shard);
            }
        }
        openShards.sort(Comparator.comparing(shard -> shard.startingHashKey));
        this.open = openShards.toArray(new ShardRange[0]);
    }

    /** The map of shards as the SDK lists them; a shard is open without an ending sequence number. */
    public static ShardMap fromShards(Collection<Shard> shards) {
        List<ShardRange> ranges = new ArrayList<>(shards.size());
        for (Shard shard : shards) {
            ranges.add(new ShardRange(shard.shardId(),
                    new BigInteger(shard.hashKeyRange().startingHashKey()),
                    new BigInteger(shard.hashKeyRange().endingHashKey()),
                    shard.sequenceNumberRange() == null
                            || shard.sequenceNumberRange().endingSequenceNumber() == null));
        }
        return new ShardMap(ranges);
    }

    /** The open shard whose range holds {@code hashKey}, or null if none does. */
    public ShardRange openShardFor(BigInteger hashKey) {
        int low = 0;
        int high = open.length - 1;
        while (low <= high) {
            int middle = (low + high) >>> 1;
            if (open[middle].startingHashKey.compareTo(hashKey) <= 0) {
                low = middle + 1;
            } else {
                high = middle - 1;
            }
        }
        // high is now the last shard starting at or before hashKey
        return high >= 0 && open[high].contains(hashKey) ? open[high] : null;
    }

    /** The listed shard called {@code shardId}, open or closed, or null if it was not listed. */
    public ShardRange shard(String shardId) {
        return byId.get(shardId);
    }

    boolean isOpen(String shardId) {
        ShardRange shard = byId.get(shardId);
        return shard != null && shard.open;
    }

    @Override
    public String toString() {
        return byId.size() + " shards, " + open.length + " open";
    }
}
