package io.pyflinkkinesis.consumer;

import java.io.IOException;
import java.util.Set;

/**
 * What the consumer's subtasks tell each other about the shards they read to their end, as
 * seen by one subtask.
 *
 * <p>Subtasks of a legacy source do not talk to each other; {@link JobManagerShardBoard} keeps
 * the board in the JobManager ({@link BoardUpdate} is its logic). Shards are named
 * {@code stream/shardId}.
 */
interface ShardBoard {

    /** {@link #safeAfter} of a shard not (or no longer) published as finished. */
    long NOT_FINISHED = -1;

    /**
     * This subtask read shard {@code key} to its end: every checkpoint from {@code safeAfter} on
     * has its barrier behind the shard's last record.
     */
    void finished(String key, long safeAfter) throws IOException;

    /**
     * This subtask (re)starts: every shard it published as finished is open again, except those
     * finished in the state it restored ({@code finishedInState}). Subtask 0 also reopens the
     * shards of subtasks at or above {@code parallelism} (a job rescaled by the adaptive
     * scheduler keeps its JobManager, and so the board).
     */
    void reopen(int parallelism, Set<String> finishedInState) throws IOException;

    /** The {@code safeAfter} published for shard {@code key}, or {@link #NOT_FINISHED}. */
    long safeAfter(String key) throws IOException;
}
