package io.pyflinkkinesis.source.event;

import org.apache.flink.api.connector.source.SourceEvent;

import java.util.Collections;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reader to enumerator: these shards are read to their end, every record of theirs emitted.
 *
 * <p>{@code restored} says the reader found them in the checkpoint it was restored from: their
 * records were emitted before that checkpoint's barrier, so they are through the whole job. The
 * enumerator takes repeats of a report without harm.
 */
public final class ShardsFinishedEvent implements SourceEvent {

    private static final long serialVersionUID = 1L;

    private final Set<String> shardIds;
    private final boolean restored;

    public ShardsFinishedEvent(Set<String> shardIds, boolean restored) {
        this.shardIds = Collections.unmodifiableSet(new TreeSet<>(shardIds));
        this.restored = restored;
    }

    public Set<String> getShardIds() {
        return shardIds;
    }

    public boolean isRestored() {
        return restored;
    }

    @Override
    public String toString() {
        return "ShardsFinishedEvent{" + shardIds + (restored ? ", restored" : "") + "}";
    }
}
