package io.pyflinkkinesis.source.split;

import io.pyflinkkinesis.exactlyonce.RecordId;
import io.pyflinkkinesis.exactlyonce.RecordId.WriterId;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardMarksTest {

    static final BigInteger MAX = BigInteger.ONE.shiftLeft(128).subtract(BigInteger.ONE);
    /** The middle of the hash key space: a split or merge boundary. */
    static final BigInteger MID = BigInteger.ONE.shiftLeft(127);
    static final BigInteger LOW_KEY = BigInteger.TEN;
    static final BigInteger HIGH_KEY = MAX.subtract(BigInteger.TEN);
    static final WriterId WRITER = new WriterId(1, 2);
    static final WriterId OTHER = new WriterId(3, 4);
    static final long T0 = 1_700_000_000_000L;

    static RecordId id(WriterId writer, long sequenceNumber) {
        return new RecordId(writer, sequenceNumber);
    }

    /** Admits sequence numbers {@code from}..{@code to} of {@code writer}; the ones emitted. */
    static List<Long> admit(ShardMarks marks, WriterId writer, BigInteger key, long from,
            long to) {
        List<Long> emitted = new ArrayList<>();
        for (long s = from; s <= to; s++) {
            if (marks.admit(id(writer, s), key, T0 + s)) {
                emitted.add(s);
            }
        }
        return emitted;
    }

    static List<Long> range(long from, long to) {
        List<Long> numbers = new ArrayList<>();
        for (long s = from; s <= to; s++) {
            numbers.add(s);
        }
        return numbers;
    }

    @Test
    void aRecordAtOrBelowItsWritersMarkIsDroppedAndOneAboveRaisesIt() {
        ShardMarks marks = new ShardMarks();
        assertEquals(range(0, 4), admit(marks, WRITER, LOW_KEY, 0, 4));
        // A committable written again: what landed the first time is dropped.
        assertEquals(range(5, 7), admit(marks, WRITER, LOW_KEY, 2, 7));
        assertEquals(new ArrayList<Long>(), admit(marks, WRITER, HIGH_KEY, 0, 7));
    }

    @Test
    void writersAreIndependent() {
        ShardMarks marks = new ShardMarks();
        assertEquals(range(0, 9), admit(marks, WRITER, LOW_KEY, 0, 9));
        assertEquals(range(0, 3), admit(marks, OTHER, LOW_KEY, 0, 3));
        assertFalse(marks.admit(id(WRITER, 5), LOW_KEY, T0));
        assertTrue(marks.admit(id(OTHER, 5), LOW_KEY, T0));
    }

    @Test
    void aMergeKeepsEachParentsMarkForItsRangeSoARecordThatNeverLandedInTheLowerPasses() {
        ShardMarks low = new ShardMarks();
        admit(low, WRITER, LOW_KEY, 0, 10);
        ShardMarks high = new ShardMarks();
        admit(high, WRITER, HIGH_KEY, 0, 5);
        ShardMarks child = new ShardMarks();
        child.inherit(low.inheritance(BigInteger.ZERO, MID.subtract(BigInteger.ONE)));
        child.inherit(high.inheritance(MID, MAX));

        // 6..10 landed in the low parent only; re-sent, one of them for the high range passes.
        assertTrue(child.admit(id(WRITER, 7), HIGH_KEY, T0));
        assertFalse(child.admit(id(WRITER, 8), LOW_KEY, T0), "8 landed in the low parent");
        assertFalse(child.admit(id(WRITER, 6), HIGH_KEY, T0), "below the child's own mark");
        assertTrue(child.admit(id(WRITER, 9), HIGH_KEY, T0));
        assertFalse(child.admit(id(WRITER, 10), LOW_KEY, T0));
        assertTrue(child.admit(id(WRITER, 11), LOW_KEY, T0));
        assertEquals("{" + WRITER + ":11}", child.toString(),
                "the own mark passed every inherited one: they are dropped");
    }

    @Test
    void aSplitGivesEachChildTheParentsMarkForItsHalf() {
        ShardMarks parent = new ShardMarks();
        admit(parent, WRITER, LOW_KEY, 0, 10);
        admit(parent, OTHER, HIGH_KEY, 0, 3);
        ShardMarks inheritance = parent.inheritance(BigInteger.ZERO, MAX);
        ShardMarks lowChild = new ShardMarks();
        lowChild.inherit(inheritance);
        ShardMarks highChild = new ShardMarks();
        highChild.inherit(inheritance);

        assertEquals(range(11, 12), admit(lowChild, WRITER, LOW_KEY, 8, 12));
        assertEquals(range(11, 12), admit(highChild, WRITER, HIGH_KEY, 8, 12));
        assertEquals(range(4, 5), admit(highChild, OTHER, HIGH_KEY, 0, 5));
    }

    @Test
    void aGrandparentsMarkReachesAGrandchildOnlyWithinItsParentsRange() {
        ShardMarks grandparent = new ShardMarks();
        admit(grandparent, WRITER, LOW_KEY, 0, 20);
        ShardMarks parent = new ShardMarks();  // the high half of a split, nothing read yet
        parent.inherit(grandparent.inheritance(BigInteger.ZERO, MAX));
        ShardMarks grandchild = new ShardMarks();
        grandchild.inherit(parent.inheritance(MID, MAX));

        assertFalse(grandchild.admit(id(WRITER, 20), HIGH_KEY, T0));
        assertTrue(grandchild.admit(id(WRITER, 5), LOW_KEY, T0),
                "the low half is outside the parent's range: no mark of it is inherited");
    }

    @Test
    void aMarkOlderThanTheRetentionIsDroppedWhenANewWriterArrives() {
        long retention = ShardMarks.RETENTION.toMillis();
        ShardMarks marks = new ShardMarks();
        assertTrue(marks.admit(id(WRITER, 0), LOW_KEY, T0));
        ShardMarks inherited = new ShardMarks();
        inherited.inherit(marks.inheritance(null, null));

        assertTrue(marks.admit(id(OTHER, 0), LOW_KEY, T0 + retention));
        assertTrue(inherited.admit(id(OTHER, 0), LOW_KEY, T0 + retention));
        assertFalse(marks.admit(id(WRITER, 0), LOW_KEY, T0 + retention), "not older yet");
        assertFalse(inherited.admit(id(WRITER, 0), LOW_KEY, T0 + retention));

        long later = T0 + retention + Duration.ofMinutes(1).toMillis();
        assertTrue(marks.admit(id(new WriterId(5, 6), 0), LOW_KEY, later));
        assertTrue(inherited.admit(id(new WriterId(5, 6), 0), LOW_KEY, later));
        assertTrue(marks.admit(id(WRITER, 0), LOW_KEY, later), "expired");
        assertTrue(inherited.admit(id(WRITER, 0), LOW_KEY, later), "expired");
        assertFalse(marks.admit(id(OTHER, 0), LOW_KEY, later), "arrived within the retention");
    }
}
