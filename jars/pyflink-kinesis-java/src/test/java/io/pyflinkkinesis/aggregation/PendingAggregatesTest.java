package io.pyflinkkinesis.aggregation;

import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PendingAggregatesTest {

    private static final int MIB = AggregatingKinesisStreamsSinkBuilder.MAX_KINESIS_RECORD_BYTES;

    /** What was emitted, as "key:userRecords" (aggregates are named by their first key). */
    private final List<String> emitted = new ArrayList<>();
    private final List<PutRecordsRequestEntry> entries = new ArrayList<>();

    private PendingAggregates pending(long maxRecordBytes) {
        return new PendingAggregates(maxRecordBytes, MIB, (entry, userRecords) -> {
            emitted.add(entry.partitionKey() + ":" + userRecords);
            entries.add(entry);
        });
    }

    @Test
    void aggregatesLeaveOnceTheirFirstRecordIsOldEnough() throws Exception {
        PendingAggregates pending = pending(MIB);
        pending.add("A", Records.text("a1", "x"), 0);
        pending.add("A", Records.text("a2", "x"), 40);
        pending.add("B", Records.text("b1", "x"), 50);

        pending.emitStartedBy(-1);
        assertEquals(Arrays.asList(), emitted);
        assertEquals(0, pending.oldestSince());

        pending.emitStartedBy(0);
        assertEquals(Arrays.asList("a1:2"), emitted);
        assertEquals(50, pending.oldestSince());

        pending.emitStartedBy(50);
        assertEquals(Arrays.asList("a1:2", "b1:1"), emitted);
        assertTrue(pending.isEmpty());
    }

    @Test
    void aFullAggregateLeavesBeforeTheRecordThatDidNotFitWhichStartsTheNextOne()
            throws Exception {
        PendingAggregates pending = pending(250);  // room for two of these records
        pending.add("A", new KeyedRecord("k1", new byte[80]), 0);
        pending.add("A", new KeyedRecord("k2", new byte[80]), 1);

        pending.add("A", new KeyedRecord("k3", new byte[80]), 7);

        assertEquals(Arrays.asList("k1:2"), emitted);
        assertEquals(7, pending.oldestSince());
        pending.emitAll();
        assertEquals(Arrays.asList("k1:2", "k3:1"), emitted);
    }

    @Test
    void aRecordTooBigForAnAggregateFollowsItsShardsAggregateAsAPlainRecord() throws Exception {
        PendingAggregates pending = pending(200);
        pending.add("A", Records.text("k", "first"), 0);
        pending.add("A", Records.text("k", "second"), 0);
        pending.add("B", Records.text("other", "stays"), 0);

        pending.add("A", new KeyedRecord("k", new byte[500]), 0);

        assertEquals(Arrays.asList("k:2", "k:1"), emitted);
        assertEquals(500, entries.get(1).data().asByteArrayUnsafe().length);
        assertFalse(KplFormat.isAggregate(entries.get(1).data().asByteArrayUnsafe()));
        assertFalse(pending.isEmpty());  // B's aggregate waits
    }

    @Test
    void theRecordsOfShardsNoLongerOpenAreTakenBackUnsent() throws Exception {
        PendingAggregates pending = pending(MIB);
        pending.add("A", Records.text("a", "x"), 0);
        pending.add("B", Records.text("b1", "x"), 0);
        pending.add("C", Records.text("c", "x"), 0);
        pending.add("B", Records.text("b2", "x"), 0);

        List<KeyedRecord> taken = pending.takeUnless(new HashSet<>(Arrays.asList("A", "C"))::contains);

        assertEquals(Arrays.asList("b1", "b2"), Arrays.asList(taken.get(0).partitionKey,
                taken.get(1).partitionKey));
        assertEquals(2, taken.size());
        assertTrue(emitted.isEmpty());
        pending.emitAll();
        assertEquals(Arrays.asList("a:1", "c:1"), emitted);
    }

    @Test
    void emitAllLeavesNothingPendingAndWritesSingleRecordsPlain() throws Exception {
        PendingAggregates pending = pending(MIB);
        pending.add("A", Records.text("a", "1"), 0);
        pending.add("A", Records.text("a", "2"), 0);
        pending.add("B", Records.text("b", "only"), 0);

        pending.emitAll();

        assertEquals(Arrays.asList("a:2", "b:1"), emitted);
        assertTrue(KplFormat.isAggregate(entries.get(0).data().asByteArrayUnsafe()));
        assertEquals("only", entries.get(1).data().asUtf8String());
        assertTrue(pending.isEmpty());
    }
}
