package io.pyflinkkinesis;

import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.api.java.typeutils.RowTypeInfo;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.SdkBytes;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class SourceRecordWithMetadataTest {

    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/orders";

    private static Record record(String data) {
        return Record.builder()
                .data(SdkBytes.fromUtf8String(data))
                .partitionKey("key-1")
                .sequenceNumber("4960001")
                .approximateArrivalTimestamp(Instant.ofEpochMilli(1716123456789L))
                .build();
    }

    private static List<Row> read(SourceRecordWithMetadata<String> schema, Record record)
            throws Exception {
        List<Row> rows = new ArrayList<>();
        schema.deserialize(record, ARN, "shardId-000000000003", new Collector<Row>() {
            @Override
            public void collect(Row row) {
                rows.add(row);
            }

            @Override
            public void close() {}
        });
        return rows;
    }

    @Test
    void emitsTheLegacyRowWithTheStreamNameFromTheArn() throws Exception {
        List<Row> rows = read(new SourceRecordWithMetadata<>(new SimpleStringSchema()),
                record("hello"));

        assertEquals(Collections.singletonList(Row.of("hello", "orders", "shardId-000000000003", "key-1",
                "4960001", 1716123456789L)), rows);
    }

    @Test
    void producedTypeIsTheLegacyOne() {
        RowTypeInfo type = (RowTypeInfo) new SourceRecordWithMetadata<>(new SimpleStringSchema())
                .getProducedType();

        assertArrayEquals(KinesisRecordWithMetadata.FIELD_NAMES, type.getFieldNames());
    }

    @Test
    void skipsRecordsWhosePayloadIsNull() throws Exception {
        SourceRecordWithMetadata<String> skipping = new SourceRecordWithMetadata<>(
                new SimpleStringSchema() {
                    @Override
                    public String deserialize(byte[] message) {
                        return null;
                    }
                });

        assertEquals(Collections.emptyList(), read(skipping, record("x")));
    }

    @Test
    void streamNameIsTheArnsLastPartOrTheWholeTextWithoutOne() {
        assertEquals("a.b-c_1", SourceRecordWithMetadata.streamName(
                "arn:aws-cn:kinesis:cn-north-1:123456789012:stream/a.b-c_1"));
        assertEquals("not-an-arn", SourceRecordWithMetadata.streamName("not-an-arn"));
    }

    @Test
    void survivesJavaSerialization() throws Exception {
        SourceRecordWithMetadata<String> copy =
                InstantiationUtil.clone(new SourceRecordWithMetadata<>(new SimpleStringSchema()));

        assertEquals("x", read(copy, record("x")).get(0).getField(0));
    }
}
