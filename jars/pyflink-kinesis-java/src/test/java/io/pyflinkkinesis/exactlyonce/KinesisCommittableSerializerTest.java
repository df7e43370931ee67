package io.pyflinkkinesis.exactlyonce;

import io.pyflinkkinesis.aggregation.KeyedRecord;
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
