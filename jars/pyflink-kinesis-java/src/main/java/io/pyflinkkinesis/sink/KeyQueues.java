package io.pyflinkkinesis.sink;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Entries waiting to be written, in per-key order: one FIFO queue per key, and the entries that
 * may go now. An entry has one or more keys (a record its partition key, an aggregate the keys
 * of its records) and may go when it is first in the queue of every one of its keys and not in
 * flight: so an entry is in flight only when no earlier entry of any of its keys is unacknowledged,
 * and a batch of ready entries holds at most one entry per key. A failed entry stays first in its
 * queues ({@link #retry}): nothing of its keys goes before it is acknowledged.
 *
 * <p>Ready entries are taken oldest first. Not thread-safe: the writer's mailbox thread owns it.
 *
 * @param <E> what an entry carries
 */
final class KeyQueues<E> {

    /** Room between the orders of two added entries, for the entries that replace one. */
    static final long REPLACEMENTS_PER_ENTRY = 1L << 20;

    /** An entry: its value, keys, sizes, when it was added, where it stands. */
    static final class Entry<E> {
        final E value;
        final String[] keys;
        /** Counted against the batch and buffer byte limits (the data, as the state counts it). */
        final long size;
        /** What it adds to a request: data plus partition key. */
        final long requestBytes;
        final long addedMs;
        /** Its place: an earlier entry has a lower order. */
        final long order;
        boolean inFlight;
        /** In the ready queue. */
        boolean ready;

        Entry(E value, String[] keys, long size, long requestBytes, long addedMs, long order) {
            this.value = value;
            this.keys = keys;
            this.size = size;
            this.requestBytes = requestBytes;
            this.addedMs = addedMs;
            this.order = order;
        }

        @Override
        public String toString() {
            return value + (inFlight ? " (in flight)" : "");
        }
    }

    private static final Comparator<Entry<?>> BY_ORDER = Comparator.comparingLong(e -> e.order);

    private final Map<String, ArrayDeque<Entry<E>>> byKey = new HashMap<>();
    private final PriorityQueue<Entry<E>> ready = new PriorityQueue<>(BY_ORDER);
    /** Every entry not yet acknowledged, in flight or not. */
    private final Set<Entry<E>> entries = new LinkedHashSet<>();
    private long nextOrder;
    private int waiting;
    private long waitingSize;

    /** Adds an entry behind every entry of its keys; returns it. */
    Entry<E> add(E value, Collection<String> keys, long size, long requestBytes, long nowMs) {
        // An aggregate's own partition key is one of its records' keys: each key once.
        Entry<E> entry = new Entry<>(value, new LinkedHashSet<>(keys).toArray(new String[0]),
                size, requestBytes, nowMs, nextOrder);
        nextOrder += REPLACEMENTS_PER_ENTRY;
        entries.add(entry);
        waiting++;
        waitingSize += size;
        boolean first = true;
        for (String key : entry.keys) {
            ArrayDeque<Entry<E>> queue = byKey.computeIfAbsent(key, k -> new ArrayDeque<>());
            first &= queue.isEmpty();
            queue.addLast(entry);
        }
        if (first) {
            makeReady(entry);
        }
        return entry;
    }

    /**
     * Takes ready entries, oldest first, into flight: at most {@code maxCount}, and no more than
     * {@code maxSize} and {@code maxRequestBytes} together (the first always).
     */
    List<Entry<E>> take(int maxCount, long maxSize, long maxRequestBytes) {
        List<Entry<E>> batch = new ArrayList<>();
        long size = 0;
        long requestBytes = 0;
        while (batch.size() < maxCount && !ready.isEmpty()) {
            Entry<E> next = ready.peek();
            if (!batch.isEmpty() && (size + next.size > maxSize
                    || requestBytes + next.requestBytes > maxRequestBytes)) {
                break;
            }
            ready.poll();
            next.ready = false;
            next.inFlight = true;
            waiting--;
            waitingSize -= next.size;
            size += next.size;
            requestBytes += next.requestBytes;
            batch.add(next);
        }
        return batch;
    }

    /** An entry in flight was written: it leaves, and the entries behind it may become ready. */
    void acknowledge(Entry<E> entry) {
        requireInFlight(entry);
        entries.remove(entry);
        for (String key : entry.keys) {
            ArrayDeque<Entry<E>> queue = byKey.get(key);
            queue.pollFirst();
            if (queue.isEmpty()) {
                byKey.remove(key);
            } else {
                readyIfFirst(queue.peekFirst());
            }
        }
    }

    /** An entry in flight was not written: it is ready again, still first of its keys. */
    void retry(Entry<E> entry) {
        requireInFlight(entry);
        entry.inFlight = false;
        waiting++;
        waitingSize += entry.size;
        makeReady(entry);
    }

    /**
     * An entry in flight was written but must be written again as {@code replacements}, in their
     * order: they take its place, ahead of every later entry of their keys. Each replacement's
     * keys must be keys of the entry.
     */
    void replace(Entry<E> entry, List<Replacement<E>> replacements) {
        requireInFlight(entry);
        if (replacements.size() >= REPLACEMENTS_PER_ENTRY) {
            throw new IllegalArgumentException(replacements.size() + " replacements for one "
                    + "entry; at most " + (REPLACEMENTS_PER_ENTRY - 1));
        }
        entries.remove(entry);
        List<Entry<E>> placed = new ArrayList<>(replacements.size());
        Map<String, List<Entry<E>>> byOwnKey = new HashMap<>();
        for (int i = 0; i < replacements.size(); i++) {
            Replacement<E> replacement = replacements.get(i);
            Entry<E> placedEntry = new Entry<>(replacement.value,
                    new LinkedHashSet<>(replacement.keys).toArray(new String[0]), replacement.size,
                    replacement.requestBytes, entry.addedMs, entry.order + i);
            for (String key : placedEntry.keys) {
                if (!contains(entry.keys, key)) {
                    throw new IllegalArgumentException("a replacement has key '" + key
                            + "', which the entry it replaces has not");
                }
                byOwnKey.computeIfAbsent(key, k -> new ArrayList<>()).add(placedEntry);
            }
            placed.add(placedEntry);
            entries.add(placedEntry);
            waiting++;
            waitingSize += placedEntry.size;
        }
        for (String key : entry.keys) {
            ArrayDeque<Entry<E>> queue = byKey.get(key);
            queue.pollFirst();
            List<Entry<E>> ahead = byOwnKey.getOrDefault(key, new ArrayList<>());
            for (int i = ahead.size() - 1; i >= 0; i--) {
                queue.addFirst(ahead.get(i));
            }
            if (queue.isEmpty()) {
                byKey.remove(key);
            }
        }
        for (String key : entry.keys) {
            ArrayDeque<Entry<E>> queue = byKey.get(key);
            if (queue != null) {
                readyIfFirst(queue.peekFirst());
            }
        }
    }

    /** What replaces an entry: a value, its keys and sizes. */
    static final class Replacement<E> {
        final E value;
        final Collection<String> keys;
        final long size;
        final long requestBytes;

        Replacement(E value, Collection<String> keys, long size, long requestBytes) {
            this.value = value;
            this.keys = keys;
            this.size = size;
            this.requestBytes = requestBytes;
        }
    }

    /** The oldest ready entry, or null. */
    Entry<E> oldestReady() {
        return ready.peek();
    }

    boolean hasReady() {
        return !ready.isEmpty();
    }

    /** How many entries may go now. */
    int readyCount() {
        return ready.size();
    }

    /** How many entries wait (are not in flight). */
    int waiting() {
        return waiting;
    }

    /** The sizes of the entries that wait. */
    long waitingSize() {
        return waitingSize;
    }

    /** Whether every entry was acknowledged. */
    boolean isEmpty() {
        return entries.isEmpty();
    }

    /** Every entry not yet acknowledged, oldest first. */
    List<Entry<E>> inOrder() {
        List<Entry<E>> ordered = new ArrayList<>(entries);
        ordered.sort(BY_ORDER);
        return ordered;
    }

    private void readyIfFirst(Entry<E> entry) {
        if (entry.inFlight || entry.ready) {
            return;
        }
        for (String key : entry.keys) {
            if (byKey.get(key).peekFirst() != entry) {
                return;
            }
        }
        makeReady(entry);
    }

    private void makeReady(Entry<E> entry) {
        entry.ready = true;
        ready.add(entry);
    }

    private void requireInFlight(Entry<E> entry) {
        if (!entry.inFlight || !entries.contains(entry)) {
            throw new IllegalStateException(entry + " is not in flight");
        }
    }

    private static boolean contains(String[] keys, String key) {
        for (String candidate : keys) {
            if (candidate.equals(key)) {
                return true;
            }
        }
        return false;
    }
}
