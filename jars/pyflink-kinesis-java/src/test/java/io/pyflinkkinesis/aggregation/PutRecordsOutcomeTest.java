package io.pyflinkkinesis.aggregation;

import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import org.apache.flink.metrics.SimpleCounter;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PutRecordsOutcomeTest {

    private static final int MIB = AggregatingKinesisStreamsSinkBuilder.MAX_KINESIS_RECORD_BYTES;
    private static final BigInteger HALF = BigInteger.ONE.shiftLeft(127);

    private final long[] now = {0};

    private LiveShardMap loaded(FakeStream stream) throws Exception {
        LiveShardMap shards = new LiveShardMap(stream, () -> now[0], 1_000, new SimpleCounter());
        shards.load(1_000);
        return shards;
    }

    /** An aggregate of 50 records whose keys pass {@code keys}. */
    private static PutRecordsRequestEntry aggregateOf(Predicate<KeyedRecord> keys,
            List<String> texts) {
        KplAggregate aggregate = new KplAggregate(MIB, MIB);
        for (int i = 0; aggregate.size() < 50; i++) {
            KeyedRecord record = Records.text("key-" + i, "data-" + i);
            if (keys.test(record)) {
                aggregate.add(record);
                texts.add("key-" + i + "=data-" + i);
            }
        }
        return aggregate.toEntry();
    }

    private static List<String> sorted(List<String> texts) {
        List<String> result = new ArrayList<>(texts);
        Collections.sort(result);
        return result;
    }

    private static List<String> texts(List<PutRecordsRequestEntry> entries) {
        List<String> result = new ArrayList<>();
        for (PutRecordsRequestEntry entry : entries) {
            result.add(entry.partitionKey() + "=" + entry.data().asUtf8String());
        }
        return result;
    }

    @Test
    void afterASplitEveryRecordOfAnAggregateTheNewShardWouldDropIsResentPlain()
            throws Exception {
        FakeStream stream = FakeStream.withEvenShards(1);
        LiveShardMap shards = loaded(stream);
        List<String> sent = new ArrayList<>();
        PutRecordsRequestEntry aggregate = aggregateOf(record -> true, sent);
        stream.split("shard-0", HALF);  // after the aggregate was built
        List<PutRecordsRequestEntry> request = Collections.singletonList(aggregate);

        PutRecordsOutcome outcome = PutRecordsOutcome.of(request, stream.accept(request));
        Map<Integer, List<PutRecordsRequestEntry>> resends = outcome.resends(shards).join();
        assertEquals(Collections.singleton(0), resends.keySet());  // the aggregate, by index

        assertEquals(sent, texts(resends.get(0)));  // all of them, in order, each on its own
        assertEquals(2, stream.listings);  // the unknown child shard made the map refresh
        assertTrue(shards.current().isOpen("shard-0a"));
        assertEquals(Collections.emptyList(), stream.consumed());  // the aggregate is dropped
        stream.accept(resends.get(0));
        assertEquals(sorted(sent), sorted(stream.consumed()));
    }

    @Test
    void anAggregateWhoseShardHoldsAllItsRecordsIsLeftAlone() throws Exception {
        FakeStream stream = FakeStream.withEvenShards(2);
        LiveShardMap shards = loaded(stream);
        ShardRange lower = stream.shards.get("shard-0");
        PutRecordsRequestEntry aggregate = aggregateOf(record -> lower.contains(record.hashKey),
                new ArrayList<>());
        PutRecordsRequestEntry plain = KplAggregate.plain(Records.text("k", "plain"));
        List<PutRecordsRequestEntry> request = Arrays.asList(aggregate, plain);

        PutRecordsOutcome outcome = PutRecordsOutcome.of(request, stream.accept(request));

        assertEquals(Collections.emptyMap(), outcome.resends(shards).join());
        assertEquals(1, stream.listings);
        assertEquals(Collections.emptyList(), outcome.failed);
    }

    @Test
    void afterAMergeTheChildHoldsAllRecordsSoNothingIsResent() throws Exception {
        FakeStream stream = FakeStream.withEvenShards(2);
        LiveShardMap shards = loaded(stream);
        ShardRange lower = stream.shards.get("shard-0");
        PutRecordsRequestEntry aggregate = aggregateOf(record -> lower.contains(record.hashKey),
                new ArrayList<>());
        stream.merge("shard-0", "shard-1", "shard-2");
        List<PutRecordsRequestEntry> request = Collections.singletonList(aggregate);

        PutRecordsOutcome outcome = PutRecordsOutcome.of(request, stream.accept(request));

        assertEquals(Collections.emptyMap(), outcome.resends(shards).join());
        assertEquals(2, stream.listings);
        assertEquals(50, stream.consumed().size());
    }

    @Test
    void anAggregateInAShardThatStaysUnknownIsResentInFull() throws Exception {
        FakeStream stream = FakeStream.withEvenShards(1);
        LiveShardMap shards = loaded(stream);
        List<String> sent = new ArrayList<>();
        PutRecordsRequestEntry aggregate = aggregateOf(record -> true, sent);
        stream.split("shard-0", HALF);
        stream.listingError = new IllegalStateException("LimitExceededException");
        List<PutRecordsRequestEntry> request = Collections.singletonList(aggregate);

        PutRecordsOutcome outcome = PutRecordsOutcome.of(request, stream.accept(request));

        assertEquals(sent, texts(outcome.resends(shards).join().get(0)));
    }

    @Test
    void aKnownShardWhoseRangeMissesSomeRecordsGetsThemAllResent() throws Exception {
        FakeStream stream = FakeStream.withEvenShards(2);
        LiveShardMap shards = loaded(stream);
        List<String> sent = new ArrayList<>();
        PutRecordsRequestEntry aggregate = aggregateOf(record -> true, sent);  // both halves
        PutRecordsResponse landedInShard0 = PutRecordsResponse.builder()
                .records(FakeStream.landedIn("shard-0"))
                .build();

        PutRecordsOutcome outcome = PutRecordsOutcome.of(
                Collections.singletonList(aggregate), landedInShard0);

        assertEquals(sent, texts(outcome.resends(shards).join().get(0)));
        assertEquals(2, stream.listings);  // the map is out of date: refreshed
    }

    @Test
    void failedRecordsAreListedWithTheFirstError() {
        List<PutRecordsRequestEntry> request = Arrays.asList(
                KplAggregate.plain(Records.text("a", "1")),
                KplAggregate.plain(Records.text("b", "2")),
                KplAggregate.plain(Records.text("c", "3")));
        PutRecordsResponse response = PutRecordsResponse.builder().failedRecordCount(2).records(
                FakeStream.failure("ProvisionedThroughputExceededException", "Rate exceeded"),
                FakeStream.landedIn("shard-0"),
                FakeStream.failure("InternalFailure", "oops")).build();

        PutRecordsOutcome outcome = PutRecordsOutcome.of(request, response);

        assertEquals(Arrays.asList(request.get(0), request.get(2)), outcome.failed);
        assertEquals("ProvisionedThroughputExceededException: Rate exceeded", outcome.firstError);
    }

    @Test
    void aResponseForOtherRecordsIsRefused() {
        List<PutRecordsRequestEntry> request = Collections.singletonList(
                KplAggregate.plain(Records.text("a", "1")));
        PutRecordsResponse empty = PutRecordsResponse.builder()
                .records(Collections.emptyList()).build();

        assertThrows(IllegalStateException.class, () -> PutRecordsOutcome.of(request, empty));
    }
}
