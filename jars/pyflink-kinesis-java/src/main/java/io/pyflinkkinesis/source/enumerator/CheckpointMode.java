package io.pyflinkkinesis.source.enumerator;

/** How the job checkpoints, as far as the order of a parent's and a child's records goes. */
public enum CheckpointMode {
    /** No periodic checkpoints: nothing tells when a finished parent's records are through. */
    NONE,
    /**
     * Aligned checkpoints (exactly-once or at-least-once): when one completes, every record
     * emitted before its barrier went through every operator.
     */
    ALIGNED,
    /**
     * Unaligned checkpoints: barriers overtake records in flight, so a completed checkpoint says
     * nothing about where a parent's last records are; children are placed as with {@link
     * #NONE}, finished shards are still acknowledged only once in a completed checkpoint.
     */
    UNALIGNED
}
