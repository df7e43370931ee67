package io.pyflinkkinesis.aggregation;

import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.util.FlinkRuntimeException;
import org.apache.flink.util.function.ThrowingRunnable;

import java.util.ArrayDeque;
import java.util.Deque;

/** A mailbox run by the test thread: mails wait in a queue until a yield runs them. */
public final class QueueMailbox implements MailboxExecutor {

    private final Deque<ThrowingRunnable<? extends Exception>> mails = new ArrayDeque<>();
    /**
     * What a yield with no mail runs first, as the outside world would (a server answering a
     * request); null: nothing.
     */
    public Runnable whenIdle;

    @Override
    public void execute(MailOptions options, ThrowingRunnable<? extends Exception> command,
            String description, Object... descriptionArgs) {
        mails.add(command);
    }

    /**
     * Runs the next mail; with none, runs {@link #whenIdle} and then the next mail; fails if
     * there is still none (a real mailbox would wait forever).
     */
    @Override
    public void yield() {
        if (!tryYield() && (whenIdle == null || !runWhenIdle())) {
            throw new IllegalStateException("yield with no mail: the writer would wait forever");
        }
    }

    private boolean runWhenIdle() {
        whenIdle.run();
        return tryYield();
    }

    @Override
    public boolean tryYield() {
        ThrowingRunnable<? extends Exception> mail = mails.poll();
        if (mail == null) {
            return false;
        }
        try {
            mail.run();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new FlinkRuntimeException(e);
        }
        return true;
    }

    /** Runs mails until none is left. */
    public void drain() {
        while (tryYield()) {
            // run them all
        }
    }

    @Override
    public boolean shouldInterrupt() {
        return false;
    }
}
