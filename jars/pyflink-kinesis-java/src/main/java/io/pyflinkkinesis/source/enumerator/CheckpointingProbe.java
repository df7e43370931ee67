package io.pyflinkkinesis.source.enumerator;

import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.runtime.checkpoint.CheckpointCoordinator;
import org.apache.flink.runtime.operators.coordination.OperatorCoordinator;
import org.apache.flink.runtime.source.coordinator.SourceCoordinatorContext;

import java.lang.reflect.Field;
import java.lang.reflect.Method;

/**
 * Tells how the job checkpoints ({@link CheckpointMode}), from the enumerator's context.
 *
 * <p>Flink 1.20's {@link SourceCoordinatorContext} (the context every source's enumerator gets)
 * holds the coordinator's {@link OperatorCoordinator.Context} in a package-private method {@code
 * getCoordinatorContext()}; its {@link CheckpointCoordinator} says whether periodic checkpoints
 * are configured, and holds whether they are unaligned in a private field {@code
 * unalignedCheckpointsEnabled}. Both are reached here by reflection. If Flink moves them, this
 * fails with an error saying so instead of guessing: the enumerator's placement of child shards
 * depends on the answer.
 */
public final class CheckpointingProbe {

    static final String METHOD = "getCoordinatorContext";
    static final String UNALIGNED_FIELD = "unalignedCheckpointsEnabled";

    private CheckpointingProbe() {
    }

    /** How the job of {@code context} checkpoints. */
    public static CheckpointMode checkpointMode(SplitEnumeratorContext<?> context) {
        if (!(context instanceof SourceCoordinatorContext)) {
            throw new IllegalStateException("The pyflink-kinesis source's enumerator got a "
                    + context.getClass().getName() + ", not Flink's SourceCoordinatorContext, "
                    + "and cannot tell whether checkpointing is on; it is built for Flink 1.20's "
                    + "source coordinator (a source nested in another, as in a HybridSource, is "
                    + "not supported)");
        }
        CheckpointCoordinator coordinator = coordinatorContext(context).getCheckpointCoordinator();
        if (coordinator == null || !coordinator.isPeriodicCheckpointingConfigured()) {
            return CheckpointMode.NONE;
        }
        return unaligned(coordinator) ? CheckpointMode.UNALIGNED : CheckpointMode.ALIGNED;
    }

    static boolean unaligned(CheckpointCoordinator coordinator) {
        try {
            Field field = CheckpointCoordinator.class.getDeclaredField(UNALIGNED_FIELD);
            field.setAccessible(true);
            return field.getBoolean(coordinator);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("Flink's CheckpointCoordinator." + UNALIGNED_FIELD
                    + " is not as in Flink 1.20, so the pyflink-kinesis source cannot tell "
                    + "whether checkpoints are unaligned; use the Flink version this package "
                    + "pins", e);
        }
    }

    static OperatorCoordinator.Context coordinatorContext(SplitEnumeratorContext<?> context) {
        try {
            Method method = SourceCoordinatorContext.class.getDeclaredMethod(METHOD);
            method.setAccessible(true);
            return (OperatorCoordinator.Context) method.invoke(context);
        } catch (ReflectiveOperationException | ClassCastException e) {
            throw new IllegalStateException("Flink's SourceCoordinatorContext."
                    + METHOD + "() is not as in Flink 1.20, so the pyflink-kinesis source cannot "
                    + "tell whether checkpointing is on; use the Flink version this package pins",
                    e);
        }
    }
}
