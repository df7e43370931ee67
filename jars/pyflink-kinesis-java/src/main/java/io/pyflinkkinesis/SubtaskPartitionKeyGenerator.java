package io.pyflinkkinesis;

import org.apache.flink.connector.kinesis.sink.PartitionKeyGenerator;
import org.apache.flink.metrics.MetricGroup;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * "fixed" partition keys as Flink documents them: each sink subtask writes every record under
 * its own index ("0", "1", ...), so each subtask's records stay in one shard, in order.
 *
 * <p>The index comes from {@link #open} (called by our {@code SubtaskInitializingSink} in the
 * DataStream sink) or {@link #initialize}, the connector's own contract, which connector 4.3.0
 * never calls. The table sink offers no hook at all, so when neither was called the index is
 * read from the Flink task thread that writes the records: Flink names it
 * {@code "<task name> (<index + 1>/<parallelism>)#<attempt>"}. A thread without that suffix
 * fails the job rather than guessing a key.
 */
public class SubtaskPartitionKeyGenerator<T> implements PartitionKeyGenerator<T>, SubtaskAware {

    private static final long serialVersionUID = 1L;

    private static final Pattern TASK_THREAD = Pattern.compile("\\((\\d+)/(\\d+)\\)(#\\d+)?$");

    private transient String key;

    @Override
    public void open(int subtaskIndex, int parallelism, MetricGroup metrics) {
        initialize(subtaskIndex, parallelism);
    }

    /** The connector's contract for fixed keys: this subtask's index and the parallelism. */
    public void initialize(int indexOfThisSubtask, int numberOfParallelSubtasks) {
        if (indexOfThisSubtask < 0 || indexOfThisSubtask >= numberOfParallelSubtasks) {
            throw new IllegalArgumentException("subtask index " + indexOfThisSubtask
                    + " is not in 0.." + (numberOfParallelSubtasks - 1));
        }
        key = String.valueOf(indexOfThisSubtask);
    }

    @Override
    public String apply(T record) {
        if (key == null) {
            key = String.valueOf(subtaskOfTaskThread(Thread.currentThread().getName()));
        }
        return key;
    }

    /** The subtask index (from 0) in a Flink task thread's name. */
    static int subtaskOfTaskThread(String threadName) {
        Matcher match = TASK_THREAD.matcher(threadName);
        if (!match.find()) {
            throw new IllegalStateException("fixed partition keys need the sink subtask's index, "
                    + "but nothing passed it (initialize was not called) and thread '"
                    + threadName + "' is not a Flink task thread named '<task> (<n>/<p>)#<a>'");
        }
        return Integer.parseInt(match.group(1)) - 1;
    }

    @Override
    public String toString() {
        return "fixed()";
    }
}
