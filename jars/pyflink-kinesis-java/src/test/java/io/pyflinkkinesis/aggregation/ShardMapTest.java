package io.pyflinkkinesis.aggregation;

import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static io.pyflinkkinesis.aggregation.FakeStream.MAX_HASH_KEY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardMapTest {

    private static BigInteger big(String value) {
        return new BigInteger(value);
    }

    private static String shardOf(ShardMap map, BigInteger hashKey) {
        ShardRange shard = map.openShardFor(hashKey);
        return shard == null ? null : shard.shardId;
    }

    @Test
    void oneShardHoldsEveryHashKey() {
        ShardMap map = new ShardMap(FakeStream.evenShards(1));

        assertEquals("shard-0", shardOf(map, BigInteger.ZERO));
        assertEquals("shard-0", shardOf(map, MAX_HASH_KEY));
        assertEquals("shard-0", shardOf(map, KeyedRecord.hashKeyOf(
                "any".getBytes(StandardCharsets.UTF_8))));
    }

    @Test
    void fourShardsIncludeBothEndsOfTheirRanges() {
        List<ShardRange> shards = FakeStream.evenShards(4);
        ShardMap map = new ShardMap(shards);

        for (ShardRange shard : shards) {
            assertEquals(shard.shardId, shardOf(map, shard.startingHashKey));
            assertEquals(shard.shardId, shardOf(map, shard.endingHashKey));
            assertEquals(shard.shardId, shardOf(map,
                    shard.startingHashKey.add(shard.endingHashKey).shiftRight(1)));
        }
        assertEquals("shard-1", shardOf(map, shards.get(0).endingHashKey.add(BigInteger.ONE)));
        assertEquals("shard-2", shardOf(map, shards.get(2).startingHashKey));
        assertEquals("shard-3", shardOf(map, MAX_HASH_KEY));
    }

    @Test
    void unevenShardsAfterSplitsRouteOnlyToOpenShards() {
        FakeStream stream = FakeStream.withEvenShards(2);
        stream.split("shard-0", big("1000"));
        stream.split("shard-0b", big("1001"));
        ShardMap map = ShardMap.fromShards(FakeStream.sdkShards(stream.shards.values()));

        assertEquals("shard-0a", shardOf(map, BigInteger.ZERO));
        assertEquals("shard-0a", shardOf(map, big("999")));
        assertEquals("shard-0ba", shardOf(map, big("1000")));
        assertEquals("shard-0bb", shardOf(map, big("1001")));
        assertEquals("shard-0bb", shardOf(map, stream.shards.get("shard-0").endingHashKey));
        assertEquals("shard-1", shardOf(map, stream.shards.get("shard-1").startingHashKey));
        // closed shards are still known by id, with their ranges
        assertFalse(map.isOpen("shard-0"));
        assertTrue(map.shard("shard-0").contains(big("5")));
        assertTrue(map.isOpen("shard-0ba"));
        assertNull(map.shard("shard-9"));
    }

    @Test
    void aHashKeyInAGapHasNoShard() {
        ShardMap map = new ShardMap(Arrays.asList(
                new ShardRange("low", BigInteger.ZERO, big("99"), true),
                new ShardRange("high", big("200"), MAX_HASH_KEY, true)));

        assertEquals("low", shardOf(map, big("99")));
        assertNull(shardOf(map, big("100")));
        assertNull(shardOf(map, big("199")));
        assertEquals("high", shardOf(map, big("200")));
        assertNull(shardOf(ShardMap.EMPTY, BigInteger.ONE));
    }

    @Test
    void hashKeysAreTheUnsignedMd5OfTheUtf8Key() {
        // md5("a") = 0cc175b9c0f1b6a831c399e269772661
        assertEquals(new BigInteger("0cc175b9c0f1b6a831c399e269772661", 16),
                KeyedRecord.hashKeyOf("a".getBytes(StandardCharsets.UTF_8)));
        // md5("b") = 92eb5ffee6ae2fec3ad71c777531578f, high bit set: still positive
        assertEquals(new BigInteger("92eb5ffee6ae2fec3ad71c777531578f", 16),
                KeyedRecord.hashKeyOf("b".getBytes(StandardCharsets.UTF_8)));
    }
}
