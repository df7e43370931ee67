package io.pyflinkkinesis.aggregation;

import org.apache.flink.kinesis.shaded.com.amazonaws.services.kinesis.clientlibrary.types.UserRecord;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The routing the writer does: records of one shard per aggregate, read back in full. */
class AggregationByShardTest {

    private static final int MIB = AggregatingKinesisStreamsSinkBuilder.MAX_KINESIS_RECORD_BYTES;

    private static Map<String, List<String>> byKey(List<String> keyedTexts) {
        Map<String, List<String>> result = new LinkedHashMap<>();
        for (String text : keyedTexts) {
            String key = text.substring(0, text.indexOf('='));
            result.computeIfAbsent(key, k -> new ArrayList<>()).add(text);
        }
        return result;
    }

    @Test
    void everyAggregateHoldsOnlyRecordsOfTheShardItsOwnKeyHashesInto() throws Exception {
        ShardMap map = new ShardMap(FakeStream.evenShards(4));
        List<PutRecordsRequestEntry> written = new ArrayList<>();
        PendingAggregates pending = new PendingAggregates(2_000, MIB,
                (entry, userRecords) -> written.add(entry));
        Random random = new Random(6);
        List<String> sent = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            KeyedRecord record = Records.text("user-" + random.nextInt(1_000), "event " + i);
            sent.add(record.partitionKey + "=event " + i);
            pending.add(map.openShardFor(record.hashKey).shardId, record, 0);
        }
        pending.emitAll();

        List<String> read = new ArrayList<>();
        int aggregates = 0;
        for (PutRecordsRequestEntry entry : written) {
            ShardRange shard = map.openShardFor(
                    KeyedRecord.hashKeyOf(entry.partitionKey().getBytes(StandardCharsets.UTF_8)));
            List<UserRecord> all = UserRecord.deaggregate(
                    Collections.singletonList(FakeStream.kclRecord(entry)));
            List<UserRecord> kept = UserRecord.deaggregate(
                    Collections.singletonList(FakeStream.kclRecord(entry)),
                    shard.startingHashKey, shard.endingHashKey);
            assertEquals(all.size(), kept.size());
            for (UserRecord record : kept) {
                assertTrue(shard.contains(KeyedRecord.hashKeyOf(
                        record.getPartitionKey().getBytes(StandardCharsets.UTF_8))));
                read.add(FakeStream.text(record));
            }
            aggregates += all.size() > 1 ? 1 : 0;
        }

        assertTrue(aggregates > 100, aggregates + " aggregates");
        assertEquals(sent.size(), read.size());
        assertEquals(byKey(sent), byKey(read));  // every record, in order per key
    }

    @Test
    void kclDropsAWholeAggregateWhenOneOfItsRecordsIsOutsideTheShard() {
        // This is why an aggregate that landed in the wrong shard is re-sent in full.
        List<ShardRange> halves = FakeStream.evenShards(2);
        ShardMap map = new ShardMap(halves);
        KplAggregate aggregate = new KplAggregate(MIB, MIB);
        int inLowerHalf = 0;
        for (int i = 0; i < 50; i++) {
            KeyedRecord record = Records.text("key-" + i, "data");
            aggregate.add(record);
            inLowerHalf += "shard-0".equals(map.openShardFor(record.hashKey).shardId) ? 1 : 0;
        }
        assertTrue(inLowerHalf > 0 && inLowerHalf < 50);

        List<UserRecord> kept = UserRecord.deaggregate(
                Collections.singletonList(FakeStream.kclRecord(aggregate.toEntry())),
                halves.get(0).startingHashKey, halves.get(0).endingHashKey);

        assertEquals(0, kept.size());
    }
}
