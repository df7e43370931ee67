package io.pyflinkkinesis.source.efo;

import io.pyflinkkinesis.source.config.SourceOptions;
import io.pyflinkkinesis.source.config.SourceOptions.ConsumerLifecycle;
import io.pyflinkkinesis.source.enumerator.EnumeratorState;
import io.pyflinkkinesis.source.split.ShardSplit;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.util.Preconditions;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * The enumerator of an EFO source: the shard enumerator, with the EFO consumer registered before
 * it starts and, for {@code JOB_MANAGED}, deregistered when it closes.
 *
 * <p>JOB_MANAGED registers the consumer (or reuses the one of that name) and waits until it is
 * ACTIVE before the first shard listing, so no reader subscribes before it exists; SELF_MANAGED
 * only checks that it exists. Readers look the ARN up by name themselves.
 *
 * <p>Flink 1.20 closes the enumerator when the job ends (finished, stop-with-savepoint,
 * cancelled, failed for good) and on a global failover ({@code
 * RecreateOnResetOperatorCoordinator.resetToCheckpoint} closes the old coordinator, then makes a
 * new one from the checkpoint); it does not close it on a task failure, a regional failover
 * ({@code CheckpointCoordinator.restoreLatestCheckpointedStateToSubtasks} skips the coordinators:
 * the enumerator only gets {@code addSplitsBack}). The enumerator cannot tell a global failover's
 * close from the end of the job (the coordinator's context is quiesced in both), so it
 * deregisters on every close: a task failure keeps the consumer, and after a global failover the
 * new enumerator waits until the deleted consumer is gone and registers it again (the old one's
 * close has returned by then; readers wait for it to be ACTIVE).
 */
public final class ConsumerLifecycleEnumerator implements SplitEnumerator<ShardSplit, EnumeratorState> {

    private final SplitEnumerator<ShardSplit, EnumeratorState> shards;
    private final StreamConsumerRegistrar registrar;
    private final ConsumerLifecycle lifecycle;
    private final Duration deregisterTimeout;
    private final AutoCloseable client;

    /** {@code client} is the one {@code registrar} calls; closed with this enumerator. */
    public ConsumerLifecycleEnumerator(
            SplitEnumerator<ShardSplit, EnumeratorState> shards,
            StreamConsumerRegistrar registrar,
            Configuration config,
            AutoCloseable client) {
        this.shards = Preconditions.checkNotNull(shards, "shards");
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
                registrar.existingConsumerArn();
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
                registrar.deregister(deregisterTimeout);
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
}
