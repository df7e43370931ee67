package io.pyflinkkinesis.aggregation;

import io.pyflinkkinesis.sink.KinesisSinkException;
import io.pyflinkkinesis.sink.StreamClient;

import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Shard;
import org.apache.flink.metrics.SimpleCounter;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LiveShardMapTest {

    /** A stream whose listings the test completes. */
    private static final class ManualListings implements StreamClient {
        final List<CompletableFuture<List<Shard>>> listings = new ArrayList<>();

        @Override
        public String describe() {
            return "stream 'manual'";
        }

        @Override
        public CompletableFuture<PutRecordsResponse> putRecords(
                List<PutRecordsRequestEntry> entries) {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletableFuture<List<Shard>> listShards() {
            CompletableFuture<List<Shard>> listing = new CompletableFuture<>();
            listings.add(listing);
            return listing;
        }

        @Override
        public void close() {}
    }

    private final long[] now = {10_000};
    private final SimpleCounter refreshes = new SimpleCounter();

    @Test
    void aRefreshAskedForWhileOneRunsJoinsItAndTheNewMapIsSwappedIn() {
        ManualListings stream = new ManualListings();
        LiveShardMap shards = new LiveShardMap(stream, () -> now[0], 1_000, refreshes);

        CompletableFuture<ShardMap> first = shards.refresh();
        CompletableFuture<ShardMap> second = shards.refresh();

        assertSame(first, second);
        assertEquals(1, stream.listings.size());
        assertSame(ShardMap.EMPTY, shards.current());
        stream.listings.get(0).complete(FakeStream.sdkShards(FakeStream.evenShards(2)));
        assertSame(shards.current(), first.join());
        assertNotNull(shards.current().shard("shard-1"));
        assertEquals(1, refreshes.getCount());
    }

    @Test
    void refreshesStartAtMostOncePerInterval() {
        FakeStream stream = FakeStream.withEvenShards(2);  // answers at once
        LiveShardMap shards = new LiveShardMap(stream, () -> now[0], 1_000, refreshes);

        shards.refresh().join();
        now[0] += 999;
        ShardMap tooSoon = shards.refresh().join();
        now[0] += 1;
        stream.split("shard-0", BigInteger.TEN);
        ShardMap refreshed = shards.refresh().join();

        assertEquals(2, stream.listings);
        assertFalse(tooSoon.isOpen("shard-0a"));
        assertTrue(refreshed.isOpen("shard-0a"));
        assertEquals(2, refreshes.getCount());
    }

    @Test
    void aFailedRefreshKeepsTheCurrentMap() throws Exception {
        FakeStream stream = FakeStream.withEvenShards(2);
        LiveShardMap shards = new LiveShardMap(stream, () -> now[0], 1_000, refreshes);
        shards.load(1_000);
        ShardMap loaded = shards.current();
        stream.listingError = new IllegalStateException("throttled");

        assertSame(loaded, shards.refresh().join());
        assertSame(loaded, shards.current());
        assertEquals(0, refreshes.getCount());
    }

    @Test
    void aFirstListingThatFailsSaysWhatTheSinkNeeds() {
        FakeStream stream = FakeStream.withEvenShards(2);
        stream.listingError = new IllegalStateException("AccessDeniedException: not allowed");
        LiveShardMap shards = new LiveShardMap(stream, () -> now[0], 1_000, refreshes);

        String message = assertThrows(KinesisSinkException.class, () -> shards.load(1_000))
                .getMessage();

        assertTrue(message.startsWith("Could not list the shards of the Kinesis stream 'fake'"),
                message);
        assertTrue(message.contains("kinesis:ListShards"), message);
        assertTrue(message.contains("AccessDeniedException: not allowed"), message);
    }
}
