package io.pyflinkkinesis.aggregation;

import io.pyflinkkinesis.sink.KeyOrderedWriter;
import io.pyflinkkinesis.sink.StreamClient;

import org.apache.flink.api.common.operators.ProcessingTimeService;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.StatefulSink;
import org.apache.flink.connector.base.sink.writer.BufferedRequestState;
import org.apache.flink.connector.kinesis.sink.PartitionKeyGenerator;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.ThreadSafeSimpleCounter;
import org.apache.flink.metrics.groups.SinkWriterMetricGroup;
import org.apache.flink.util.FlinkRuntimeException;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;

/**
 * Packs user records into KPL aggregates, one being filled per open shard, and hands finished
 * aggregates to a {@link PutRecordsWriter} (or, to keep each key's order, a {@link
 * KeyOrderedWriter}), which writes them and holds the writer state.
 *
 * <p>A record goes to the aggregate of the shard its partition key hashes into, by the latest
 * shard map; records of one key thus share an aggregate (in order) and a shard. An aggregate is
 * handed over when the next record would not fit, {@code maxAggregateDelayMS} after its first
 * record, and on every flush. When a refreshed map shows an aggregate's shard closed, its records
 * are routed again by the new map instead (they were never handed over, so are in no state).
 *
 * <p>What is handed over is in the inner writer's buffer, and so in the next checkpoint: {@link
 * #flush} (called before every checkpoint) hands over every aggregate first, then waits for the
 * requests in flight. Timer callbacks run in the mailbox thread, as writes do.
 */
@SuppressWarnings("deprecation")
final class AggregatingSinkWriter<InputT>
        implements StatefulSink.StatefulSinkWriter<InputT,
                BufferedRequestState<PutRecordsRequestEntry>> {

    /** How long the first listing of shards may take before the writer fails. */
    static final long SHARD_LISTING_TIMEOUT_MS = 60_000;
    /** Refreshes of the shard map start at most this often. */
    static final long MIN_REFRESH_INTERVAL_MS = 1_000;

    /** The inner writer's converter ignores the context. */
    private static final Context NO_CONTEXT = new Context() {
        @Override
        public long currentWatermark() {
            return Long.MIN_VALUE;
        }

        @Override
        public Long timestamp() {
            return null;
        }
    };

    private final SerializationSchema<InputT> serializationSchema;
    private final PartitionKeyGenerator<InputT> partitionKeyGenerator;
    private final long maxRecordSizeInBytes;
    private final long maxAggregateDelayMs;
    private final StreamClient stream;
    private final ProcessingTimeService time;
    private final Counter userRecordsIn;
    private final Counter aggregatesOut;
    private final LiveShardMap shards;
    private final StatefulSink.StatefulSinkWriter<PutRecordsRequestEntry,
            BufferedRequestState<PutRecordsRequestEntry>> inner;
    private final PendingAggregates pending;

    /** The shard map the pending aggregates were routed by. */
    private ShardMap routedBy;
    private boolean timerSet;

    /**
     * Lists the stream's shards (waiting for them) and starts writing; on failure, closes
     * {@code stream}.
     */
    AggregatingSinkWriter(AggregatingKinesisStreamsSink<InputT> sink, Sink.InitContext context,
            StreamClient stream,
            Collection<BufferedRequestState<PutRecordsRequestEntry>> recoveredState)
            throws IOException {
        this.serializationSchema = sink.serializationSchema;
        this.partitionKeyGenerator = sink.partitionKeyGenerator;
        this.maxRecordSizeInBytes = sink.settings.maxRecordSizeInBytes;
        this.maxAggregateDelayMs = sink.maxAggregateDelayMS;
        this.stream = stream;
        this.time = context.getProcessingTimeService();
        SinkWriterMetricGroup metrics = context.metricGroup();
        this.userRecordsIn = metrics.counter(AggregatingKinesisStreamsSink.USER_RECORDS_IN_METRIC);
        this.aggregatesOut = metrics.counter(AggregatingKinesisStreamsSink.AGGREGATES_OUT_METRIC);
        Counter resent = metrics.counter(AggregatingKinesisStreamsSink.RESENT_METRIC,
                new ThreadSafeSimpleCounter());
        Counter refreshes = metrics.counter(AggregatingKinesisStreamsSink.REFRESHES_METRIC,
                new ThreadSafeSimpleCounter());
        this.shards = new LiveShardMap(stream, System::currentTimeMillis,
                MIN_REFRESH_INTERVAL_MS, refreshes);
        try {
            open(serializationSchema, context);
            shards.load(SHARD_LISTING_TIMEOUT_MS);
            this.inner = sink.keepKeyOrder
                    ? new KeyOrderedWriter<>(PutRecordsWriter.AS_IS, context, sink.settings,
                            stream, AggregatingSinkWriter::keysOf,
                            misplacedAggregates(shards, stream, resent), recoveredState)
                    : new PutRecordsWriter(sink.settings, context, stream, shards, resent,
                            recoveredState);
        } catch (InterruptedException e) {
            stream.close();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException(
                    "Interrupted while listing the shards of the Kinesis " + stream.describe());
        } catch (RuntimeException e) {
            stream.close();
            throw e;
        }
        this.routedBy = shards.current();
        this.pending = new PendingAggregates(sink.maxAggregateSizeInBytes,
                sink.settings.maxRecordSizeInBytes, this::emit);
    }

    /** As the connector's element converter opens it. */
    private static void open(SerializationSchema<?> schema, Sink.InitContext context) {
        try {
            schema.open(context.asSerializationSchemaInitializationContext());
        } catch (Exception e) {
            throw new FlinkRuntimeException("Failed to initialize serialization schema.", e);
        }
    }

    @Override
    public void write(InputT element, Context context) throws IOException, InterruptedException {
        userRecordsIn.inc();
        KeyedRecord record = keyed(element);
        followShardMap();
        route(record);
        scheduleTimer();
    }

    /**
     * After a refresh, routes the records of aggregates whose shard closed again: sent as they
     * are, they would land where consumers drop them.
     */
    private void followShardMap() throws IOException, InterruptedException {
        ShardMap map = shards.current();
        if (map != routedBy) {
            routedBy = map;
            for (KeyedRecord stranded : pending.takeUnless(map::isOpen)) {
                route(stranded);
            }
        }
    }

    private void route(KeyedRecord record) throws IOException, InterruptedException {
        ShardRange shard = routedBy.openShardFor(record.hashKey);
        if (shard == null) {
            shards.refresh();
            emit(KplAggregate.plain(record), 1);
        } else {
            pending.add(shard.shardId, record, time.getCurrentProcessingTime());
        }
    }

    /**
     * The records of the aggregates that landed where range-checking readers drop them, to be
     * written in their place (counted in {@code resent}).
     */
    private static KeyOrderedWriter.Resends misplacedAggregates(LiveShardMap shards,
            StreamClient stream, Counter resent) {
        return (sent, response) -> PutRecordsOutcome.of(sent, response).resends(shards)
                .thenApply(resends -> {
                    PutRecordsWriter.countResent(resends, stream, resent);
                    return resends;
                });
    }

    /**
     * The keys whose order a Kinesis record of this writer keeps: an aggregate's, or a plain
     * record's partition key.
     */
    static Collection<String> keysOf(PutRecordsRequestEntry entry) {
        List<String> keys = KplFormat.partitionKeys(entry.data().asByteArrayUnsafe());
        if (keys == null) {
            return Collections.singletonList(entry.partitionKey());
        }
        List<String> all = new ArrayList<>(keys);
        all.add(entry.partitionKey());  // its first record's, already there: kept if not
        return all;
    }

    private KeyedRecord keyed(InputT element) {
        KeyedRecord record = KeyedRecord.of(element, serializationSchema, partitionKeyGenerator);
        if (record.plainSize() > AggregatingKinesisStreamsSinkBuilder.MAX_KINESIS_RECORD_BYTES
                || record.data.length > maxRecordSizeInBytes) {
            throw new IllegalArgumentException("A record of " + record.data.length
                    + " bytes with a partition key of " + record.keyBytes.length
                    + " bytes is too big: Kinesis takes at most " + AggregatingKinesisStreamsSinkBuilder.MAX_KINESIS_RECORD_BYTES
                    + " bytes (data and key) and maxRecordSizeInBytes is "
                    + maxRecordSizeInBytes + " bytes of data");
        }
        return record;
    }

    private void emit(PutRecordsRequestEntry entry, int userRecords)
            throws IOException, InterruptedException {
        if (userRecords > 1) {
            aggregatesOut.inc();
        }
        inner.write(entry, NO_CONTEXT);
    }

    private void scheduleTimer() {
        if (timerSet || pending.isEmpty()) {
            return;
        }
        timerSet = true;
        time.registerTimer(pending.oldestSince() + maxAggregateDelayMs, this::onTimer);
    }

    private void onTimer(long timestamp) throws IOException, InterruptedException {
        timerSet = false;
        followShardMap();
        pending.emitStartedBy(time.getCurrentProcessingTime() - maxAggregateDelayMs);
        scheduleTimer();
    }

    /** Hands every pending aggregate to the inner writer, then flushes it. */
    @Override
    public void flush(boolean endOfInput) throws IOException, InterruptedException {
        followShardMap();
        pending.emitAll();
        inner.flush(endOfInput);
    }

    /** The inner writer's buffer: after {@link #flush}, everything not yet acknowledged. */
    @Override
    public List<BufferedRequestState<PutRecordsRequestEntry>> snapshotState(long checkpointId)
            throws IOException {
        return inner.snapshotState(checkpointId);
    }

    @Override
    public void close() throws Exception {
        try {
            inner.close();
        } finally {
            stream.close();
        }
    }
}
