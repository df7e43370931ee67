package io.pyflinkkinesis.source.enumerator;

import io.pyflinkkinesis.source.split.ShardMarks;
import io.pyflinkkinesis.source.split.ShardSplit;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What the enumerator checkpoints: whether the job's first shard listing happened (it fixes the
 * start positions), the shards not yet assigned, the ids of those assigned and of those read to
 * their end, each with what its children inherit of its de-duplication marks. Finished shards in
 * a restored state count as through the whole job: the checkpoint that holds them completed.
 */
public final class EnumeratorState {

    private final boolean listed;
    private final List<ShardSplit> unassigned;
    private final Set<String> assigned;
    private final Map<String, ShardMarks> finished;

    /** {@code finished}: the finished shards' ids and what their children inherit. */
    public EnumeratorState(
            boolean listed, List<ShardSplit> unassigned, Set<String> assigned,
            Map<String, ShardMarks> finished) {
        this.listed = listed;
        this.unassigned = Collections.unmodifiableList(new ArrayList<>(unassigned));
        this.assigned = Collections.unmodifiableSet(new TreeSet<>(assigned));
        this.finished = Collections.unmodifiableMap(new TreeMap<>(finished));
    }

    /** The state of a job that has not listed the stream's shards yet. */
    public static EnumeratorState initial() {
        return new EnumeratorState(
                false, Collections.emptyList(), Collections.emptySet(), Collections.emptyMap());
    }

    /** Whether the first shard listing happened: shards found later start at TRIM_HORIZON. */
    public boolean isListed() {
        return listed;
    }

    public List<ShardSplit> getUnassigned() {
        return unassigned;
    }

    public Set<String> getAssigned() {
        return assigned;
    }

    public Set<String> getFinished() {
        return finished.keySet();
    }

    /** The finished shards' ids, each with what its children inherit of its marks. */
    public Map<String, ShardMarks> getFinishedMarks() {
        return finished;
    }

    @Override
    public boolean equals(Object other) {
        if (!(other instanceof EnumeratorState)) {
            return false;
        }
        EnumeratorState that = (EnumeratorState) other;
        return listed == that.listed && unassigned.equals(that.unassigned)
                && assigned.equals(that.assigned) && finished.equals(that.finished);
    }

    @Override
    public int hashCode() {
        return unassigned.hashCode() * 31 + assigned.hashCode() * 17 + finished.hashCode();
    }

    @Override
    public String toString() {
        return "EnumeratorState{listed=" + listed + ", unassigned=" + unassigned
                + ", assigned=" + assigned + ", finished=" + finished.keySet() + "}";
    }
}
