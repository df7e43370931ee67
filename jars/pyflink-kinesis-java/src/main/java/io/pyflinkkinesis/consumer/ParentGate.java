package io.pyflinkkinesis.consumer;

import org.apache.flink.streaming.connectors.kinesis.model.StreamShardHandle;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Holds a child shard back until each of its parents is read to its end, as {@link ShardOrder}
 * defines it. Asked again and again by the child's shard thread; never blocks for long.
 *
 * <p>The order of reads matters for a parent read by another subtask: the newest completed
 * checkpoint is read before the board. A subtask that restarts withdraws its stale
 * publications before it can acknowledge any checkpoint ({@link ShardBoard#reopen}), so a
 * checkpoint seen complete here was taken after that withdrawal, and the board read after it
 * no longer holds them. The board is read again only when a newer checkpoint completed (a
 * publication is never safe at a checkpoint completed before it was published), or at every
 * call without checkpointing.
 */
final class ParentGate {

    private static final Logger LOG = LoggerFactory.getLogger(ParentGate.class);

    private final ShardOrder order;
    private final StreamShardHandle child;
    private final String childId;
    private final List<Parent> waiting = new ArrayList<>();
    private final List<String> read = new ArrayList<>();

    /** One parent not yet known to be read. */
    private static final class Parent {
        final String id;
        final String key;
        boolean logged;
        boolean failureLogged;
        long askedAt = -1;
        long published = ShardBoard.NOT_FINISHED;

        Parent(String id, String key) {
            this.id = id;
            this.key = key;
        }
    }

    ParentGate(ShardOrder order, StreamShardHandle child) {
        this.order = order;
        this.child = child;
        this.childId = child.getShard().getShardId();
        for (String parent : ShardOrder.parents(child)) {
            waiting.add(new Parent(parent, ShardOrder.key(child.getStreamName(), parent)));
        }
    }

    /** Whether the child may be read now; once true, stays true. */
    boolean isOpen() throws InterruptedException {
        for (Iterator<Parent> parents = waiting.iterator(); parents.hasNext(); ) {
            Parent parent = parents.next();
            String how = howRead(parent);
            if (how != null) {
                parents.remove();
                read.add(parent.id + " (" + how + ")");
            }
        }
        if (waiting.isEmpty() && !read.isEmpty()) {
            LOG.info("{} starts on subtask {}: its parents are read to their end: {}", childId,
                    order.subtask, String.join(", ", read));
            read.clear();
        }
        return waiting.isEmpty();
    }

    /** How {@code parent} is known to be read, or null while it is not. */
    private String howRead(Parent parent) throws InterruptedException {
        if (order.finishedInRestoredState(parent.key)) {
            return "finished in the restored checkpoint";
        }
        TrackedShardState here = order.stateHere(parent.key);
        if (here != null) {
            if (here.isFinished()) {
                return "by this subtask";
            }
            logWait(parent, "read by subtask " + order.subtask + ", this one");
            return null;
        }
        if (isPublishedAndSafe(parent)) {
            return order.clock.isEnabled()
                    ? "by another subtask, safe after checkpoint " + parent.published
                    : "by another subtask; no checkpoints, so not ordered downstream";
        }
        boolean mayHaveExpired = parent.published == ShardBoard.NOT_FINISHED;
        if (mayHaveExpired || !parent.logged) {
            Map<String, StreamShardHandle> listed = order.lister.shards(child.getStreamName());
            if (mayHaveExpired && listed.containsKey(childId) && !listed.containsKey(parent.id)) {
                return "no longer listed: expired";
            }
            StreamShardHandle shard = listed.get(parent.id);
            logWait(parent, shard == null ? "read by another subtask"
                    : "read by subtask " + order.owner(shard));
        }
        return null;
    }

    private boolean isPublishedAndSafe(Parent parent) {
        CheckpointClock clock = order.clock;
        long completed = clock.lastCompleted();
        if (clock.isEnabled() && completed <= parent.askedAt) {
            return false;
        }
        try {
            parent.published = order.board.safeAfter(parent.key);
        } catch (IOException e) {
            if (!parent.failureLogged) {
                parent.failureLogged = true;
                LOG.warn("{} cannot ask the JobManager whether parent {} is read; asking again",
                        childId, parent.id, e);
            }
            return false;
        }
        parent.askedAt = completed;
        return parent.published != ShardBoard.NOT_FINISHED
                && (!clock.isEnabled() || parent.published <= completed);
    }

    private void logWait(Parent parent, String reader) {
        if (!parent.logged) {
            parent.logged = true;
            LOG.info("{} waits for parent {} ({}) on subtask {}, stream {}", childId, parent.id,
                    reader, order.subtask, child.getStreamName());
        }
    }
}
