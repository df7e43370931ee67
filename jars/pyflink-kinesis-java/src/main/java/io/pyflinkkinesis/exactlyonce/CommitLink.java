package io.pyflinkkinesis.exactlyonce;

import io.pyflinkkinesis.sink.KinesisSinkException;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.connector.sink2.InitContext;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;

/**
 * Where the writer and the committer of one exactly-once sink subtask meet, so that the
 * committer can write a checkpoint's records in the background while the task takes in the next
 * ones, and still never lose one.
 *
 * <p>Flink drops a committable from the committer's state once {@code commit} returns, and the
 * next checkpoint snapshots that state. When the writer and the committer are chained in one task,
 * every checkpoint calls the writer's {@code prepareCommit} (in {@code prepareSnapshotPreBarrier})
 * before any operator of the chain snapshots, on the task's thread; it waits here for the writes
 * earlier commits started, and fails the task if one failed. So a committable leaves checkpoint
 * state only once its records are all written: a failure before then restores a checkpoint that
 * still holds it, and it is written again with the same ids.
 *
 * <p>Chained, the writer also keeps each committable's records here ({@link #hold}) and in its own
 * checkpoint state until they are written, and hands the committer a receipt, which the committer
 * {@link #resolve}s: Flink copies a committer's state many times over per checkpoint (see {@link
 * KinesisCommittableSerializer}), a writer's state once. A receipt restored from checkpoint state
 * names another writer, whose state held the records: the writer that restored that state hands
 * them over again.
 *
 * <p>The committer writes in the background only when that holds: exactly one writer of the same
 * sink, job, subtask and attempt registered here from the thread that calls {@code commit} (the
 * two are chained), and the writer's input has not ended. Otherwise (not chained; committables
 * restored before the writer opened; the commits after the end of input, the last a job makes)
 * {@code commit} writes before it returns, after the background writes.
 */
final class CommitLink {

    private static final ConcurrentMap<String, CommitLink> LINKS = new ConcurrentHashMap<>();

    private final String key;
    private int writers;
    private int committers;
    private Thread writerThread;
    private Thread committerThread;
    /** The writer's id, or null before it opened. */
    private RecordId.WriterId writer;
    /** The committables the writer handed over as receipts, not yet written; oldest first. */
    private final List<KinesisCommittable> held = new ArrayList<>();
    private boolean endOfInput;
    /** The last background write, each chained after the one before. */
    private volatile CompletableFuture<Void> writes = CompletableFuture.completedFuture(null);

    private CommitLink(String key) {
        this.key = key;
    }

    /** The link of the sink {@code sinkId}'s subtask in {@code context}'s job and attempt. */
    static CommitLink of(String sinkId, InitContext context) {
        return of(sinkId, context.getJobInfo().getJobId(),
                context.getTaskInfo().getIndexOfThisSubtask(),
                context.getTaskInfo().getAttemptNumber());
    }

    static CommitLink of(String sinkId, JobID job, int subtask, int attempt) {
        return LINKS.computeIfAbsent(sinkId + "/" + job + "/" + subtask + "/" + attempt,
                CommitLink::new);
    }

    /** Called by the writer when it is created, on its task's thread. */
    synchronized void openWriter(RecordId.WriterId writerId) {
        writers++;
        writerThread = Thread.currentThread();
        writer = writerId;
    }

    /** Called by the committer when it is created, on its task's thread. */
    synchronized void openCommitter() {
        committers++;
        committerThread = Thread.currentThread();
    }

    /**
     * Whether the writer, calling this, may hand the committer receipts: exactly one writer and
     * one committer, both created on this thread (chained in one task).
     */
    synchronized boolean chained() {
        return writers == 1 && committers == 1 && writerThread == Thread.currentThread()
                && committerThread == writerThread;
    }

    /** Keeps {@code committable} until it is {@link #written}; returns its receipt. */
    synchronized KinesisCommittable hold(KinesisCommittable committable) {
        held.add(committable);
        return committable.receipt();
    }

    /**
     * The committable with its records that {@code committable} stands for: itself unless it is a
     * receipt; null for a receipt of another writer (restored from checkpoint state: the writer
     * that restored that writer's state hands its records over again).
     *
     * @throws IllegalStateException for a receipt of this subtask's writer that is not held
     */
    synchronized KinesisCommittable resolve(KinesisCommittable committable) {
        if (!committable.isReceipt()) {
            return committable;
        }
        for (KinesisCommittable candidate : held) {
            if (candidate.sameIds(committable)) {
                return candidate;
            }
        }
        if (committable.writer().equals(writer)) {
            throw new IllegalStateException("The exactly-once Kinesis sink's committer was given "
                    + committable + " of its own writer, which does not hold it (it holds "
                    + held + "); the job restores its last checkpoint, whose writer state has "
                    + "the records");
        }
        return null;
    }

    /** {@code committable}'s records are all written: it is no longer held. */
    synchronized void written(KinesisCommittable committable) {
        held.removeIf(candidate -> candidate == committable);
    }

    /** The committables held, oldest first. */
    synchronized List<KinesisCommittable> held() {
        return new ArrayList<>(held);
    }

    /** Called by the writer once its input ended: the commits from now on write at once. */
    synchronized void endInput() {
        endOfInput = true;
    }

    /** Whether a commit on this thread may write in the background. */
    synchronized boolean inBackground() {
        return writers == 1 && committers == 1 && !endOfInput
                && writerThread == Thread.currentThread();
    }

    /**
     * Runs {@code write} on {@code executor} once the writes before it succeeded; after a failed
     * one it does not run (a later committable of the same writer must not land before an
     * earlier one that has not).
     */
    synchronized void writeInBackground(Runnable write, Executor executor) {
        writes = writes.thenRunAsync(write, executor);
    }

    /**
     * Waits until the background writes are done.
     *
     * @throws KinesisSinkException when one failed: the task must restore its last checkpoint
     */
    void awaitWrites() throws InterruptedException {
        try {
            writes.get();
        } catch (ExecutionException e) {
            throw failed(e.getCause());
        }
    }

    /**
     * Fails fast when a background write already failed.
     *
     * @throws KinesisSinkException if one did
     */
    void throwIfFailed() {
        CompletableFuture<Void> last = writes;
        if (last.isCompletedExceptionally()) {
            try {
                last.getNow(null);
            } catch (RuntimeException e) {
                throw failed(e.getCause() == null ? e : e.getCause());
            }
        }
    }

    private static KinesisSinkException failed(Throwable cause) {
        if (cause instanceof KinesisSinkException) {
            return new KinesisSinkException(cause.getMessage(), cause);
        }
        return new KinesisSinkException("Writing a checkpoint's records to Kinesis failed: "
                + cause + ". The job restores its last checkpoint and writes them again.", cause);
    }

    synchronized void closeWriter() {
        writers--;
        release();
    }

    synchronized void closeCommitter() {
        committers--;
        release();
    }

    private void release() {
        if (writers <= 0 && committers <= 0) {
            LINKS.remove(key, this);
        }
    }
}
