package io.pyflinkkinesis.consumer;

import org.apache.flink.runtime.taskexecutor.GlobalAggregateManager;

import java.io.IOException;
import java.util.HashSet;
import java.util.Set;

/**
 * The shard board kept in the JobManager, through the global aggregate manager that
 * {@code JobManagerWatermarkTracker} uses too.
 *
 * <p>Each call is one blocking RPC. The board lives as long as the JobManager: a JobManager
 * failover loses it, which only makes children wait until their parents are read again and
 * published anew (every subtask restarts then, and shards finished before the restored
 * checkpoint are known from its state).
 */
final class JobManagerShardBoard implements ShardBoard {

    private final GlobalAggregateManager manager;
    private final String name;
    private final int subtask;

    /**
     * @param name the board's name, one per consumer in the job (its operator id)
     * @param subtask the index of the subtask that uses this view
     */
    JobManagerShardBoard(GlobalAggregateManager manager, String name, int subtask) {
        this.manager = manager;
        this.name = name;
        this.subtask = subtask;
    }

    @Override
    public void finished(String key, long safeAfter) throws IOException {
        send(BoardUpdate.finished(key, safeAfter));
    }

    @Override
    public void reopen(int parallelism, Set<String> finishedInState) throws IOException {
        send(BoardUpdate.reopen(parallelism, new HashSet<>(finishedInState)));
    }

    @Override
    public long safeAfter(String key) throws IOException {
        return send(BoardUpdate.lookup(key));
    }

    private long send(BoardUpdate update) throws IOException {
        Long answer = manager.updateGlobalAggregate(name, subtask, update);
        return answer;
    }
}
