package io.pyflinkkinesis.source.enumerator;

import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.runtime.checkpoint.CheckpointCoordinator;
import org.apache.flink.runtime.operators.coordination.OperatorCoordinator;
import org.apache.flink.runtime.source.coordinator.SourceCoordinatorContext;

import java.lang.reflect.Method;

/**
 * Tells whether the job takes periodic checkpoints, from the enumerator's context.
 *
 * <p>Flink 1.20's {@link SourceCoordinatorContext} (the context every source's enumerator gets)
 * holds the coordinator's {@link OperatorCoordinator.Context}, whose {@link
 * CheckpointCoordinator} knows, through a package-private method {@code getCoordinatorContext()}
 * reached here by reflection. If Flink moves it, this fails with an error saying so instead of
 * guessing: the enumerator's placement of child shards depends on the answer.
 */
public final class CheckpointingProbe {

    static final String METHOD = "getCoordinatorContext";

    private CheckpointingProbe() {
    }

    /** Whether periodic checkpointing is configured for the job of {@code context}. */
    public static boolean periodicCheckpointing(SplitEnumeratorContext<?> context) {
        if (!(context instanceof SourceCoordinatorContext)) {
            throw new IllegalStateException("The pyflink-kinesis source's enumerator got a "
                    + context.getClass().getName() + ", not Flink's SourceCoordinatorContext, "
                    + "and cannot tell whether checkpointing is on; it is built for Flink 1.20's "
                    + "source coordinator (a source nested in another, as in a HybridSource, is "
                    + "not supported)");
        }
        CheckpointCoordinator coordinator = coordinatorContext(context).getCheckpointCoordinator();
        return coordinator != null && coordinator.isPeriodicCheckpointingConfigured();
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
