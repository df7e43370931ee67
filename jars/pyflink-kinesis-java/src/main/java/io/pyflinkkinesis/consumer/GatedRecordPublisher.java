package io.pyflinkkinesis.consumer;

import org.apache.flink.streaming.connectors.kinesis.internals.publisher.RecordPublisher;

/**
 * A child shard's record publisher that starts reading only once its {@link ParentGate} opens.
 *
 * <p>The connector's {@code ShardConsumer} calls {@link #run} in a loop while the fetcher runs;
 * while the gate is shut, each call waits {@link #POLL_MILLIS} and answers INCOMPLETE, so the
 * shard thread holds no lock, and stops within one poll when the job is cancelled. The real
 * publisher is made when the gate opens: a shard iterator taken before the wait could expire
 * (after 5 minutes) during it.
 */
final class GatedRecordPublisher implements RecordPublisher {

    static final long POLL_MILLIS = 200;

    /** Makes the connector's publisher for the shard. */
    interface Opening {
        RecordPublisher open() throws InterruptedException;
    }

    private final ParentGate gate;
    private final Opening opening;
    private RecordPublisher publisher;

    GatedRecordPublisher(ParentGate gate, Opening opening) {
        this.gate = gate;
        this.opening = opening;
    }

    @Override
    public RecordPublisherRunResult run(RecordBatchConsumer consumer) throws InterruptedException {
        if (publisher == null) {
            if (!gate.isOpen()) {
                try {
                    Thread.sleep(POLL_MILLIS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return RecordPublisherRunResult.INCOMPLETE;
            }
            publisher = opening.open();
        }
        return publisher.run(consumer);
    }
}
