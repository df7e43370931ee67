package io.pyflinkkinesis.aggregation;

import org.apache.flink.kinesis.shaded.com.amazonaws.services.kinesis.clientlibrary.types.Messages;
import org.apache.flink.kinesis.shaded.com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KplFormatTest {

    private static final int MIB = AggregatingKinesisStreamsSinkBuilder.MAX_KINESIS_RECORD_BYTES;

    @Test
    void unpackGivesBackTheRecordsTheirKeysAndHashKeysInOrder() {
        Random random = new Random(5);
        KplAggregate aggregate = new KplAggregate(MIB, MIB);
        List<KeyedRecord> added = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            KeyedRecord record = Records.random(random);
            if (aggregate.add(record)) {
                added.add(record);
            }
        }

        List<TaggedRecord> unpacked = KplFormat.unpack(aggregate.encode());

        assertEquals(added.size(), unpacked.size());
        for (int i = 0; i < added.size(); i++) {
            assertEquals(added.get(i).partitionKey, unpacked.get(i).record.partitionKey);
            assertEquals(added.get(i).hashKey, unpacked.get(i).record.hashKey);
            assertArrayEquals(added.get(i).data, unpacked.get(i).record.data);
            assertEquals(Collections.emptyList(), unpacked.get(i).tags);
        }
    }

    @Test
    void aggregatesOfOtherProducersAreReadWithTheirExplicitHashKeysAndTags() {
        byte[] protobuf = Messages.AggregatedRecord.newBuilder()
                .addRecords(Messages.Record.newBuilder()  // records before the key table
                        .setPartitionKeyIndex(1)
                        .setExplicitHashKeyIndex(0)
                        .addTags(Messages.Tag.newBuilder().setKey("tag").setValue("value"))
                        .addTags(Messages.Tag.newBuilder().setKey("bare"))
                        .setData(ByteString.copyFromUtf8("first")))
                .addRecords(Messages.Record.newBuilder()
                        .setPartitionKeyIndex(0)
                        .setData(ByteString.copyFromUtf8("second")))
                .addPartitionKeyTable("Zoë")
                .addPartitionKeyTable("b")
                .addExplicitHashKeyTable("12345")
                .build().toByteArray();
        byte[] data = new byte[KplFormat.OVERHEAD + protobuf.length];
        System.arraycopy(KplFormat.MAGIC, 0, data, 0, 4);
        System.arraycopy(protobuf, 0, data, 4, protobuf.length);
        System.arraycopy(KplFormat.md5(protobuf, 0, protobuf.length), 0, data,
                4 + protobuf.length, 16);

        List<TaggedRecord> tagged = KplFormat.unpack(data);
        List<KeyedRecord> records = new ArrayList<>();
        tagged.forEach(record -> records.add(record.record));

        assertEquals(Arrays.asList("Zoë", "b"), KplFormat.partitionKeys(data));
        assertEquals(2, records.size());
        assertEquals("b", records.get(0).partitionKey);
        assertEquals("12345", records.get(0).explicitHashKey);
        assertEquals(BigInteger.valueOf(12345), records.get(0).hashKey);
        assertEquals("first", new String(records.get(0).data, StandardCharsets.UTF_8));
        assertEquals("[tag=value, bare]", tagged.get(0).tags.toString());
        assertEquals("value", tagged.get(0).tagValue("tag"));
        assertNull(tagged.get(0).tagValue("bare"));
        assertNull(tagged.get(1).tagValue("tag"));
        assertEquals("Zoë", records.get(1).partitionKey);
        assertNull(records.get(1).explicitHashKey);
        assertEquals(KeyedRecord.hashKeyOf("Zoë".getBytes(StandardCharsets.UTF_8)),
                records.get(1).hashKey);
        assertEquals("second", new String(records.get(1).data, StandardCharsets.UTF_8));
    }

    @Test
    void anExplicitHashKeyIndexPastItsTableOrNoNumberIsMalformed() {
        Messages.Record record = Messages.Record.newBuilder().setPartitionKeyIndex(0)
                .setExplicitHashKeyIndex(1).setData(ByteString.copyFromUtf8("x")).build();
        byte[] pastTable = withDigest(Messages.AggregatedRecord.newBuilder()
                .addPartitionKeyTable("a").addExplicitHashKeyTable("1").addRecords(record)
                .build().toByteArray());
        byte[] noNumber = withDigest(Messages.AggregatedRecord.newBuilder()
                .addPartitionKeyTable("a").addExplicitHashKeyTable("1")
                .addExplicitHashKeyTable("x1").addRecords(record).build().toByteArray());

        assertTrue(assertThrows(IllegalArgumentException.class, () -> KplFormat.unpack(pastTable))
                .getMessage().contains("explicit hash key index 1 of a table of 1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> KplFormat.unpack(noNumber))
                .getMessage().contains("no decimal number"));
    }

    private static byte[] withDigest(byte[] protobuf) {
        byte[] data = new byte[KplFormat.OVERHEAD + protobuf.length];
        System.arraycopy(KplFormat.MAGIC, 0, data, 0, 4);
        System.arraycopy(protobuf, 0, data, 4, protobuf.length);
        System.arraycopy(KplFormat.md5(protobuf, 0, protobuf.length), 0, data,
                4 + protobuf.length, 16);
        return data;
    }

    @Test
    void dataThatIsNoAggregateIsNotUnpacked() {
        KplAggregate aggregate = new KplAggregate(MIB, MIB);
        aggregate.add(Records.text("a", "one"));
        aggregate.add(Records.text("b", "two"));
        byte[] encoded = aggregate.encode();
        byte[] badDigest = encoded.clone();
        badDigest[badDigest.length - 1] ^= 1;
        byte[] magicOnly = Arrays.copyOf(KplFormat.MAGIC, 30);

        assertNull(KplFormat.unpack("plain text".getBytes(StandardCharsets.UTF_8)));
        assertNull(KplFormat.unpack(new byte[0]));
        assertNull(KplFormat.unpack(badDigest));
        assertNull(KplFormat.unpack(magicOnly));
        assertNull(KplFormat.partitionKeys(badDigest));
        assertFalse(KplFormat.isAggregate(badDigest));
        assertTrue(KplFormat.isAggregate(encoded));
    }

    @Test
    void aMalformedProtobufWithAValidDigestIsReported() {
        byte[] protobuf = {KplFormat.RECORDS_TAG, 5, KplFormat.KEY_INDEX_TAG, 0};  // too short
        byte[] data = new byte[KplFormat.OVERHEAD + protobuf.length];
        System.arraycopy(KplFormat.MAGIC, 0, data, 0, 4);
        System.arraycopy(protobuf, 0, data, 4, protobuf.length);
        System.arraycopy(KplFormat.md5(protobuf, 0, protobuf.length), 0, data,
                4 + protobuf.length, 16);

        assertTrue(assertThrows(IllegalArgumentException.class, () -> KplFormat.unpack(data))
                .getMessage().startsWith("malformed KPL aggregated record"));
    }

    @Test
    void varintSizesMatchWhatIsWritten() {
        long[] values = {0, 1, 127, 128, 16383, 16384, 2097151, 2097152, Integer.MAX_VALUE,
                Long.MAX_VALUE, -1};
        for (long value : values) {
            byte[] out = new byte[10];
            assertEquals(KplFormat.varintSize(value), KplFormat.writeVarint(out, 0, value),
                    "varint of " + value);
        }
    }
}
