package io.pyflinkkinesis.exactlyonce;

import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CommittingKinesisStreamsSinkBuilderTest {

    @Test
    void everyMissingOrWrongSettingIsReportedAtOnce() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> CommittingKinesisStreamsSink.<String>builder()
                        .setMaxBufferedBytes(1000)
                        .setCommitTimeoutMS(0)
                        .build());

        assertEquals("Invalid CommittingKinesisStreamsSink settings:\n"
                + "  - streamName (or streamArn) is required\n"
                + "  - serializationSchema is required\n"
                + "  - partitionKeyGenerator is required\n"
                + "  - maxBufferedBytes must be at least 1048576 (a Kinesis record's limit), "
                + "got 1000\n"
                + "  - commitTimeoutMS must be at least 1, got 0", error.getMessage());
    }

    @Test
    void theSinkKeepsItsSettingsAndTheStreamOfItsArn() {
        CommittingKinesisStreamsSink<String> sink = CommittingKinesisStreamsSink.<String>builder()
                .setStreamArn("arn:aws:kinesis:us-east-1:123456789012:stream/orders")
                .setSerializationSchema(new SimpleStringSchema())
                .setPartitionKeyGenerator(element -> element)
                .setMaxBufferedBytes(2 << 20)
                .setCommitTimeoutMS(5)
                .build();

        assertEquals("orders", sink.settings.streamName);
        assertEquals(2 << 20, sink.maxBufferedBytes);
        assertEquals(5, sink.commitTimeoutMS);
        assertEquals(2, sink.getCommittableSerializer().getVersion());
        assertEquals(1, sink.getWriterStateSerializer().getVersion());
    }
}
