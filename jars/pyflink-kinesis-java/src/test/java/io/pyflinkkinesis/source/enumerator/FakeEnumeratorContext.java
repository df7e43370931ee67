package io.pyflinkkinesis.source.enumerator;

import io.pyflinkkinesis.source.split.ShardSplit;
import org.apache.flink.api.connector.source.ReaderInfo;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.connector.source.SplitsAssignment;
import org.apache.flink.metrics.groups.SplitEnumeratorMetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.function.BiConsumer;

/** An enumerator context that records assignments and events and runs callAsync on demand. */
final class FakeEnumeratorContext implements SplitEnumeratorContext<ShardSplit> {

    final int parallelism;
    final Map<Integer, ReaderInfo> readers = new TreeMap<>();
    /** Every split assigned, by subtask, in order. */
    final Map<Integer, List<String>> assigned = new TreeMap<>();
    /** The split last assigned of each shard id. */
    final Map<String, ShardSplit> splits = new TreeMap<>();
    final List<String> events = new ArrayList<>();
    private Callable<Object> periodic;
    private BiConsumer<Object, Throwable> periodicHandler;

    FakeEnumeratorContext(int parallelism) {
        this.parallelism = parallelism;
    }

    void register(int subtask) {
        readers.put(subtask, new ReaderInfo(subtask, "localhost"));
    }

    /** Runs the periodic call (the shard listing) once, as the coordinator would. */
    void runPeriodic() throws Exception {
        periodicHandler.accept(periodic.call(), null);
    }

    /** Runs the periodic call's handler with {@code error}, as when the listing failed. */
    void failPeriodic(Throwable error) {
        periodicHandler.accept(null, error);
    }

    /** Shard ids assigned to {@code subtask} so far. */
    List<String> assignedTo(int subtask) {
        return assigned.getOrDefault(subtask, new ArrayList<>());
    }

    List<String> allAssigned() {
        List<String> all = new ArrayList<>();
        assigned.values().forEach(all::addAll);
        return all;
    }

    @Override
    public SplitEnumeratorMetricGroup metricGroup() {
        return UnregisteredMetricsGroup.createSplitEnumeratorMetricGroup();
    }

    @Override
    public void sendEventToSourceReader(int subtaskId, SourceEvent event) {
        events.add(subtaskId + ":" + event);
    }

    @Override
    public int currentParallelism() {
        return parallelism;
    }

    @Override
    public Map<Integer, ReaderInfo> registeredReaders() {
        return readers;
    }

    @Override
    public void assignSplits(SplitsAssignment<ShardSplit> newSplitAssignments) {
        newSplitAssignments.assignment().forEach((subtask, assignment) -> assignment.forEach(
                split -> {
                    assigned.computeIfAbsent(subtask, s -> new ArrayList<>())
                            .add(split.splitId());
                    splits.put(split.splitId(), split);
                }));
    }

    @Override
    public void signalNoMoreSplits(int subtask) {
        throw new UnsupportedOperationException();
    }

    @Override
    public <T> void callAsync(Callable<T> callable, BiConsumer<T, Throwable> handler) {
        throw new UnsupportedOperationException();
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> void callAsync(
            Callable<T> callable, BiConsumer<T, Throwable> handler, long initialDelay,
            long period) {
        periodic = (Callable<Object>) callable;
        periodicHandler = (BiConsumer<Object, Throwable>) handler;
    }

    @Override
    public void runInCoordinatorThread(Runnable runnable) {
        runnable.run();
    }
}
