package io.pyflinkkinesis.exactlyonce;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The checkpointing check, through Flink's own translation of a job (as on submission). */
class CommittingKinesisStreamsSinkTest {

    private static StreamExecutionEnvironment jobWritingOnce() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.fromData("a", "b").sinkTo(CommittingKinesisStreamsSink.<String>builder()
                .setStreamName("orders")
                .setSerializationSchema(new SimpleStringSchema())
                .setPartitionKeyGenerator(element -> element)
                .build());
        return env;
    }

    @Test
    void aStreamingJobWithoutCheckpointingIsRefusedWhenTranslated() {
        StreamExecutionEnvironment env = jobWritingOnce();

        IllegalStateException error = assertThrows(IllegalStateException.class, env::getStreamGraph);

        assertEquals(CommittingKinesisStreamsSink.NO_CHECKPOINTING, error.getMessage());
    }

    @Test
    void checkpointingEnabledAfterTheSinkWasAddedCounts() {
        StreamExecutionEnvironment env = jobWritingOnce();
        env.enableCheckpointing(1_000);

        assertDoesNotThrow(() -> env.getStreamGraph());
    }

    @Test
    void aBatchJobCommitsAtTheEndOfItsInputAndNeedsNoCheckpointing() {
        StreamExecutionEnvironment env = jobWritingOnce();
        env.setRuntimeMode(RuntimeExecutionMode.BATCH);

        assertDoesNotThrow(() -> env.getStreamGraph());
    }
}
