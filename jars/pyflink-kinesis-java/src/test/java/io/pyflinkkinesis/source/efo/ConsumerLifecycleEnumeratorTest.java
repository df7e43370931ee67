package io.pyflinkkinesis.source.efo;

import io.pyflinkkinesis.source.config.SourceOptions;
import io.pyflinkkinesis.source.enumerator.EnumeratorState;
import io.pyflinkkinesis.source.split.ShardSplit;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ConsumerStatus;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConsumerLifecycleEnumeratorTest {

    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s";

    private final FakeKinesisAsync kinesis = new FakeKinesisAsync();
    private final List<String> shardCalls = new ArrayList<>();

    private final class Shards implements SplitEnumerator<ShardSplit, EnumeratorState> {
        @Override
        public void start() {
            shardCalls.add("start after " + kinesis.registrations + " registration(s)");
        }

        @Override
        public void handleSplitRequest(int subtaskId, String requesterHostname) {
        }

        @Override
        public void addSplitsBack(List<ShardSplit> splits, int subtaskId) {
        }

        @Override
        public void addReader(int subtaskId) {
        }

        @Override
        public void handleSourceEvent(int subtaskId, SourceEvent sourceEvent) {
            shardCalls.add("event");
        }

        @Override
        public EnumeratorState snapshotState(long checkpointId) {
            return EnumeratorState.initial();
        }

        @Override
        public void close() {
            shardCalls.add("close");
        }
    }

    private ConsumerLifecycleEnumerator enumerator(String lifecycle) {
        Configuration config = new Configuration();
        config.set(SourceOptions.EFO_CONSUMER_NAME, "c");
        config.setString(SourceOptions.EFO_CONSUMER_LIFECYCLE.key(), lifecycle);
        return new ConsumerLifecycleEnumerator(new Shards(),
                new StreamConsumerRegistrar(kinesis, ARN, config, d -> { }), config, kinesis);
    }

    @Test
    void jobManagedRegistersBeforeTheShardsStartAndDeregistersWhenTheJobStops()
            throws Exception {
        kinesis.statuses.add(null);
        kinesis.statuses.add(ConsumerStatus.ACTIVE);
        ConsumerLifecycleEnumerator enumerator = enumerator("JOB_MANAGED");
        enumerator.start();
        enumerator.handleSourceEvent(0, new SourceEvent() { });
        enumerator.close();
        assertEquals(java.util.Arrays.asList("start after 1 registration(s)", "event", "close"), shardCalls);
        assertEquals(1, kinesis.deregistrations);
        assertTrue(kinesis.closed);
    }

    @Test
    void selfManagedOnlyLooksTheConsumerUpAndLeavesIt() throws Exception {
        kinesis.statuses.add(ConsumerStatus.ACTIVE);
        ConsumerLifecycleEnumerator enumerator = enumerator("SELF_MANAGED");
        enumerator.start();
        enumerator.close();
        assertEquals(0, kinesis.registrations);
        assertEquals(0, kinesis.deregistrations);
    }

    @Test
    void selfManagedFailsTheStartWhenTheConsumerDoesNotExist() {
        kinesis.statuses.add(null);
        ConsumerLifecycleEnumerator enumerator = enumerator("SELF_MANAGED");
        assertThrows(IllegalStateException.class, enumerator::start);
        assertEquals(java.util.Collections.emptyList(), shardCalls);
    }
}
