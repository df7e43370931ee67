package io.pyflinkkinesis.source.event;

import io.pyflinkkinesis.source.split.ShardMarks;
import org.apache.flink.api.connector.source.SourceEvent;

import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reader to enumerator: these shards are read to their end, every record of theirs emitted.
 *
 * <p>{@code restored} says the reader found them in the checkpoint it was restored from: their
 * records were emitted before that checkpoint's barrier, so they are through the whole job. The
 * enumerator takes repeats of a report without harm.
 *
 * <p>Each shard comes with what its children inherit of its de-duplication marks ({@link
 * io.pyflinkkinesis.source.split.ShardSplit#inheritance()}; empty when none).
 */
public final class ShardsFinishedEvent implements SourceEvent {

    private static final long serialVersionUID = 1L;

    private final Map<String, ShardMarks> inheritances;
    private final boolean restored;

    /** {@code inheritances}: each finished shard's id and what its children inherit. */
    public ShardsFinishedEvent(Map<String, ShardMarks> inheritances, boolean restored) {
        this.inheritances = Collections.unmodifiableMap(new TreeMap<>(inheritances));
        this.restored = restored;
    }

    public Set<String> getShardIds() {
        return inheritances.keySet();
    }

    /** What the children of finished shard {@code shardId} inherit of its marks. */
    public ShardMarks getInheritance(String shardId) {
        return inheritances.get(shardId);
    }

    public boolean isRestored() {
        return restored;
    }

    @Override
    public String toString() {
        return "ShardsFinishedEvent{" + inheritances.keySet() + (restored ? ", restored" : "")
                + "}";
    }
}
