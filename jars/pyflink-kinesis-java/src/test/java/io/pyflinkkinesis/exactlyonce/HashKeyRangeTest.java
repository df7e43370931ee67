package io.pyflinkkinesis.exactlyonce;

import org.junit.jupiter.api.Test;

import java.math.BigInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HashKeyRangeTest {

    private static final BigInteger MAX = BigInteger.ONE.shiftLeft(128).subtract(BigInteger.ONE);

    @Test
    void anAggregatesKeyNamesItsIntendedRangeAndReadsBack() {
        HashKeyRange all = new HashKeyRange(BigInteger.ZERO, MAX);
        HashKeyRange one = new HashKeyRange(BigInteger.TEN, BigInteger.TEN);

        assertEquals("pfk-shard:0-" + MAX, all.toPartitionKey());
        assertTrue(all.toPartitionKey().length() <= 256, "a Kinesis partition key");
        assertEquals(all, HashKeyRange.fromPartitionKey(all.toPartitionKey()));
        assertEquals(one, HashKeyRange.fromPartitionKey(one.toPartitionKey()));
    }

    @Test
    void anyOtherKeyNamesNoRange() {
        for (String key : new String[] {"p", "pfk-shard:", "pfk-shard:5-3", "pfk-shard:01-2",
                "pfk-shard:1-2 ", "pfk-shard:-1-2", "x-pfk-shard:1-2",
                "pfk-shard:0-" + MAX.shiftLeft(4)}) {
            assertNull(HashKeyRange.fromPartitionKey(key), key);
        }
    }

    @Test
    void rangesIntersectAndNest() {
        HashKeyRange low = new HashKeyRange(BigInteger.ZERO, BigInteger.valueOf(49));
        HashKeyRange middle = new HashKeyRange(BigInteger.valueOf(40), BigInteger.valueOf(59));

        assertEquals(new HashKeyRange(BigInteger.valueOf(40), BigInteger.valueOf(49)),
                low.intersection(middle));
        assertNull(low.intersection(new HashKeyRange(BigInteger.valueOf(50), MAX)));
        assertTrue(low.intersection(middle).isWithin(low));
        assertTrue(!middle.isWithin(low));
    }
}
