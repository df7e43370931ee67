package io.pyflinkkinesis;

import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.typeutils.RowTypeInfo;
import org.apache.flink.types.Row;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class KinesisRecordWithMetadataTest {

    private final KinesisRecordWithMetadata<String> schema =
            new KinesisRecordWithMetadata<>(new SimpleStringSchema());

    @Test
    void emitsPayloadAndEveryMetadataFieldInOrder() throws Exception {
        Row row = schema.deserialize(
                "hello".getBytes(StandardCharsets.UTF_8), "key-1", "4960001", 1716123456789L,
                "orders", "shardId-000000000003");

        assertEquals(Row.of("hello", "orders", "shardId-000000000003", "key-1", "4960001",
                1716123456789L), row);
    }

    @Test
    void producedTypeNamesTheFieldsAndKeepsThePayloadType() {
        RowTypeInfo type = (RowTypeInfo) schema.getProducedType();

        assertArrayEquals(new String[] {"payload", "stream", "shard_id", "partition_key",
                "sequence_number", "approximate_arrival_timestamp"}, type.getFieldNames());
        assertEquals(Types.STRING, type.getTypeAt(0));
        assertEquals(Types.LONG, type.getTypeAt(5));
    }

    @Test
    void skipsRecordsWhosePayloadIsNull() throws Exception {
        KinesisRecordWithMetadata<String> skipping = new KinesisRecordWithMetadata<>(
                new SimpleStringSchema() {
                    @Override
                    public String deserialize(byte[] message) {
                        return null;
                    }
                });

        assertNull(skipping.deserialize(new byte[0], "k", "1", 0L, "s", "shard"));
    }

    @Test
    void survivesJavaSerialization() throws Exception {
        KinesisRecordWithMetadata<String> copy = InstantiationUtil.clone(schema);

        assertEquals("x", copy.deserialize("x".getBytes(StandardCharsets.UTF_8), "k", "1", 2L,
                "s", "shard").getField(0));
    }
}
