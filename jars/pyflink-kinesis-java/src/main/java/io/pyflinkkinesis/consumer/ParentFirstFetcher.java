package io.pyflinkkinesis.consumer;

import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.AssignerWithPeriodicWatermarks;
import org.apache.flink.streaming.api.functions.source.SourceFunction;
import org.apache.flink.streaming.connectors.kinesis.KinesisShardAssigner;
import org.apache.flink.streaming.connectors.kinesis.config.ConsumerConfigConstants;
import org.apache.flink.streaming.connectors.kinesis.config.ConsumerConfigConstants.RecordPublisherType;
import org.apache.flink.streaming.connectors.kinesis.internals.KinesisDataFetcher;
import org.apache.flink.streaming.connectors.kinesis.internals.ShardConsumer;
import org.apache.flink.streaming.connectors.kinesis.internals.publisher.RecordPublisher;
import org.apache.flink.streaming.connectors.kinesis.metrics.ShardConsumerMetricsReporter;
import org.apache.flink.streaming.connectors.kinesis.model.KinesisStreamShardState;
import org.apache.flink.streaming.connectors.kinesis.model.SequenceNumber;
import org.apache.flink.streaming.connectors.kinesis.model.StreamShardHandle;
import org.apache.flink.streaming.connectors.kinesis.serialization.KinesisDeserializationSchema;
import org.apache.flink.streaming.connectors.kinesis.util.WatermarkTracker;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The connector's fetcher, reading a child shard only after its parents are read to their end.
 *
 * <p>Connector 4.3.0's {@code KinesisDataFetcher.runFetcher} submits a {@code ShardConsumer} for
 * every shard it discovers at once, so a child shard is read while its parents may still hold
 * unread records, and a partition key's records from the child overtake those left in the
 * parent. Here every shard's state is a {@link TrackedShardState}, a child's consumer gets a
 * {@link GatedRecordPublisher} that waits at the child's {@link ParentGate}, and a shard's
 * consumer, once the shard is finished, publishes that for the other subtasks
 * ({@link ShardOrder}). Everything else (publishers, POLLING and EFO, watermarks, state) is the
 * connector's.
 *
 * <p>With enhanced fan-out, a closed shard ends when its subscription says so. kinesis-mock
 * (0.6.2, and so LocalStack) never does, which would hold its children back for ever; so at each
 * shard discovery, a closed shard of this subtask not yet finished is asked with GetRecords
 * whether anything follows its last emitted record, and finished if nothing does.
 */
public class ParentFirstFetcher<T> extends KinesisDataFetcher<T> {

    private static final Logger LOG = LoggerFactory.getLogger(ParentFirstFetcher.class);
    private static final long FINISH_POLL_MILLIS = 50;
    private static final long PUBLISH_RETRY_MILLIS = 1000;

    private final CheckpointClock clock;
    private final ShardOrder order;
    private final ProxyShards shards;
    private final boolean fanOut;
    private final Object checkpointLock;
    private final Map<Integer, TrackedShardState> states = new ConcurrentHashMap<>();
    private volatile boolean stopped;

    /**
     * The connector's constructor arguments, then this subtask's checkpoints and order, and the
     * proxy calls its order lists shards with.
     */
    public ParentFirstFetcher(List<String> streams, SourceFunction.SourceContext<T> sourceContext,
            RuntimeContext runtimeContext, Properties configProps,
            KinesisDeserializationSchema<T> deserializationSchema,
            KinesisShardAssigner shardAssigner,
            AssignerWithPeriodicWatermarks<T> periodicWatermarkAssigner,
            WatermarkTracker watermarkTracker, CheckpointClock clock, ShardOrder order,
            ProxyShards shards) {
        super(streams, sourceContext, runtimeContext, configProps, deserializationSchema,
                shardAssigner, periodicWatermarkAssigner, watermarkTracker);
        this.clock = clock;
        this.order = order;
        this.shards = shards;
        this.fanOut = RecordPublisherType.EFO.name().equals(configProps.getProperty(
                ConsumerConfigConstants.RECORD_PUBLISHER_TYPE, RecordPublisherType.POLLING.name()));
        this.checkpointLock = sourceContext.getCheckpointLock();
    }

    @Override
    public List<StreamShardHandle> discoverNewShardsToSubscribe() throws InterruptedException {
        List<StreamShardHandle> discovered = super.discoverNewShardsToSubscribe();
        if (fanOut) {
            finishDrainedShards();
        }
        return discovered;
    }

    private void finishDrainedShards() throws InterruptedException {
        for (TrackedShardState state : states.values()) {
            if (state.isFinished()) {
                continue;
            }
            StreamShardHandle shard = state.getStreamShardHandle();
            StreamShardHandle listed =
                    shards.shards(shard.getStreamName()).get(shard.getShard().getShardId());
            SequenceNumber last;
            synchronized (checkpointLock) {
                last = state.getLastProcessedSequenceNum();
            }
            if (listed == null || !listed.isClosed() || !shards.isDrained(listed, last)) {
                continue;
            }
            boolean finished;
            synchronized (checkpointLock) {
                finished = state.finishDrained(last);
            }
            if (finished) {
                LOG.info("{} is closed and nothing follows its last record: finished, though its "
                        + "enhanced fan-out subscription did not say so", state.key());
                try {
                    order.publishFinished(state);
                } catch (IOException e) {
                    LOG.warn("Cannot tell the JobManager that {} is read to its end; trying "
                            + "again at the next shard discovery", state.key(), e);
                }
            }
        }
    }

    @Override
    public int registerNewSubscribedShardState(KinesisStreamShardState state) {
        TrackedShardState tracked = new TrackedShardState(state, clock);
        order.register(tracked);
        int index = super.registerNewSubscribedShardState(tracked);
        states.put(index, tracked);
        return index;
    }

    @Override
    protected void emitRecordAndUpdateState(T record, long recordTimestamp, int shardStateIndex,
            SequenceNumber lastSequenceNumber) {
        states.get(shardStateIndex).handedOver();
        super.emitRecordAndUpdateState(record, recordTimestamp, shardStateIndex,
                lastSequenceNumber);
    }

    @Override
    protected ShardConsumer<T> createShardConsumer(Integer index, StreamShardHandle shard,
            SequenceNumber start, MetricGroup metricGroup,
            KinesisDeserializationSchema<T> deserializer) throws InterruptedException {
        Properties config = getConsumerConfiguration();
        RecordPublisher publisher = ShardOrder.waitsForParents(shard, start)
                ? new GatedRecordPublisher(order.gate(shard),
                        () -> createRecordPublisher(start, config, metricGroup, shard))
                : createRecordPublisher(start, config, metricGroup, shard);
        return new PublishingShardConsumer(publisher, index, shard, start,
                new ShardConsumerMetricsReporter(metricGroup), deserializer);
    }

    @Override
    public void shutdownFetcher() {
        stopped = true;
        super.shutdownFetcher();
    }

    /** The connector's shard consumer; once its shard is finished, publishes that. */
    private final class PublishingShardConsumer extends ShardConsumer<T> {
        private final TrackedShardState state;

        PublishingShardConsumer(RecordPublisher publisher, Integer index, StreamShardHandle shard,
                SequenceNumber start, ShardConsumerMetricsReporter metrics,
                KinesisDeserializationSchema<T> deserializer) {
            super(ParentFirstFetcher.this, publisher, index, shard, start, metrics, deserializer);
            this.state = states.get(index);
        }

        @Override
        public void run() {
            super.run();
            try {
                if (state.endReached() && awaitFinished()) {
                    publish();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** With a watermark tracker the last records may still wait to be emitted. */
        private boolean awaitFinished() throws InterruptedException {
            while (!state.isFinished()) {
                if (stopped) {
                    return false;
                }
                Thread.sleep(FINISH_POLL_MILLIS);
            }
            return true;
        }

        private void publish() throws InterruptedException {
            while (!stopped) {
                try {
                    order.publishFinished(state);
                    return;
                } catch (IOException e) {
                    LOG.warn("Cannot tell the JobManager that {} is read to its end; trying again",
                            state.key(), e);
                    Thread.sleep(PUBLISH_RETRY_MILLIS);
                }
            }
        }
    }
}
