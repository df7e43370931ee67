package io.pyflinkkinesis.source.split;

import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;
import java.time.Instant;
import java.util.Set;
import java.util.TreeSet;

/**
 * Writes {@link ShardSplit}s into readers' checkpoints (and, through {@link #write}, into the
 * enumerator's). Version 4: stream ARN, shard id, starting position (iterator type and marker),
 * sub-sequence number in a KPL aggregate (-1: none), parent shard ids, hash key range, finished
 * flag, de-duplication marks ({@link ShardMarks#write}). Version 3 had the shard's own marks
 * without a range; they are read as marks for all keys ({@link
 * ShardMarks#readWithoutIntendedRanges}). Version 2 had no marks: its splits are read with none
 * (a de-duplicating source restored from it emits what it reads again once).
 * Version 1 had no sub-sequence number; it is not read (nothing that wrote it was released).
 */
public final class ShardSplitSerializer implements SimpleVersionedSerializer<ShardSplit> {

    public static final ShardSplitSerializer INSTANCE = new ShardSplitSerializer();

    private static final int VERSION = 4;
    /** The last version whose own marks have no range: still read. */
    private static final int VERSION_WITHOUT_INTENDED_RANGES = 3;
    /** The last version without marks: still read. */
    private static final int VERSION_WITHOUT_MARKS = 2;

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(ShardSplit split) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(128);
        write(split, out);
        return out.getCopyOfBuffer();
    }

    @Override
    public ShardSplit deserialize(int version, byte[] serialized) throws IOException {
        checkVersion(version);
        return read(version, new DataInputDeserializer(serialized));
    }

    /** Writes one split (the current version's format). */
    public static void write(ShardSplit split, DataOutputView out) throws IOException {
        out.writeUTF(split.getStreamArn());
        out.writeUTF(split.getShardId());
        writePosition(split.getStartingPosition(), out);
        out.writeLong(split.getSubSequenceNumber());
        out.writeInt(split.getParentShardIds().size());
        for (String parent : split.getParentShardIds()) {
            out.writeUTF(parent);
        }
        writeNullable(split.getStartingHashKey(), out);
        writeNullable(split.getEndingHashKey(), out);
        out.writeBoolean(split.isFinished());
        split.getMarks().write(out);
    }

    /** Reads one split written in {@code version} (2 to 4: see the class comment). */
    public static ShardSplit read(int version, DataInputView in) throws IOException {
        String streamArn = in.readUTF();
        String shardId = in.readUTF();
        StartingPosition position = readPosition(in);
        long subSequenceNumber = in.readLong();
        int parentCount = in.readInt();
        Set<String> parents = new TreeSet<>();
        for (int i = 0; i < parentCount; i++) {
            parents.add(in.readUTF());
        }
        String startingHashKey = readNullable(in);
        String endingHashKey = readNullable(in);
        boolean finished = in.readBoolean();
        ShardMarks marks = readMarks(version, in);
        return new ShardSplit(streamArn, shardId, position, subSequenceNumber, parents,
                startingHashKey, endingHashKey, finished, marks);
    }

    /**
     * Reads marks written with a split (or with the enumerator's state, whose versions are the
     * same) of {@code version}.
     */
    public static ShardMarks readMarks(int version, DataInputView in) throws IOException {
        switch (version) {
            case VERSION_WITHOUT_MARKS:
                return new ShardMarks();
            case VERSION_WITHOUT_INTENDED_RANGES:
                return ShardMarks.readWithoutIntendedRanges(in);
            default:
                return ShardMarks.read(in);
        }
    }

    static void checkVersion(int version) throws IOException {
        if (version < VERSION_WITHOUT_MARKS || version > VERSION) {
            throw new IOException("Unknown version " + version + " of a pyflink-kinesis shard "
                    + "split (this build reads versions " + VERSION_WITHOUT_MARKS + " to "
                    + VERSION + "); restore with the "
                    + "pyflink-kinesis version that wrote the checkpoint");
        }
    }

    private static void writePosition(StartingPosition position, DataOutputView out)
            throws IOException {
        Object marker = position.getStartingMarker();
        switch (position.getShardIteratorType()) {
            case TRIM_HORIZON:
                out.writeByte(0);
                break;
            case AFTER_SEQUENCE_NUMBER:
                out.writeByte(1);
                out.writeUTF((String) marker);
                break;
            case AT_TIMESTAMP:
                Instant instant = (Instant) marker;
                out.writeByte(2);
                out.writeLong(instant.getEpochSecond());
                out.writeInt(instant.getNano());
                break;
            default:
                throw new IOException("Cannot checkpoint a starting position of type "
                        + position.getShardIteratorType());
        }
    }

    private static StartingPosition readPosition(DataInputView in) throws IOException {
        byte type = in.readByte();
        switch (type) {
            case 0:
                return StartingPosition.fromStart();
            case 1:
                return StartingPosition.continueFromSequenceNumber(in.readUTF());
            case 2:
                return StartingPosition.fromTimestamp(
                        Instant.ofEpochSecond(in.readLong(), in.readInt()));
            default:
                throw new IOException("Unknown starting position type " + type);
        }
    }

    private static void writeNullable(String value, DataOutputView out) throws IOException {
        out.writeBoolean(value != null);
        if (value != null) {
            out.writeUTF(value);
        }
    }

    private static String readNullable(DataInputView in) throws IOException {
        return in.readBoolean() ? in.readUTF() : null;
    }
}
