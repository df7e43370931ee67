package io.pyflinkkinesis.consumer;

/**
 * The checkpoints one consumer subtask has seen: the last it snapshotted and the newest it was
 * told completed.
 *
 * <p>A shard that ends under the checkpoint lock after snapshot {@code m} has all its records
 * ahead of the barrier of every checkpoint above {@code m}: {@link #nextCheckpoint()} is the first
 * checkpoint whose completion proves the shard's records went through every operator.
 */
final class CheckpointClock {

    private final boolean enabled;
    private volatile long lastSnapshotted;
    private volatile long lastCompleted;

    /**
     * @param enabled whether the job checkpoints at all
     * @param restoredCheckpoint the checkpoint this subtask was restored from, 0 for none
     */
    CheckpointClock(boolean enabled, long restoredCheckpoint) {
        this.enabled = enabled;
        this.lastSnapshotted = restoredCheckpoint;
        this.lastCompleted = restoredCheckpoint;
    }

    boolean isEnabled() {
        return enabled;
    }

    /** Called under the checkpoint lock while the source takes snapshot {@code checkpointId}. */
    void snapshotted(long checkpointId) {
        lastSnapshotted = Math.max(lastSnapshotted, checkpointId);
    }

    void completed(long checkpointId) {
        if (checkpointId > lastCompleted) {
            lastCompleted = checkpointId;
        }
    }

    /** The first checkpoint not yet snapshotted; read under the checkpoint lock. */
    long nextCheckpoint() {
        return lastSnapshotted + 1;
    }

    long lastCompleted() {
        return lastCompleted;
    }
}
