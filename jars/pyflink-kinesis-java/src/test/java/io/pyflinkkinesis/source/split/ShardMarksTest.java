package io.pyflinkkinesis.source.split;

import io.pyflinkkinesis.exactlyonce.HashKeyRange;
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

    /** The two halves of the key space (shards A and B, or the children of a split) and all. */
    static final HashKeyRange LOW = new HashKeyRange(BigInteger.ZERO, MID.subtract(BigInteger.ONE));
    static final HashKeyRange HIGH = new HashKeyRange(MID, MAX);
    static final HashKeyRange ALL = new HashKeyRange(BigInteger.ZERO, MAX);

    static RecordId id(WriterId writer, long sequenceNumber) {
        return new RecordId(writer, sequenceNumber);
    }

    /**
     * Admits sequence numbers {@code from}..{@code to} of {@code writer}, hash key {@code key},
     * meant for {@code intended}; the ones emitted.
     */
    static List<Long> admit(ShardMarks marks, WriterId writer, BigInteger key,
            HashKeyRange intended, long from, long to) {
        List<Long> emitted = new ArrayList<>();
        for (long s = from; s <= to; s++) {
            if (marks.admit(id(writer, s), key, intended, T0 + s)) {
                emitted.add(s);
            }
        }
        return emitted;
    }

    /** Admits {@code sequenceNumbers} of WRITER in that order, each with its key; the emitted. */
    static List<Long> admit(ShardMarks marks, HashKeyRange intended, long... sequenceNumbers) {
        List<Long> emitted = new ArrayList<>();
        for (long s : sequenceNumbers) {
            if (marks.admit(id(WRITER, s), keyOf(s), intended, T0 + s)) {
                emitted.add(s);
            }
        }
        return emitted;
    }

    /**
     * The hash keys of the merge examples: 10, 12, 16-19 and 21 are in the low half (shard A),
     * 11, 13-15 and 20 in the high half (shard B); below 10, the low half.
     */
    static BigInteger keyOf(long sequenceNumber) {
        return sequenceNumber == 11 || sequenceNumber >= 13 && sequenceNumber <= 15
                || sequenceNumber == 20 ? HIGH_KEY : LOW_KEY;
    }

    static HashKeyRange intendedOf(long sequenceNumber) {
        return keyOf(sequenceNumber).equals(HIGH_KEY) ? HIGH : LOW;
    }

    static List<Long> list(long... numbers) {
        List<Long> list = new ArrayList<>();
        for (long number : numbers) {
            list.add(number);
        }
        return list;
    }

    static List<Long> range(long from, long to) {
        List<Long> numbers = new ArrayList<>();
        for (long s = from; s <= to; s++) {
            numbers.add(s);
        }
        return numbers;
    }

    /** Shards A (low) and B (high), nothing read in them, merged into the child returned. */
    static ShardMarks mergedChild() {
        ShardMarks child = new ShardMarks();
        child.inherit(new ShardMarks().inheritance(LOW.first(), LOW.last()));
        child.inherit(new ShardMarks().inheritance(HIGH.first(), HIGH.last()));
        return child;
    }

    /**
     * The merge during a commit: the committer listed A and B; aggregates aimed at A (10, 12,
     * 16-19) and at B (11, 13-15) land in their merged child interleaved, as a committer test
     * sees them land ({@code KinesisCommitterTest}).
     */
    static List<Long> mergeDuringACommit(ShardMarks child) {
        List<Long> emitted = new ArrayList<>(admit(child, LOW, 10, 12, 16, 17, 18, 19));
        emitted.addAll(admit(child, HIGH, 11, 13, 14, 15));
        return emitted;
    }

    @Test
    void aRecordAtOrBelowItsWritersMarkIsDroppedAndOneAboveRaisesIt() {
        ShardMarks marks = new ShardMarks();
        assertEquals(range(0, 4), admit(marks, WRITER, LOW_KEY, ALL, 0, 4));
        // A committable written again: what landed the first time is dropped.
        assertEquals(range(5, 7), admit(marks, WRITER, LOW_KEY, ALL, 2, 7));
        assertEquals(new ArrayList<Long>(), admit(marks, WRITER, HIGH_KEY, ALL, 0, 7));
    }

    @Test
    void writersAreIndependent() {
        ShardMarks marks = new ShardMarks();
        assertEquals(range(0, 9), admit(marks, WRITER, LOW_KEY, ALL, 0, 9));
        assertEquals(range(0, 3), admit(marks, OTHER, LOW_KEY, ALL, 0, 3));
        assertFalse(marks.admit(id(WRITER, 5), LOW_KEY, ALL, T0));
        assertTrue(marks.admit(id(OTHER, 5), LOW_KEY, ALL, T0));
    }

    @Test
    void aMergeDuringACommitKeepsAMarkPerIntendedShardSoTheInterleavedRunsAllPass() {
        ShardMarks child = mergedChild();

        assertEquals(list(10, 12, 16, 17, 18, 19, 11, 13, 14, 15), mergeDuringACommit(child));
        // The same aggregates again (a retry of the same commit): every record is a copy.
        assertEquals(list(), mergeDuringACommit(child));
        assertEquals("{" + WRITER + ":[" + LOW + "19, " + HIGH + "15]}", child.toString());
    }

    @Test
    void withoutAnIntendedShardOneMarkPerWriterDropsTheLaterRunOfTheInterleaving() {
        // Another producer's aggregates, or marks restored from split version 3: the rule of
        // one mark per writer, which loses 11 and 13-15 here (the hole the ranges close).
        ShardMarks child = mergedChild();
        List<Long> emitted = new ArrayList<>(admit(child, null, 10, 12, 16, 17, 18, 19));
        emitted.addAll(admit(child, null, 11, 13, 14, 15));
        assertEquals(list(10, 12, 16, 17, 18, 19), emitted);
        // An intended range that does not hold the record's key is no intended range either.
        assertTrue(child.admit(id(WRITER, 20), HIGH_KEY, LOW, T0 + 20));
        assertFalse(child.admit(id(WRITER, 20), HIGH_KEY, HIGH, T0 + 20),
                "the mark 20 holds all keys, not only the low half");
    }

    @Test
    void aReCommitWithAFreshMapAimedAtTheMergedChildEmitsOnlyWhatNeverLanded() {
        ShardMarks child = mergedChild();
        // The first attempt: A's run 10, 12, 16-19 and B's 11, 13 landed, then the job failed.
        admit(child, LOW, 10, 12, 16, 17, 18, 19);
        admit(child, HIGH, 11, 13);

        // Written again by a new map: all aimed at the child (all keys; it starts where A does).
        assertEquals(list(14, 15, 20, 21), admit(child, ALL, range(10, 21).stream()
                .mapToLong(Long::longValue).toArray()));
        assertEquals("{" + WRITER + ":[" + ALL + "21]}", child.toString(),
                "the child's own mark holds what every other one said: one mark is left");
    }

    @Test
    void aReCommitWithTheOldMapEmitsOnlyWhatNeverLanded() {
        ShardMarks child = mergedChild();
        admit(child, LOW, 10, 12, 16, 17, 18, 19);
        admit(child, HIGH, 11, 13);

        assertEquals(list(21), admit(child, LOW, 10, 12, 16, 17, 18, 19, 21));
        assertEquals(list(14, 15, 20), admit(child, HIGH, 11, 13, 14, 15, 20));
    }

    @Test
    void aSplitDuringACommitTestsWhatIsSentAgainToTheChildrenAgainstTheParent() {
        // 0-2 have low keys, 3 and 4 high ones: all landed in the parent.
        ShardMarks parent = new ShardMarks();
        assertEquals(range(0, 2), admit(parent, WRITER, LOW_KEY, ALL, 0, 2));
        assertEquals(range(3, 4), admit(parent, WRITER, HIGH_KEY, ALL, 3, 4));
        ShardMarks low = new ShardMarks();
        low.inherit(parent.inheritance(BigInteger.ZERO, MAX));
        ShardMarks high = new ShardMarks();
        high.inherit(parent.inheritance(BigInteger.ZERO, MAX));

        // Split after the committer listed the parent: an aggregate aimed at it (5, 6, low keys)
        // lands in the low child and is kept; the next one (7, 8, 9; 8 has a high key) is
        // dropped whole by the range rule, never reaching the marks; the committer sends 7 to
        // the low child by the new map, and the job fails before 8 and 9 are sent.
        assertEquals(range(5, 6), admit(low, WRITER, LOW_KEY, ALL, 5, 6));
        assertEquals(range(7, 7), admit(low, WRITER, LOW_KEY, LOW, 7, 7));

        // Re-committed by the new map: each child drops what landed in the parent or in it.
        List<Long> lowEmitted = new ArrayList<>();
        for (long s : new long[] {0, 1, 2, 5, 6, 7, 9}) {
            lowEmitted.addAll(admit(low, WRITER, LOW_KEY, LOW, s, s));
        }
        assertEquals(list(9), lowEmitted);
        List<Long> highEmitted = new ArrayList<>();
        for (long s : new long[] {3, 4, 8}) {
            highEmitted.addAll(admit(high, WRITER, HIGH_KEY, HIGH, s, s));
        }
        assertEquals(list(8), highEmitted, "3 and 4 landed in the parent");
    }

    @Test
    void aSplitBeforeAReCommitLetsEachChildDropWhatLandedInTheParent() {
        ShardMarks parent = new ShardMarks();
        admit(parent, WRITER, LOW_KEY, ALL, 10, 12);
        admit(parent, WRITER, HIGH_KEY, ALL, 13, 14);
        ShardMarks inheritance = parent.inheritance(BigInteger.ZERO, MAX);
        ShardMarks low = new ShardMarks();
        low.inherit(inheritance);
        ShardMarks high = new ShardMarks();
        high.inherit(inheritance);

        // The re-commit routes by a fresh map: low keys to the low child, high to the high one.
        assertEquals(range(15, 20), admit(low, WRITER, LOW_KEY, LOW, 10, 20));
        assertEquals(range(15, 20), admit(high, WRITER, HIGH_KEY, HIGH, 10, 20));
    }

    @Test
    void aGrandchildOfTheMergedChildKeepsEachMarkNarrowedToItsRange() {
        ShardMarks child = mergedChild();
        mergeDuringACommit(child);
        BigInteger quarter = MID.shiftRight(1);
        ShardMarks lowGrandchild = new ShardMarks();
        lowGrandchild.inherit(child.inheritance(BigInteger.ZERO, quarter.subtract(BigInteger.ONE)));
        ShardMarks highGrandchild = new ShardMarks();
        highGrandchild.inherit(child.inheritance(quarter, MAX));
        HashKeyRange upper = new HashKeyRange(quarter, MAX);
        BigInteger upperOfA = quarter.add(BigInteger.ONE);

        assertFalse(lowGrandchild.admit(id(WRITER, 19), LOW_KEY, ALL, T0), "landed in A's run");
        assertFalse(highGrandchild.admit(id(WRITER, 19), upperOfA, upper, T0));
        assertTrue(highGrandchild.admit(id(WRITER, 16), HIGH_KEY, upper, T0),
                "16 was A's: B's run ended at 15");
        assertEquals("{" + WRITER + ":[" + LOW.intersection(upper) + "19, " + upper + "16]}",
                highGrandchild.toString(), "B's mark at 15 is inside the raised one: dropped");
    }

    @Test
    void aGrandparentsMarkReachesAGrandchildOnlyWithinItsParentsRange() {
        ShardMarks grandparent = new ShardMarks();
        admit(grandparent, WRITER, LOW_KEY, ALL, 0, 20);
        ShardMarks parent = new ShardMarks();  // the high half of a split, nothing read yet
        parent.inherit(grandparent.inheritance(BigInteger.ZERO, MAX));
        ShardMarks grandchild = new ShardMarks();
        grandchild.inherit(parent.inheritance(MID, MAX));

        assertFalse(grandchild.admit(id(WRITER, 20), HIGH_KEY, HIGH, T0));
        assertTrue(grandchild.admit(id(WRITER, 5), LOW_KEY, ALL, T0),
                "the low half is outside the parent's range: no mark of it is inherited");
    }

    @Test
    void aMarkOlderThanTheRetentionIsDroppedWhenANewWriterArrives() {
        long retention = ShardMarks.RETENTION.toMillis();
        ShardMarks marks = new ShardMarks();
        assertTrue(marks.admit(id(WRITER, 0), LOW_KEY, ALL, T0));
        ShardMarks inherited = new ShardMarks();
        inherited.inherit(marks.inheritance(null, null));

        assertTrue(marks.admit(id(OTHER, 0), LOW_KEY, ALL, T0 + retention));
        assertTrue(inherited.admit(id(OTHER, 0), LOW_KEY, ALL, T0 + retention));
        assertFalse(marks.admit(id(WRITER, 0), LOW_KEY, ALL, T0 + retention), "not older yet");
        assertFalse(inherited.admit(id(WRITER, 0), LOW_KEY, ALL, T0 + retention));

        long later = T0 + retention + Duration.ofMinutes(1).toMillis();
        assertTrue(marks.admit(id(new WriterId(5, 6), 0), LOW_KEY, ALL, later));
        assertTrue(inherited.admit(id(new WriterId(5, 6), 0), LOW_KEY, ALL, later));
        assertTrue(marks.admit(id(WRITER, 0), LOW_KEY, ALL, later), "expired");
        assertTrue(inherited.admit(id(WRITER, 0), LOW_KEY, ALL, later), "expired");
        assertFalse(marks.admit(id(OTHER, 0), LOW_KEY, ALL, later), "arrived within the retention");
    }
}
