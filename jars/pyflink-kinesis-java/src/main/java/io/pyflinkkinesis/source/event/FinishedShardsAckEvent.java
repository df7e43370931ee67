package io.pyflinkkinesis.source.event;

import org.apache.flink.api.connector.source.SourceEvent;

import java.util.Collections;
import java.util.Set;
import java.util.TreeSet;

/**
 * Enumerator to reader: these finished shards are in the enumerator's state of a completed
 * checkpoint (or need no checkpoint), so the reader may drop them from its own.
 */
public final class FinishedShardsAckEvent implements SourceEvent {

    private static final long serialVersionUID = 1L;

    private final Set<String> shardIds;

    public FinishedShardsAckEvent(Set<String> shardIds) {
        this.shardIds = Collections.unmodifiableSet(new TreeSet<>(shardIds));
    }

    public Set<String> getShardIds() {
        return shardIds;
    }

    @Override
    public String toString() {
        return "FinishedShardsAckEvent{" + shardIds + "}";
    }
}
