package io.pyflinkkinesis.source.enumerator;

import org.apache.flink.runtime.checkpoint.CheckpointCoordinator;
import org.apache.flink.runtime.operators.coordination.OperatorCoordinator;
import org.apache.flink.runtime.source.coordinator.SourceCoordinatorContext;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointingProbeTest {

    /** Pins the package-private method the probe reaches (Flink 1.20). */
    @Test
    void flinksSourceCoordinatorContextHoldsTheCoordinatorContext() throws Exception {
        Method method = SourceCoordinatorContext.class.getDeclaredMethod(CheckpointingProbe.METHOD);
        assertEquals(OperatorCoordinator.Context.class, method.getReturnType());
        assertEquals(OperatorCoordinator.Context.class.getMethod("getCheckpointCoordinator")
                .getReturnType().getName(),
                "org.apache.flink.runtime.checkpoint.CheckpointCoordinator");
    }

    /** Pins the private field the probe reads for unaligned checkpoints (Flink 1.20). */
    @Test
    void flinksCheckpointCoordinatorKnowsWhetherCheckpointsAreUnaligned() throws Exception {
        assertEquals(boolean.class, CheckpointCoordinator.class
                .getDeclaredField(CheckpointingProbe.UNALIGNED_FIELD).getType());
    }

    @Test
    void anotherContextFailsLoudly() {
        IllegalStateException error = assertThrows(IllegalStateException.class,
                () -> CheckpointingProbe.checkpointMode(new FakeEnumeratorContext(1)));
        assertTrue(error.getMessage().contains("cannot tell whether checkpointing is on"),
                error.getMessage());
    }
}
