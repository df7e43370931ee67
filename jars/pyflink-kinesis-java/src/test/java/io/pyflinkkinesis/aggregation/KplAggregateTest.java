package io.pyflinkkinesis.aggregation;

import io.pyflinkkinesis.exactlyonce.HashKeyRange;
import io.pyflinkkinesis.exactlyonce.RecordId;

import org.apache.flink.kinesis.shaded.com.amazonaws.services.kinesis.clientlibrary.types.Messages;
import org.apache.flink.kinesis.shaded.com.amazonaws.services.kinesis.clientlibrary.types.UserRecord;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KplAggregateTest {

    private static final int MIB = AggregatingKinesisStreamsSinkBuilder.MAX_KINESIS_RECORD_BYTES;

    private static List<KeyedRecord> fill(KplAggregate aggregate, Random random, int most) {
        List<KeyedRecord> added = new ArrayList<>();
        for (int i = 0; i < most; i++) {
            KeyedRecord record = Records.random(random);
            if (!aggregate.add(record)) {
                break;
            }
            added.add(record);
        }
        return added;
    }

    private static List<UserRecord> deaggregate(PutRecordsRequestEntry entry) {
        return UserRecord.deaggregate(Collections.singletonList(FakeStream.kclRecord(entry)));
    }

    private static byte[] bytesOf(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return bytes;
    }

    @Test
    void randomRecordsRoundTripThroughKclDeaggregationInOrder() {
        Random random = new Random(1);
        for (int round = 0; round < 60; round++) {
            KplAggregate aggregate = new KplAggregate(MIB, MIB);
            List<KeyedRecord> added = fill(aggregate, random, 2 + random.nextInt(400));
            assertTrue(added.size() >= 2);
            PutRecordsRequestEntry entry = aggregate.toEntry();
            assertEquals(added.get(0).partitionKey, entry.partitionKey());

            List<UserRecord> read = deaggregate(entry);

            assertEquals(added.size(), read.size());
            for (int i = 0; i < added.size(); i++) {
                UserRecord record = read.get(i);
                assertTrue(record.isAggregated());
                assertEquals(i, record.getSubSequenceNumber());
                assertEquals(added.get(i).partitionKey, record.getPartitionKey());
                assertNull(record.getExplicitHashKey());
                assertArrayEquals(added.get(i).data, bytesOf(record.getData()));
            }
        }
    }

    @Test
    void encodedSizeIsKnownExactlyAsRecordsAreAdded() {
        Random random = new Random(2);
        for (int round = 0; round < 10; round++) {
            KplAggregate aggregate = new KplAggregate(MIB, MIB);
            for (int i = 0; i < 600; i++) {
                // Some keys repeat, most are new: key indexes pass 127 (two varint bytes).
                String key = random.nextInt(4) == 0 ? "same" : Records.randomKey(random) + i;
                boolean added = aggregate.add(new KeyedRecord(key, Records.randomData(random)));
                if (added && (i % 20 == 0 || i < 10)) {
                    assertEquals(aggregate.encode().length, aggregate.encodedSize());
                }
            }
            assertEquals(aggregate.encode().length, aggregate.encodedSize());
        }
    }

    @Test
    void keyIndexesAndDataLengthsOfSeveralVarintBytesAreExact() {
        KplAggregate aggregate = new KplAggregate(MIB, MIB);
        for (int i = 0; i < 300; i++) {
            assertTrue(aggregate.add(Records.text("key-" + i, "v")));
        }
        assertTrue(aggregate.add(new KeyedRecord("key-299", new byte[16384])));
        assertTrue(aggregate.add(new KeyedRecord("key-1", new byte[200_000])));

        byte[] encoded = aggregate.encode();

        assertEquals(aggregate.encodedSize(), encoded.length);
        assertEquals(302, deaggregate(aggregate.toEntry()).size());
    }

    @Test
    void eachPartitionKeyIsStoredOnce() throws Exception {
        KplAggregate aggregate = new KplAggregate(MIB, MIB);
        Set<String> keys = new HashSet<>();
        Random random = new Random(3);
        for (int i = 0; i < 500; i++) {
            String key = "key-" + random.nextInt(20);
            keys.add(key);
            assertTrue(aggregate.add(Records.text(key, "data " + i)));
        }
        byte[] encoded = aggregate.encode();

        Messages.AggregatedRecord parsed = Messages.AggregatedRecord.parseFrom(
                Arrays.copyOfRange(encoded, 4, encoded.length - 16));

        assertEquals(keys.size(), parsed.getPartitionKeyTableCount());
        assertEquals(new HashSet<>(parsed.getPartitionKeyTableList()), keys);
        assertEquals(0, parsed.getExplicitHashKeyTableCount());
        assertEquals(500, parsed.getRecordsCount());
    }

    @Test
    void startsWithTheMagicAndEndsWithTheMd5OfTheProtobuf() throws Exception {
        KplAggregate aggregate = new KplAggregate(MIB, MIB);
        aggregate.add(Records.text("a", "one"));
        aggregate.add(Records.text("b", "two"));

        byte[] encoded = aggregate.encode();

        assertArrayEquals(new byte[] {(byte) 0xF3, (byte) 0x89, (byte) 0x9A, (byte) 0xC2},
                Arrays.copyOf(encoded, 4));
        byte[] protobuf = Arrays.copyOfRange(encoded, 4, encoded.length - 16);
        assertArrayEquals(MessageDigest.getInstance("MD5").digest(protobuf),
                Arrays.copyOfRange(encoded, encoded.length - 16, encoded.length));
    }

    @Test
    void aggregatesNeverExceedTheirLimitsAndARefusedRecordChangesNothing() {
        Random random = new Random(4);
        long[][] limits = {{300, 300}, {5_000, 4_000}, {70_000, 60_000}, {MIB, 200_000}, {MIB, MIB}};
        for (long[] limit : limits) {
            for (int round = 0; round < 20; round++) {
                KplAggregate aggregate = new KplAggregate(limit[0], limit[1]);
                KplAggregate accepted = new KplAggregate(MIB, MIB);
                byte[] ownKey = null;  // the first record's
                for (int i = 0; i < 300; i++) {
                    KeyedRecord record = Records.random(random);
                    int records = aggregate.size();
                    int size = aggregate.encodedSize();
                    if (aggregate.add(record)) {
                        accepted.add(record);
                        ownKey = ownKey == null ? record.keyBytes : ownKey;
                        assertTrue(aggregate.encodedSize() <= limit[1]);
                        assertTrue(aggregate.encodedSize() + ownKey.length <= limit[0]);
                    } else {
                        assertEquals(records, aggregate.size());
                        assertEquals(size, aggregate.encodedSize());
                    }
                }
                assertArrayEquals(accepted.encode(), aggregate.encode());
            }
        }
    }

    @Test
    void aFullAggregateUsesNearlyAllOfTheMebibyteKeyIncluded() {
        KplAggregate aggregate = new KplAggregate(MIB, MIB);
        String key = "🔑-full";
        int added = 0;
        while (aggregate.add(new KeyedRecord(key + added, new byte[1_000]))) {
            added++;
        }
        PutRecordsRequestEntry entry = aggregate.toEntry();
        long size = entry.data().asByteArrayUnsafe().length
                + entry.partitionKey().getBytes(StandardCharsets.UTF_8).length;

        assertTrue(size <= MIB, "size " + size);
        assertTrue(size > MIB - 1_100, "size " + size);
        assertEquals(added, deaggregate(entry).size());
    }

    @Test
    void anAggregateWithAnOwnKeyIsWrittenUnderItAndCountsItAgainstTheMebibyte() {
        String ownKey = new HashKeyRange(BigInteger.ZERO,
                BigInteger.ONE.shiftLeft(128).subtract(BigInteger.ONE)).toPartitionKey();
        KplAggregate aggregate = new KplAggregate(MIB, MIB, ownKey);
        int added = 0;
        for (int bytes : new int[] {1_000, 10}) {  // filled to within a few bytes
            while (aggregate.add(new KeyedRecord("k" + added % 10, new byte[bytes]))) {
                added++;
            }
        }
        PutRecordsRequestEntry entry = aggregate.toEntry(BigInteger.TEN);
        long size = entry.data().asByteArrayUnsafe().length
                + entry.partitionKey().getBytes(StandardCharsets.UTF_8).length;

        assertEquals(ownKey, entry.partitionKey());
        assertEquals("10", entry.explicitHashKey());
        assertTrue(size <= MIB, "size " + size);
        assertTrue(size > MIB - 30, "size " + size);
        assertEquals(added, deaggregate(entry).size());
    }

    @Test
    void aRecordTooBigForAnyAggregateIsRefusedEvenWhenEmpty() {
        KplAggregate aggregate = new KplAggregate(MIB, MIB);

        assertFalse(aggregate.add(new KeyedRecord("k", new byte[MIB - 20])));
        assertTrue(aggregate.isEmpty());
    }

    @Test
    void anAggregateOfOneRecordIsWrittenAsThatPlainRecord() {
        KplAggregate aggregate = new KplAggregate(MIB, MIB);
        aggregate.add(Records.text("only", "alone"));

        PutRecordsRequestEntry entry = aggregate.toEntry();

        assertEquals("only", entry.partitionKey());
        assertEquals("alone", entry.data().asUtf8String());
        assertFalse(KplFormat.isAggregate(entry.data().asByteArray()));
        assertFalse(deaggregate(entry).get(0).isAggregated());
    }

    @Test
    void recordsAddedWithIdsCarryOneIdTagEachThatTheKplParserReadsAndKclIgnores()
            throws Exception {
        Random random = new Random(7);
        RecordId.WriterId writer = RecordId.WriterId.random();
        BigInteger shardStart = new BigInteger("170141183460469231731687303715884105728");
        for (int round = 0; round < 40; round++) {
            KplAggregate aggregate = new KplAggregate(MIB, MIB);
            List<KeyedRecord> added = new ArrayList<>();
            List<RecordId> ids = new ArrayList<>();
            int most = round == 0 ? 1 : 1 + random.nextInt(300);
            for (int i = 0; i < most; i++) {
                KeyedRecord record = Records.random(random);
                RecordId id = new RecordId(writer, round * 1_000_000_007L + i);
                if (!aggregate.add(record, id)) {
                    break;
                }
                added.add(record);
                ids.add(id);
            }
            PutRecordsRequestEntry entry = aggregate.toEntry(shardStart);
            byte[] data = entry.data().asByteArray();
            assertEquals(aggregate.encodedSize(), data.length);
            assertTrue(data.length + entry.partitionKey().getBytes(StandardCharsets.UTF_8).length
                    <= MIB);
            assertEquals(shardStart.toString(), entry.explicitHashKey());
            assertEquals(added.get(0).partitionKey, entry.partitionKey());

            Messages.AggregatedRecord parsed = Messages.AggregatedRecord.parseFrom(
                    Arrays.copyOfRange(data, 4, data.length - 16));
            assertEquals(added.size(), parsed.getRecordsCount());
            for (int i = 0; i < added.size(); i++) {
                Messages.Record record = parsed.getRecords(i);
                assertEquals(1, record.getTagsCount());
                assertEquals(RecordId.TAG_KEY, record.getTags(0).getKey());
                assertEquals(ids.get(i), RecordId.fromTagValue(record.getTags(0).getValue()));
            }
            List<UserRecord> kcl = deaggregate(entry);
            assertEquals(added.size(), kcl.size());
            for (int i = 0; i < added.size(); i++) {
                assertEquals(added.get(i).partitionKey, kcl.get(i).getPartitionKey());
                assertArrayEquals(added.get(i).data, bytesOf(kcl.get(i).getData()));
            }
        }
    }
}
