package io.pyflinkkinesis.aggregation;

import java.math.BigInteger;

/** A shard of a stream: its id, its hash key range (both ends inclusive) and whether it is open. */
public final class ShardRange {

    public final String shardId;
    public final BigInteger startingHashKey;
    public final BigInteger endingHashKey;
    /** Open shards take new records; closed ones (split or merged away) are only read. */
    public final boolean open;

    ShardRange(String shardId, BigInteger startingHashKey, BigInteger endingHashKey, boolean open) {
        this.shardId = shardId;
        this.startingHashKey = startingHashKey;
        this.endingHashKey = endingHashKey;
        this.open = open;
    }

    public boolean contains(BigInteger hashKey) {
        return startingHashKey.compareTo(hashKey) <= 0 && hashKey.compareTo(endingHashKey) <= 0;
    }

    @Override
    public String toString() {
        return shardId + "[" + startingHashKey + ".." + endingHashKey + (open ? "]" : "] closed");
    }
}
