package io.pyflinkkinesis.exactlyonce;

import io.pyflinkkinesis.aggregation.KeyedRecord;
import org.apache.flink.core.io.SimpleVersionedSerialization;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KinesisCommittableSerializerTest {

    private final KinesisCommittableSerializer serializer = new KinesisCommittableSerializer();

    @Test
    void aCommittableSurvivesItsSerializerWithItsIdsKeysAndData() throws IOException {
        Random random = new Random(5);
        List<KeyedRecord> records = new ArrayList<>();
        String[] keys = {"k", "Zoë", "鍵🔑", xs(256)};
        for (int i = 0; i < 300; i++) {
            byte[] data = new byte[random.nextInt(3) == 0 ? 0 : random.nextInt(20_000)];
            random.nextBytes(data);
            records.add(new KeyedRecord(keys[i % keys.length] + i, data));
        }
        KinesisCommittable committable =
                new KinesisCommittable(RecordId.WriterId.random(), 123_456_789_012L, records);

        KinesisCommittable read = serializer.deserialize(serializer.getVersion(),
                serializer.serialize(committable));

        assertEquals(committable.writer(), read.writer());
        assertEquals(committable.firstSequenceNumber(), read.firstSequenceNumber());
        assertEquals(records.size(), read.records().size());
        for (int i = 0; i < records.size(); i++) {
            assertEquals(records.get(i).partitionKey, read.records().get(i).partitionKey);
            assertEquals(records.get(i).hashKey, read.records().get(i).hashKey);
            assertArrayEquals(records.get(i).data, read.records().get(i).data);
            assertEquals(committable.idOf(i), read.idOf(i));
        }
        assertEquals(committable, read);
    }

    @Test
    void itsBytesAreExactlyWhatItWritesForEveryKindOfKey() throws IOException {
        String[] keys = {"k", "Zoë", "鍵🔑", "nul\u0000inside", xs(256)};
        List<KeyedRecord> records = new ArrayList<>();
        for (String key : keys) {
            records.add(new KeyedRecord(key, key.getBytes(StandardCharsets.UTF_8)));
        }
        KinesisCommittable committable =
                new KinesisCommittable(RecordId.WriterId.random(), 7, records);
        DataOutputSerializer plain = new DataOutputSerializer(16);
        plain.writeLong(committable.writer().high());
        plain.writeLong(committable.writer().low());
        plain.writeLong(7);
        plain.writeInt(records.size());
        plain.writeLong(committable.sizeInBytes());
        plain.writeBoolean(false);
        for (KeyedRecord record : records) {
            int before = plain.length();
            plain.writeUTF(record.partitionKey);
            // What the serializer sizes its buffer by, so that it needs no second copy.
            assertEquals(plain.length() - before - 2,
                    KinesisCommittableSerializer.modifiedUtf8Length(record.partitionKey),
                    record.partitionKey);
            plain.writeInt(record.data.length);
            plain.write(record.data);
        }

        assertArrayEquals(plain.getCopyOfBuffer(), serializer.serialize(committable));
    }

    @Test
    void aCommittableOfVersionOneIsStillRead() throws IOException {
        RecordId.WriterId writer = RecordId.WriterId.random();
        DataOutputSerializer v1 = new DataOutputSerializer(16);
        v1.writeLong(writer.high());
        v1.writeLong(writer.low());
        v1.writeLong(7);
        v1.writeInt(2);
        for (String key : new String[] {"a", "Zoë"}) {
            v1.writeUTF(key);
            v1.writeInt(3);
            v1.write(new byte[] {1, 2, 3});
        }

        KinesisCommittable read = serializer.deserialize(1, v1.getCopyOfBuffer());

        assertEquals(new KinesisCommittable(writer, 7, Arrays.asList(
                new KeyedRecord("a", new byte[] {1, 2, 3}),
                new KeyedRecord("Zoë", new byte[] {1, 2, 3}))), read);
    }

    @Test
    void aReceiptSurvivesItsSerializerWithoutRecordsAndIsNotItsCommittable() throws IOException {
        KinesisCommittable committable = new KinesisCommittable(RecordId.WriterId.random(), 40,
                Arrays.asList(new KeyedRecord("k", new byte[100]),
                        new KeyedRecord("j", new byte[5])));
        KinesisCommittable receipt = committable.receipt();

        byte[] bytes = serializer.serialize(receipt);
        KinesisCommittable read = serializer.deserialize(serializer.getVersion(), bytes);

        assertEquals(8 + 8 + 8 + 4 + 8 + 1, bytes.length, "a receipt carries no records");
        assertEquals(receipt, read);
        assertTrue(read.isReceipt());
        assertTrue(read.sameIds(committable));
        assertEquals(2, read.recordCount());
        assertEquals(committable.sizeInBytes(), read.sizeInBytes());
        assertNotEquals(committable, read);
        assertThrows(IllegalStateException.class, read::records);
        assertEquals("KinesisCommittable receipt{ids " + committable.writer() + ":40..41, "
                + "2 records, 107 bytes}", read.toString());
    }

    @Test
    void aWritersStateKeepsEachWritersCommittablesTogetherInOrder() throws IOException {
        RecordId.WriterId first = RecordId.WriterId.random();
        RecordId.WriterId second = RecordId.WriterId.random();
        KinesisCommittable a = committableOf(first, 0, "a1", "a2");
        KinesisCommittable b = committableOf(second, 0, "b1");
        KinesisCommittable c = committableOf(first, 2, "a3");
        KinesisWriterState.Serializer states = new KinesisWriterState.Serializer();

        List<KinesisWriterState> byWriter = KinesisWriterState.byWriter(Arrays.asList(a, b, c));

        assertEquals(2, byWriter.size());
        assertEquals(Arrays.asList(a, c), byWriter.get(0).committables());
        assertEquals(Collections.singletonList(b), byWriter.get(1).committables());
        for (KinesisWriterState state : byWriter) {
            assertEquals(state, states.deserialize(states.getVersion(), states.serialize(state)));
        }
        assertThrows(IllegalArgumentException.class,
                () -> new KinesisWriterState(Arrays.asList(a, b)), "two writers in one element");
        assertThrows(IllegalArgumentException.class,
                () -> new KinesisWriterState(Collections.singletonList(a.receipt())),
                "a receipt has no records to restore");
    }

    private static KinesisCommittable committableOf(RecordId.WriterId writer, long first,
            String... texts) {
        List<KeyedRecord> records = new ArrayList<>();
        for (String text : texts) {
            records.add(new KeyedRecord(text, text.getBytes(StandardCharsets.UTF_8)));
        }
        return new KinesisCommittable(writer, first, records);
    }

    @Test
    void flinksCommitterStateSerializesACommittableOnceThoughItAsksEightTimes()
            throws IOException {
        KinesisCommittable committable = new KinesisCommittable(RecordId.WriterId.random(), 0,
                Collections.singletonList(new KeyedRecord("k", new byte[1000])));
        DataOutputSerializer out = new DataOutputSerializer(64);
        // The committer's state as Flink 1.20 writes it: a list of checkpoints, each a list of
        // subtasks, each a list of committables; Flink serializes each list element twice.
        SimpleVersionedSerializer<KinesisCommittable> subtask = nested(serializer);
        SimpleVersionedSerializer<KinesisCommittable> checkpoint = nested(subtask);
        SimpleVersionedSerialization.writeVersionAndSerializeList(
                checkpoint, Collections.singletonList(committable), out);

        assertEquals(1, serializer.encodings());
        KinesisCommittable equalButAnother = new KinesisCommittable(committable.writer(), 0,
                committable.records());
        byte[] first = serializer.serialize(committable);
        byte[] again = serializer.serialize(equalButAnother);
        assertEquals(2, serializer.encodings());
        assertNotSame(first, again);
        assertArrayEquals(first, again);
        assertSame(again, serializer.serialize(equalButAnother));
    }

    /** A serializer of one-element lists of what {@code inner} serializes, as Flink nests them. */
    private static SimpleVersionedSerializer<KinesisCommittable> nested(
            SimpleVersionedSerializer<KinesisCommittable> inner) {
        return new SimpleVersionedSerializer<KinesisCommittable>() {
            @Override
            public int getVersion() {
                return 1;
            }

            @Override
            public byte[] serialize(KinesisCommittable committable) throws IOException {
                DataOutputSerializer out = new DataOutputSerializer(64);
                SimpleVersionedSerialization.writeVersionAndSerializeList(
                        inner, Collections.singletonList(committable), out);
                return out.getCopyOfBuffer();
            }

            @Override
            public KinesisCommittable deserialize(int version, byte[] serialized) {
                throw new UnsupportedOperationException();
            }
        };
    }

    @Test
    void anUnknownVersionIsRefusedByName() throws IOException {
        byte[] bytes = serializer.serialize(new KinesisCommittable(RecordId.WriterId.random(), 0,
                Collections.singletonList(
                        new KeyedRecord("k", "v".getBytes(StandardCharsets.UTF_8)))));

        IOException error = assertThrows(IOException.class,
                () -> serializer.deserialize(serializer.getVersion() + 1, bytes));
        assertTrue(error.getMessage().contains("version 3"), error.getMessage());
    }

    @Test
    void itsStringShowsIdsAndSizeButNoRecordContent() {
        KinesisCommittable committable = new KinesisCommittable(
                new RecordId.WriterId(1, 2), 10,
                Collections.singletonList(new KeyedRecord("secret-key",
                        "secret-data".getBytes(StandardCharsets.UTF_8))));

        String text = committable.toString();

        assertEquals("KinesisCommittable{ids 00000000000000010000000000000002:10..10, 1 records, "
                + "21 bytes}", text);
    }

    private static String xs(int count) {
        char[] chars = new char[count];
        Arrays.fill(chars, 'x');
        return new String(chars);
    }
}
