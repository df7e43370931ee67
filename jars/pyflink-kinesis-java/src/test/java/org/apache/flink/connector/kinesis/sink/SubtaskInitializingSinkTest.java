package org.apache.flink.connector.kinesis.sink;

import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.connector.base.sink.AsyncSinkBase;
import org.apache.flink.connector.base.sink.writer.BufferedRequestState;
import org.apache.flink.connector.base.sink.writer.ElementConverter;
import org.apache.flink.connector.base.sink.writer.RequestEntryWrapper;
import org.apache.flink.connector.kinesis.table.FixedKinesisPartitionKeyGenerator;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.SdkBytes;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SubtaskInitializingSinkTest {

    private static KinesisStreamsSink<String> connectorSink(PartitionKeyGenerator<String> keys) {
        Properties client = new Properties();
        client.setProperty("aws.region", "us-east-1");
        return KinesisStreamsSink.<String>builder()
                .setKinesisClientProperties(client)
                .setSerializationSchema(new SimpleStringSchema())
                .setPartitionKeyGenerator(keys)
                .setStreamName("orders")
                .setFailOnError(true)
                .setMaxBatchSize(7)
                .setMaxInFlightRequests(3)
                .setMaxBufferedRequests(70)
                .setMaxBatchSizeInBytes(7000)
                .setMaxTimeInBufferMS(123)
                .setMaxRecordSizeInBytes(700)
                .build();
    }

    @Test
    void isTheConnectorsSinkWithEverySettingOfTheSinkItIsMadeFrom() throws Exception {
        FixedKinesisPartitionKeyGenerator<String> fixed = new FixedKinesisPartitionKeyGenerator<>();
        KinesisStreamsSink<String> built = connectorSink(fixed);
        KinesisStreamsSink<String> ours = new SubtaskInitializingSink<>(built, fixed);

        int compared = 0;
        for (Class<?> type : new Class<?>[] {KinesisStreamsSink.class, AsyncSinkBase.class}) {
            for (Field field : type.getDeclaredFields()) {
                if (!Modifier.isStatic(field.getModifiers())) {
                    field.setAccessible(true);
                    assertEquals(field.get(built), field.get(ours), field.getName());
                    compared++;
                }
            }
        }
        assertTrue(compared >= 13, compared + " fields");
    }

    @Test
    void eachDeserializedCopyTellsItsGeneratorItsSubtaskBeforeTheWriterIsMade() throws Exception {
        FixedKinesisPartitionKeyGenerator<String> fixed = new FixedKinesisPartitionKeyGenerator<>();
        // As in a job: each subtask deserializes its own copy of the sink and its generator.
        SubtaskInitializingSink<String> copy =
                InstantiationUtil.clone(new SubtaskInitializingSink<>(connectorSink(fixed), fixed));
        ElementConverter<String, PutRecordsRequestEntry> converter =
                SubtaskInitializingSink.field(copy, AsyncSinkBase.class, "elementConverter");

        // The connector's writer asks the context for more than it has, once the key is set.
        assertThrows(UnsupportedOperationException.class,
                () -> copy.createWriter(SinkContexts.writerContext(4, 5)));
        assertEquals("4", converter.apply("x", null).partitionKey());
        assertThrows(UnsupportedOperationException.class,
                () -> copy.restoreWriter(SinkContexts.writerContext(2, 5),
                        Collections.emptyList()));
        assertEquals("2", converter.apply("x", null).partitionKey());
        assertEquals("0", fixed.apply("x"));  // the original was not touched
    }

    @Test
    void restoresBufferedRecordsWithNonAsciiKeys() throws Exception {
        PartitionKeyGenerator<String> keys = element -> element;
        SimpleVersionedSerializer<BufferedRequestState<PutRecordsRequestEntry>> serializer =
                new SubtaskInitializingSink<>(connectorSink(keys), keys).getWriterStateSerializer();
        List<RequestEntryWrapper<PutRecordsRequestEntry>> entries = new ArrayList<>();
        for (String key : new String[] {"Zoë", "顧客-7", "ascii"}) {
            PutRecordsRequestEntry entry = PutRecordsRequestEntry.builder()
                    .partitionKey(key).data(SdkBytes.fromUtf8String("order of " + key)).build();
            entries.add(new RequestEntryWrapper<>(entry, entry.data().asByteArrayUnsafe().length));
        }

        BufferedRequestState<PutRecordsRequestEntry> copy = serializer.deserialize(
                serializer.getVersion(),
                serializer.serialize(new BufferedRequestState<>(entries)));

        List<String> restored = new ArrayList<>();
        for (RequestEntryWrapper<PutRecordsRequestEntry> entry : copy.getBufferedRequestEntries()) {
            restored.add(entry.getRequestEntry().partitionKey() + "|"
                    + entry.getRequestEntry().data().asUtf8String());
        }
        assertEquals(
                Arrays.asList("Zoë|order of Zoë", "顧客-7|order of 顧客-7", "ascii|order of ascii"),
                restored);
        assertEquals(connectorSink(keys).getWriterStateSerializer().getVersion(),
                serializer.getVersion());
    }
}
