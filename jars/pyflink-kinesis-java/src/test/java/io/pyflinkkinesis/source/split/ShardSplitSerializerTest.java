package io.pyflinkkinesis.source.split;

import io.pyflinkkinesis.exactlyonce.RecordId;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardSplitSerializerTest {

    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
    private static final ShardSplitSerializer SERIALIZER = ShardSplitSerializer.INSTANCE;

    private static ShardSplit roundTrip(ShardSplit split) throws IOException {
        return SERIALIZER.deserialize(SERIALIZER.getVersion(), SERIALIZER.serialize(split));
    }

    @Test
    void everyPartOfASplitSurvivesARoundTrip() throws IOException {
        ShardSplit child = new ShardSplit(ARN, "shardId-000000000002", StartingPosition.fromStart(),
                new HashSet<>(Arrays.asList("shardId-000000000000", "shardId-000000000001")),
                "0", "170141183460469231731687303715884105727");
        ShardSplit[] splits = {
            child,
            child.withStartingPosition(StartingPosition.fromTimestamp(
                    Instant.ofEpochSecond(1459799926, 480_000_000))),
            child.withStartingPosition(StartingPosition.continueFromSequenceNumber("4960")),
            child.withStartingPosition(StartingPosition.continueFromSequenceNumber("4960"), 0),
            child.withStartingPosition(StartingPosition.continueFromSequenceNumber("4960"), 41),
            child.withStartingPosition(StartingPosition.continueFromSequenceNumber("4960"), 41)
                    .asFinished(),
            new ShardSplit(ARN, "s", StartingPosition.fromStart(), Collections.emptySet(),
                    null, null),
        };
        for (ShardSplit split : splits) {
            ShardSplit read = roundTrip(split);
            assertEquals(split, read);
            assertEquals(split.getSubSequenceNumber(), read.getSubSequenceNumber());
            assertEquals(split.getStartingHashKey(), read.getStartingHashKey());
            assertEquals(split.getEndingHashKey(), read.getEndingHashKey());
        }
    }

    @Test
    void aRestoredSplitKeepsItsOwnAndInheritedMarks() throws IOException {
        ShardMarks parent = new ShardMarks();
        parent.admit(new RecordId(ShardMarksTest.OTHER, 9), ShardMarksTest.HIGH_KEY,
                ShardMarksTest.ALL, ShardMarksTest.T0);
        ShardSplitState state = new ShardSplitState(new ShardSplit(ARN, "c",
                StartingPosition.fromStart(), Collections.singleton("p"), "0",
                ShardMarksTest.MAX.toString()).withMarks(parent.inheritance(null, null)));
        for (long s = 0; s <= 4; s++) {
            assertTrue(state.getMarks().admit(new RecordId(ShardMarksTest.WRITER, s),
                    ShardMarksTest.LOW_KEY, ShardMarksTest.LOW, ShardMarksTest.T0 + s));
        }
        state.setLastEmitted("4960", 4);

        ShardSplit restored = roundTrip(state.toSplit());

        assertEquals(state.toSplit(), restored);
        ShardMarks marks = new ShardSplitState(restored).getMarks();
        assertFalse(marks.admit(new RecordId(ShardMarksTest.WRITER, 4), ShardMarksTest.LOW_KEY,
                ShardMarksTest.ALL, ShardMarksTest.T0));
        assertTrue(marks.admit(new RecordId(ShardMarksTest.WRITER, 4), ShardMarksTest.HIGH_KEY,
                ShardMarksTest.ALL, ShardMarksTest.T0), "the mark is for the low range only");
        assertFalse(marks.admit(new RecordId(ShardMarksTest.OTHER, 9), ShardMarksTest.LOW_KEY,
                ShardMarksTest.ALL, ShardMarksTest.T0), "inherited");
        assertTrue(marks.admit(new RecordId(ShardMarksTest.WRITER, 5), ShardMarksTest.LOW_KEY,
                ShardMarksTest.ALL, ShardMarksTest.T0));
    }

    /** The split without marks: version 2's format. */
    private static byte[] version2(ShardSplit split) throws IOException {
        byte[] current = SERIALIZER.serialize(split.withMarks(new ShardMarks()));
        // The current version is version 2 followed by the marks; no marks are a count of 0.
        return Arrays.copyOf(current, current.length - 4);
    }

    @Test
    void aVersion2SplitRestoresWithNoMarks() throws IOException {
        ShardSplit split = new ShardSplit(ARN, "s", StartingPosition.fromStart(),
                Collections.singleton("p"), "0", "9")
                .withStartingPosition(StartingPosition.continueFromSequenceNumber("4960"), 3);

        ShardSplit restored = SERIALIZER.deserialize(2, version2(split));

        assertEquals(split, restored);
        assertTrue(restored.getMarks().isEmpty());
    }

    @Test
    void aVersion3SplitsOwnMarksAreRestoredAsMarksForAllKeys() throws IOException {
        ShardSplit split = new ShardSplit(ARN, "s", StartingPosition.fromStart(),
                Collections.singleton("p"), "0", ShardMarksTest.MAX.toString());
        DataOutputSerializer version3 = new DataOutputSerializer(128);
        version3.write(version2(split));
        version3.writeInt(1);  // own marks: writer, sequence number, arrival time
        version3.writeLong(ShardMarksTest.WRITER.high());
        version3.writeLong(ShardMarksTest.WRITER.low());
        version3.writeLong(7);
        version3.writeLong(ShardMarksTest.T0);
        version3.writeInt(0);  // inherited marks: none

        ShardMarks marks = SERIALIZER.deserialize(3, version3.getCopyOfBuffer()).getMarks();

        assertFalse(marks.admit(new RecordId(ShardMarksTest.WRITER, 7), ShardMarksTest.HIGH_KEY,
                ShardMarksTest.HIGH, ShardMarksTest.T0));
        assertFalse(marks.admit(new RecordId(ShardMarksTest.WRITER, 3), ShardMarksTest.LOW_KEY,
                ShardMarksTest.LOW, ShardMarksTest.T0));
        assertTrue(marks.admit(new RecordId(ShardMarksTest.WRITER, 8), ShardMarksTest.LOW_KEY,
                ShardMarksTest.LOW, ShardMarksTest.T0));
    }

    @Test
    void aSplitOfAnotherVersionIsRefusedWithWhatToDo() throws IOException {
        byte[] bytes = SERIALIZER.serialize(new ShardSplit(ARN, "s", StartingPosition.fromStart(),
                Collections.emptySet(), null, null));

        assertEquals(4, SERIALIZER.getVersion());
        IOException error = assertThrows(IOException.class, () -> SERIALIZER.deserialize(1, bytes));
        assertTrue(error.getMessage().contains("version 1"), error.getMessage());
        assertTrue(error.getMessage().contains("restore with the pyflink-kinesis version"),
                error.getMessage());
    }

    @Test
    void onlyAPositionAfterASequenceNumberTakesASubSequenceNumber() {
        ShardSplit split = new ShardSplit(ARN, "s", StartingPosition.fromStart(),
                Collections.emptySet(), null, null);

        assertThrows(IllegalArgumentException.class,
                () -> split.withStartingPosition(StartingPosition.fromStart(), 3));
    }
}
