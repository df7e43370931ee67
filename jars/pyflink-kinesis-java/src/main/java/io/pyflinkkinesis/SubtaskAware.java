package io.pyflinkkinesis;

import org.apache.flink.metrics.MetricGroup;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * A partition key generator that needs to know the sink subtask it runs in.
 *
 * <p>Connector 4.3.0 never tells a generator its subtask: our sinks do, with {@link
 * #tellSubtask}, before each subtask's writer is created.
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

    /**
     * Tell {@code generator} its subtask: {@link #open} if it is {@code SubtaskAware}, else a
     * public {@code initialize(int indexOfThisSubtask, int numberOfParallelSubtasks)} method (the
     * connector's fixed generator, and generators of the user's own that follow its contract),
     * else nothing (also for a null generator).
     */
    static void tellSubtask(Object generator, int subtaskIndex, int parallelism,
            MetricGroup metrics) {
        if (generator == null) {
            return;
        }
        if (generator instanceof SubtaskAware) {
            ((SubtaskAware) generator).open(subtaskIndex, parallelism, metrics);
            return;
        }
        Method initialize;
        try {
            initialize = generator.getClass().getMethod("initialize", int.class, int.class);
        } catch (NoSuchMethodException e) {
            return;
        }
        try {
            initialize.invoke(generator, subtaskIndex, parallelism);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(
                    generator.getClass().getName() + ".initialize(int, int) is not accessible; "
                            + "make the class public",
                    e);
        } catch (InvocationTargetException e) {
            throw new IllegalStateException(
                    generator.getClass().getName() + ".initialize(" + subtaskIndex + ", "
                            + parallelism + ") failed",
                    e.getCause());
        }
    }
}
