package io.pyflinkkinesis.source.reader;

import io.pyflinkkinesis.source.event.FinishedShardsAckEvent;
import io.pyflinkkinesis.source.event.ShardsFinishedEvent;
import io.pyflinkkinesis.source.split.ShardMarks;
import io.pyflinkkinesis.source.split.ShardSplit;
import io.pyflinkkinesis.source.split.ShardSplitState;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.source.reader.SingleThreadMultiplexSourceReaderBase;
import org.apache.flink.connector.base.source.reader.fetcher.SingleThreadFetcherManager;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Reads the shards the enumerator assigns and tells it when each one ends.
 *
 * <p>A shard that ends ({@link #onSplitFinished}, called once all its records were emitted) is
 * reported to the enumerator with a {@link ShardsFinishedEvent}, and kept in this reader's
 * checkpoints, as a split marked finished, until the enumerator acknowledges it ({@link
 * FinishedShardsAckEvent}, sent once the finish is in a completed checkpoint of the enumerator).
 * The report carries what the shard's children inherit of its de-duplication marks ({@link
 * ShardSplit#inheritance()}).
 * So a checkpoint taken between the report and the enumerator recording it still holds the
 * finish: after a restore the reader reports it again (marked restored), rather than the shard
 * vanishing from both states.
 */
public final class ShardSourceReader<T>
        extends SingleThreadMultiplexSourceReaderBase<
                UserRecord, T, ShardSplit, ShardSplitState> {

    private static final Logger LOG = LoggerFactory.getLogger(ShardSourceReader.class);

    /** Shards read to their end that the enumerator has not acknowledged, by shard id. */
    private final Map<String, ShardSplit> unacknowledgedFinished = new TreeMap<>();

    public ShardSourceReader(
            Supplier<SplitReader<UserRecord, ShardSplit>> splitReaders,
            ShardRecordEmitter<T> emitter,
            Configuration config,
            SourceReaderContext context) {
        super(new SingleThreadFetcherManager<>(splitReaders, config), emitter, config, context);
    }

    @Override
    public void addSplits(List<ShardSplit> splits) {
        List<ShardSplit> toRead = new ArrayList<>();
        Map<String, ShardSplit> restoredFinished = new TreeMap<>();
        Map<String, ShardMarks> restoredMarks = new TreeMap<>();
        for (ShardSplit split : splits) {
            if (split.isFinished()) {
                restoredFinished.put(split.splitId(), split);
                restoredMarks.put(split.splitId(), split.inheritance());
            } else {
                toRead.add(split);
            }
        }
        if (!restoredFinished.isEmpty()) {
            unacknowledgedFinished.putAll(restoredFinished);
            LOG.info("Restored finished shards {}; reporting them again",
                    restoredFinished.keySet());
            context.sendSourceEventToCoordinator(new ShardsFinishedEvent(restoredMarks, true));
        }
        if (!toRead.isEmpty()) {
            super.addSplits(toRead);
        }
    }

    @Override
    protected void onSplitFinished(Map<String, ShardSplitState> finishedSplits) {
        Map<String, ShardMarks> marks = new TreeMap<>();
        for (ShardSplitState state : finishedSplits.values()) {
            ShardSplit split = state.toSplit().asFinished();
            unacknowledgedFinished.put(state.getSplitId(), split);
            marks.put(state.getSplitId(), split.inheritance());
        }
        LOG.info("Shards {} read to their end", finishedSplits.keySet());
        context.sendSourceEventToCoordinator(new ShardsFinishedEvent(marks, false));
    }

    @Override
    public void handleSourceEvents(SourceEvent event) {
        if (event instanceof FinishedShardsAckEvent) {
            unacknowledgedFinished.keySet()
                    .removeAll(((FinishedShardsAckEvent) event).getShardIds());
        } else {
            super.handleSourceEvents(event);
        }
    }

    @Override
    public List<ShardSplit> snapshotState(long checkpointId) {
        List<ShardSplit> splits = new ArrayList<>(super.snapshotState(checkpointId));
        splits.addAll(unacknowledgedFinished.values());
        return splits;
    }

    /** Finished shards not yet acknowledged by the enumerator (for tests and logs). */
    public Map<String, ShardSplit> unacknowledgedFinished() {
        return Collections.unmodifiableMap(new TreeMap<>(unacknowledgedFinished));
    }

    @Override
    protected ShardSplitState initializedState(ShardSplit split) {
        return new ShardSplitState(split);
    }

    @Override
    protected ShardSplit toSplitType(String splitId, ShardSplitState state) {
        return state.toSplit();
    }
}
