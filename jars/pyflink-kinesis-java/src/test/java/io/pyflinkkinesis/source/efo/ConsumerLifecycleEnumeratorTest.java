package io.pyflinkkinesis.source.efo;

import io.pyflinkkinesis.source.config.SourceOptions;
import io.pyflinkkinesis.source.enumerator.EnumeratorState;
import io.pyflinkkinesis.source.split.ShardSplit;
import org.apache.flink.api.connector.source.ReaderInfo;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.connector.source.SplitsAssignment;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ConsumerStatus;
import org.apache.flink.metrics.groups.SplitEnumeratorMetricGroup;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.BiConsumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConsumerLifecycleEnumeratorTest {

    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s";

    private final FakeKinesisAsync kinesis = new FakeKinesisAsync();
    private final List<String> shardCalls = new ArrayList<>();

    /** Stands for Flink's SourceCoordinatorContext: the same package-private accessor. */
    static final class Context implements SplitEnumeratorContext<ShardSplit> {
        final Quiesceable coordinatorContext = new Quiesceable();

        Object getCoordinatorContext() {
            return coordinatorContext;
        }

        @Override
        public SplitEnumeratorMetricGroup metricGroup() {
            throw new UnsupportedOperationException();
        }

        @Override
        public void sendEventToSourceReader(int subtaskId, SourceEvent event) {
        }

        @Override
        public int currentParallelism() {
            return 1;
        }

        @Override
        public Map<Integer, ReaderInfo> registeredReaders() {
            throw new UnsupportedOperationException();
        }

        @Override
        public void assignSplits(SplitsAssignment<ShardSplit> newSplitAssignments) {
        }

        @Override
        public void signalNoMoreSplits(int subtask) {
        }

        @Override
        public <T> void callAsync(Callable<T> callable, BiConsumer<T, Throwable> handler) {
        }

        @Override
        public <T> void callAsync(Callable<T> callable, BiConsumer<T, Throwable> handler,
                long initialDelay, long period) {
        }

        @Override
        public void runInCoordinatorThread(Runnable runnable) {
        }
    }

    /** Stands for RecreateOnResetOperatorCoordinator.QuiesceableContext. */
    static final class Quiesceable {
        boolean quiesced;

        boolean isQuiesced() {
            return quiesced;
        }
    }

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

    private ConsumerLifecycleEnumerator enumerator(Context context, String lifecycle) {
        Configuration config = new Configuration();
        config.set(SourceOptions.EFO_CONSUMER_NAME, "c");
        config.setString(SourceOptions.EFO_CONSUMER_LIFECYCLE.key(), lifecycle);
        return new ConsumerLifecycleEnumerator(new Shards(), context,
                new StreamConsumerRegistrar(kinesis, ARN, config, d -> { }), config, kinesis);
    }

    @Test
    void jobManagedRegistersBeforeTheShardsStartAndDeregistersWhenTheJobStops()
            throws Exception {
        kinesis.statuses.add(null);
        kinesis.statuses.add(ConsumerStatus.ACTIVE);
        ConsumerLifecycleEnumerator enumerator = enumerator(new Context(), "JOB_MANAGED");
        enumerator.start();
        enumerator.handleSourceEvent(0, new SourceEvent() { });
        enumerator.close();
        assertEquals(java.util.Arrays.asList("start after 1 registration(s)", "event", "close"), shardCalls);
        assertEquals(1, kinesis.deregistrations);
        assertTrue(kinesis.closed);
    }

    @Test
    void aGlobalFailoverKeepsTheConsumerForTheRestartedEnumerator() throws Exception {
        kinesis.statuses.add(ConsumerStatus.ACTIVE);
        Context context = new Context();
        ConsumerLifecycleEnumerator enumerator = enumerator(context, "JOB_MANAGED");
        enumerator.start();
        context.coordinatorContext.quiesced = true;  // resetToCheckpoint quiesces, then closes
        enumerator.close();
        assertEquals(0, kinesis.deregistrations);
        assertTrue(kinesis.closed);
    }

    @Test
    void selfManagedOnlyLooksTheConsumerUpAndLeavesIt() throws Exception {
        kinesis.statuses.add(ConsumerStatus.ACTIVE);
        ConsumerLifecycleEnumerator enumerator = enumerator(new Context(), "SELF_MANAGED");
        enumerator.start();
        enumerator.close();
        assertEquals(0, kinesis.registrations);
        assertEquals(0, kinesis.deregistrations);
    }

    @Test
    void selfManagedFailsTheStartWhenTheConsumerDoesNotExist() {
        kinesis.statuses.add(null);
        ConsumerLifecycleEnumerator enumerator = enumerator(new Context(), "SELF_MANAGED");
        assertThrows(IllegalStateException.class, enumerator::start);
        assertEquals(java.util.Collections.emptyList(), shardCalls);
    }

    @Test
    void flinksCoordinatorContextHasTheAccessorsTheResetCheckReads() throws Exception {
        Class.forName("org.apache.flink.runtime.source.coordinator.SourceCoordinatorContext")
                .getDeclaredMethod("getCoordinatorContext");
        Class.forName("org.apache.flink.runtime.operators.coordination."
                + "RecreateOnResetOperatorCoordinator$QuiesceableContext")
                .getDeclaredMethod("isQuiesced");
    }
}
