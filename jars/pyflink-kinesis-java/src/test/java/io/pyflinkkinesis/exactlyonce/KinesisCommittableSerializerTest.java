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
        assertTrue(error.getMessage().contains("version 2"), error.getMessage());
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
