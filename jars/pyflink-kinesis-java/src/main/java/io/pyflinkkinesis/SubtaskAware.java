package io.pyflinkkinesis;

import org.apache.flink.metrics.MetricGroup;

/**
 * A partition key generator that needs to know the sink subtask it runs in.
 *
 * <p>Connector 4.3.0 never tells a generator its subtask: {@link SubtaskInitializingSink} does,
 * calling {@link #open} before the subtask's writer is created.
 */
public interface SubtaskAware {

    /**
     * Called once per subtask, before the first record.
     *
     * @param subtaskIndex this sink subtask's index, from 0
     * @param parallelism the number of sink subtasks
     * @param metrics the sink writer's metric group, to register counters on
     */
    void open(int subtaskIndex, int parallelism, MetricGroup metrics);
}
