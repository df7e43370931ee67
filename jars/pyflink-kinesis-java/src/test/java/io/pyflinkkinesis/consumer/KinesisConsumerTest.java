package io.pyflinkkinesis.consumer;

import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.streaming.api.functions.source.SourceFunction.SourceContext;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.connectors.kinesis.serialization.KinesisDeserializationSchemaWrapper;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KinesisConsumerTest {

    /** Takes records until one equals "bad", on which it fails as a chained operator would. */
    private static final class Downstream implements SourceContext<String> {
        final List<String> taken = new ArrayList<>();
        final Object lock = new Object();

        @Override
        public void collect(String element) {
            if (element.equals("bad")) {
                throw new IllegalArgumentException("cannot map " + element);
            }
            taken.add(element);
        }

        @Override
        public void collectWithTimestamp(String element, long timestamp) {
            collect(element);
        }

        @Override
        public void emitWatermark(Watermark mark) {}

        @Override
        public void markAsTemporarilyIdle() {}

        @Override
        public Object getCheckpointLock() {
            return lock;
        }

        @Override
        public void close() {}
    }

    private static KinesisConsumer<String> consumer() {
        Properties config = new Properties();
        config.setProperty("aws.region", "us-east-1");
        return new KinesisConsumer<>(Collections.singletonList("orders"),
                new KinesisDeserializationSchemaWrapper<>(new SimpleStringSchema()), config);
    }

    @Test
    void passesRecordsAndTheLockOn() throws Exception {
        KinesisConsumer<String> consumer = consumer();
        Downstream downstream = new Downstream();
        SourceContext<String> guarded = consumer.guard(downstream);

        guarded.collect("a");
        guarded.collectWithTimestamp("b", 5L);

        assertEquals(java.util.Arrays.asList("a", "b"), downstream.taken);
        assertSame(downstream.lock, guarded.getCheckpointLock());
    }

    @Test
    void declinesEveryCheckpointAfterARecordFailedDownstream() {
        KinesisConsumer<String> consumer = consumer();
        SourceContext<String> guarded = consumer.guard(new Downstream());

        IllegalArgumentException failure =
                assertThrows(IllegalArgumentException.class, () -> guarded.collect("bad"));
        for (int checkpoint = 0; checkpoint < 2; checkpoint++) {
            IllegalStateException declined =
                    assertThrows(IllegalStateException.class, () -> consumer.snapshotState(null));
            assertSame(failure, declined.getCause());
            assertTrue(declined.getMessage().contains("cannot map bad"), declined.getMessage());
        }
    }

    @Test
    void aFailureWithATimestampIsNotedToo() {
        KinesisConsumer<String> consumer = consumer();
        SourceContext<String> guarded = consumer.guard(new Downstream());

        assertThrows(IllegalArgumentException.class, () -> guarded.collectWithTimestamp("bad", 1L));

        assertThrows(IllegalStateException.class, () -> consumer.snapshotState(null));
    }

    @Test
    void isSerializableLikeTheConnectorsConsumer() throws Exception {
        KinesisConsumer<String> copy = InstantiationUtil.clone(consumer());
        SourceContext<String> guarded = copy.guard(new Downstream());

        assertThrows(IllegalArgumentException.class, () -> guarded.collect("bad"));
        assertThrows(IllegalStateException.class, () -> copy.snapshotState(null));
    }
}
