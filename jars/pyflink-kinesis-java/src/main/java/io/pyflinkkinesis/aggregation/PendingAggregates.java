package io.pyflinkkinesis.aggregation;

import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The aggregates being filled, one per shard, each with the time its first record came. Records
 * are emitted as Kinesis records in the order they were added to each shard; a record that does
 * not fit in an aggregate on its own is emitted as it is. Used by the mailbox thread only, but
 * re-entrantly: emitting can yield to a timer that emits.
 */
final class PendingAggregates {

    /** Where emitted Kinesis records go. */
    interface Output {
        /** @param userRecords how many user records {@code entry} holds */
        void emit(PutRecordsRequestEntry entry, int userRecords)
                throws IOException, InterruptedException;
    }

    private static final class Pending {
        final KplAggregate aggregate;
        final long since;

        Pending(KplAggregate aggregate, long since) {
            this.aggregate = aggregate;
            this.since = since;
        }
    }

    private final long maxRecordBytes;
    private final long maxDataBytes;
    private final Output output;
    /** By shard id, oldest first (a full aggregate is replaced at the end). */
    private final Map<String, Pending> byShard = new LinkedHashMap<>();

    /** @see KplAggregate#KplAggregate(long, long) */
    PendingAggregates(long maxRecordBytes, long maxDataBytes, Output output) {
        this.maxRecordBytes = maxRecordBytes;
        this.maxDataBytes = maxDataBytes;
        this.output = output;
    }

    /**
     * Adds {@code record} to the aggregate of {@code shardId}, emitting that aggregate first if
     * the record does not fit, or the record itself if it fits in no aggregate.
     */
    void add(String shardId, KeyedRecord record, long now)
            throws IOException, InterruptedException {
        Pending pending = byShard.get(shardId);
        if (pending != null) {
            if (pending.aggregate.add(record)) {
                return;
            }
            byShard.remove(shardId);
            emit(pending);
        }
        KplAggregate fresh = new KplAggregate(maxRecordBytes, maxDataBytes);
        if (fresh.add(record)) {
            byShard.put(shardId, new Pending(fresh, now));
        } else {
            output.emit(KplAggregate.plain(record), 1);
        }
    }

    boolean isEmpty() {
        return byShard.isEmpty();
    }

    /** When the oldest aggregate started; meaningless when empty. */
    long oldestSince() {
        long oldest = Long.MAX_VALUE;
        for (Pending pending : byShard.values()) {
            oldest = Math.min(oldest, pending.since);
        }
        return oldest;
    }

    /** Emits the aggregates that started at or before {@code time}. */
    void emitStartedBy(long time) throws IOException, InterruptedException {
        emitWhere(pending -> pending.since <= time);
    }

    /**
     * Takes out the aggregates of the shards {@code shardIds} rejects, unsent; returns their
     * records, oldest aggregate first, each aggregate's in order.
     */
    List<KeyedRecord> takeUnless(Predicate<String> shardIds) {
        List<KeyedRecord> records = new ArrayList<>();
        Iterator<Map.Entry<String, Pending>> entries = byShard.entrySet().iterator();
        while (entries.hasNext()) {
            Map.Entry<String, Pending> entry = entries.next();
            if (!shardIds.test(entry.getKey())) {
                entries.remove();
                records.addAll(entry.getValue().aggregate.records());
            }
        }
        return records;
    }

    void emitAll() throws IOException, InterruptedException {
        emitWhere(pending -> true);
    }

    // Emitting may yield to the mailbox, whose timer can emit too: take the aggregates out first.
    private void emitWhere(Predicate<Pending> aggregates)
            throws IOException, InterruptedException {
        List<Pending> taken = new ArrayList<>();
        Iterator<Pending> pendings = byShard.values().iterator();
        while (pendings.hasNext()) {
            Pending pending = pendings.next();
            if (aggregates.test(pending)) {
                pendings.remove();
                taken.add(pending);
            }
        }
        for (Pending pending : taken) {
            emit(pending);
        }
    }

    private void emit(Pending pending) throws IOException, InterruptedException {
        output.emit(pending.aggregate.toEntry(), pending.aggregate.size());
    }
}
