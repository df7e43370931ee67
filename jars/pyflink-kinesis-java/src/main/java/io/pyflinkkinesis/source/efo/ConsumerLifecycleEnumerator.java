package io.pyflinkkinesis.source.efo;

import io.pyflinkkinesis.source.config.SourceOptions;
import io.pyflinkkinesis.source.config.SourceOptions.ConsumerLifecycle;
import io.pyflinkkinesis.source.enumerator.EnumeratorState;
import io.pyflinkkinesis.source.split.ShardSplit;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.util.Preconditions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.List;

/**
 * The enumerator of an EFO source: the shard enumerator, with the EFO consumer registered before
 * it starts and, for {@code JOB_MANAGED}, deregistered when the job stops.
 *
 * <p>JOB_MANAGED registers the consumer (or reuses the one of that name) and waits until it is
 * ACTIVE before the first shard listing, so no reader subscribes before it exists; SELF_MANAGED
 * only checks that it exists. Readers look the ARN up by name themselves.
 *
 * <p>When Flink 1.20 closes an enumerator: when the job ends (finished, stop-with-savepoint,
 * cancelled, or failed for good), and on a global failover, where {@code
 * RecreateOnResetOperatorCoordinator.resetToCheckpoint} quiesces the coordinator's context, then
 * closes the old coordinator and makes a new one from the checkpoint. A task failure (regional
 * failover) does not close it at all ({@code CheckpointCoordinator
 * .restoreLatestCheckpointedStateToSubtasks} skips coordinators). So {@link #close} deregisters
 * unless the context is quiesced: the restarted enumerator of a global failover reuses the
 * consumer instead of racing its deregistration.
 */
public final class ConsumerLifecycleEnumerator implements SplitEnumerator<ShardSplit, EnumeratorState> {

    private static final Logger LOG = LoggerFactory.getLogger(ConsumerLifecycleEnumerator.class);

    private final SplitEnumerator<ShardSplit, EnumeratorState> shards;
    private final SplitEnumeratorContext<ShardSplit> context;
    private final StreamConsumerRegistrar registrar;
    private final ConsumerLifecycle lifecycle;
    private final Duration deregisterTimeout;
    private final AutoCloseable client;

    /** {@code client} is the one {@code registrar} calls; closed with this enumerator. */
    public ConsumerLifecycleEnumerator(
            SplitEnumerator<ShardSplit, EnumeratorState> shards,
            SplitEnumeratorContext<ShardSplit> context,
            StreamConsumerRegistrar registrar,
            Configuration config,
            AutoCloseable client) {
        this.shards = Preconditions.checkNotNull(shards, "shards");
        this.context = Preconditions.checkNotNull(context, "context");
        this.registrar = Preconditions.checkNotNull(registrar, "registrar");
        this.lifecycle = config.get(SourceOptions.EFO_CONSUMER_LIFECYCLE);
        this.deregisterTimeout = config.get(SourceOptions.EFO_DEREGISTER_CONSUMER_TIMEOUT);
        this.client = Preconditions.checkNotNull(client, "client");
    }

    @Override
    public void start() {
        try {
            if (lifecycle == ConsumerLifecycle.JOB_MANAGED) {
                registrar.registerOrReuse();
            } else {
                registrar.activeConsumerArn();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while registering the EFO consumer", e);
        }
        shards.start();
    }

    @Override
    public void handleSplitRequest(int subtaskId, String requesterHostname) {
        shards.handleSplitRequest(subtaskId, requesterHostname);
    }

    @Override
    public void addSplitsBack(List<ShardSplit> splits, int subtaskId) {
        shards.addSplitsBack(splits, subtaskId);
    }

    @Override
    public void addReader(int subtaskId) {
        shards.addReader(subtaskId);
    }

    @Override
    public void handleSourceEvent(int subtaskId, SourceEvent sourceEvent) {
        shards.handleSourceEvent(subtaskId, sourceEvent);
    }

    @Override
    public EnumeratorState snapshotState(long checkpointId) throws Exception {
        return shards.snapshotState(checkpointId);
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) throws Exception {
        shards.notifyCheckpointComplete(checkpointId);
    }

    @Override
    public void notifyCheckpointAborted(long checkpointId) throws Exception {
        shards.notifyCheckpointAborted(checkpointId);
    }

    @Override
    public void close() throws IOException {
        try {
            if (lifecycle == ConsumerLifecycle.JOB_MANAGED) {
                if (isBeingReset(context)) {
                    LOG.info("Enumerator reset by a global failover: keeping EFO consumer {}",
                            registrar.consumerName());
                } else {
                    registrar.deregister(deregisterTimeout);
                }
            }
        } finally {
            try {
                shards.close();
            } finally {
                closeClient();
            }
        }
    }

    private void closeClient() throws IOException {
        try {
            client.close();
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    /**
     * True when Flink closes this enumerator to replace it (global failover): the coordinator
     * context under Flink's {@code SourceCoordinatorContext} ({@code getCoordinatorContext()}) is
     * a {@code RecreateOnResetOperatorCoordinator.QuiesceableContext}, quiesced before the close
     * ({@code isQuiesced()}). Both are package-private in Flink 1.20 (a test pins them); any other
     * context counts as not reset.
     */
    static boolean isBeingReset(SplitEnumeratorContext<?> context) {
        try {
            Method coordinatorContext = context.getClass()
                    .getDeclaredMethod("getCoordinatorContext");
            coordinatorContext.setAccessible(true);
            Object operatorContext = coordinatorContext.invoke(context);
            Method isQuiesced = operatorContext.getClass().getDeclaredMethod("isQuiesced");
            isQuiesced.setAccessible(true);
            return (Boolean) isQuiesced.invoke(operatorContext);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false;
        }
    }
}
