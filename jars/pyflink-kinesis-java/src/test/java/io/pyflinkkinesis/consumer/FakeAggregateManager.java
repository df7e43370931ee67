package io.pyflinkkinesis.consumer;

import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.runtime.taskexecutor.GlobalAggregateManager;
import org.apache.flink.util.InstantiationUtil;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * The JobManager's side of {@code GlobalAggregateManager}, in memory: each call ships the
 * function by serialization, as the RPC does, applies it to the accumulator kept under the
 * name, and answers. Refuses an argument or answer the JobManager's RPC could not carry (only
 * JDK classes load there).
 */
final class FakeAggregateManager implements GlobalAggregateManager {

    private final Map<String, Object> accumulators = new HashMap<>();
    int calls;
    /** Runs inside each call, after the function is applied (a checkpoint completing meanwhile). */
    Runnable duringCall = () -> {};

    @Override
    @SuppressWarnings("unchecked")
    public <IN, ACC, OUT> OUT updateGlobalAggregate(String name, Object aggregand,
            AggregateFunction<IN, ACC, OUT> function) throws IOException {
        requireJdkType(aggregand);
        AggregateFunction<IN, ACC, OUT> shipped;
        try {
            shipped = InstantiationUtil.clone(function);
        } catch (ClassNotFoundException e) {
            throw new IOException(e);
        }
        ACC accumulator = (ACC) accumulators.computeIfAbsent(name, n -> shipped.createAccumulator());
        accumulator = shipped.add((IN) aggregand, accumulator);
        accumulators.put(name, accumulator);
        calls++;
        OUT answer = shipped.getResult(accumulator);
        requireJdkType(answer);
        duringCall.run();
        return answer;
    }

    private static void requireJdkType(Object value) {
        if (value != null && !value.getClass().getName().startsWith("java.")) {
            throw new IllegalArgumentException("the JobManager's RPC cannot load "
                    + value.getClass().getName());
        }
    }
}
