package io.pyflinkkinesis.exactlyonce;

import io.pyflinkkinesis.aggregation.KeyedRecord;

import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a {@link KinesisCommittable} into checkpoint state. Version 1: the writer id (two
 * longs), the first sequence number, the record count, then per record its partition key
 * (modified UTF-8, as {@code DataOutput.writeUTF}) and its data (length and bytes).
 *
 * <p>Flink 1.20 serializes each committable of a committer's state eight times per checkpoint, on
 * the task's thread: its {@code SimpleVersionedSerialization.writeVersionAndSerializeList}
 * serializes every element twice (once for the length it writes first, once for the bytes), and
 * the committer's state nests three such lists (checkpoints, subtasks, committables; read with
 * javap in flink-dist 1.20.5). A committable holds every record between two checkpoints, so this
 * serializer keeps the bytes of the last committable it serialized and gives them again when asked
 * for the same one: one serialization per checkpoint, and that one without a second copy (the
 * buffer is sized exactly). It holds at most one committable's bytes, until it serializes another.
 */
public final class KinesisCommittableSerializer
        implements SimpleVersionedSerializer<KinesisCommittable> {

    private static final int VERSION = 1;
    /** Writer id (two longs), first sequence number, record count. */
    private static final int HEADER_BYTES = 8 + 8 + 8 + 4;

    /** The committable last serialized (compared by identity: it is immutable) and its bytes. */
    private KinesisCommittable lastSerialized;
    private byte[] lastBytes;
    /** How many committables this serializer encoded: for tests. */
    private long encodings;

    @Override
    public int getVersion() {
        return VERSION;
    }

    /** The committable's bytes; the same array for the same committable, which callers only read. */
    @Override
    public synchronized byte[] serialize(KinesisCommittable committable) throws IOException {
        if (committable != lastSerialized) {
            lastBytes = encode(committable);
            lastSerialized = committable;
            encodings++;
        }
        return lastBytes;
    }

    synchronized long encodings() {
        return encodings;
    }

    private static byte[] encode(KinesisCommittable committable) throws IOException {
        List<KeyedRecord> records = committable.records();
        long size = HEADER_BYTES;
        for (KeyedRecord record : records) {
            size += 2 + modifiedUtf8Length(record.partitionKey) + 4 + record.data.length;
        }
        if (size > Integer.MAX_VALUE - 8) {
            throw new IOException(committable + " takes " + size + " bytes serialized, more than "
                    + "a Java array holds; checkpoint more often or lower max-buffered-bytes");
        }
        DataOutputSerializer out = new DataOutputSerializer((int) size);
        out.writeLong(committable.writer().high());
        out.writeLong(committable.writer().low());
        out.writeLong(committable.firstSequenceNumber());
        out.writeInt(records.size());
        for (KeyedRecord record : records) {
            out.writeUTF(record.partitionKey);
            out.writeInt(record.data.length);
            out.write(record.data);
        }
        return out.length() == out.getSharedBuffer().length
                ? out.getSharedBuffer() : out.getCopyOfBuffer();
    }

    /** The bytes {@code DataOutput.writeUTF} writes for {@code text}, its length aside. */
    static int modifiedUtf8Length(String text) {
        int bytes = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            bytes += c >= 0x0001 && c <= 0x007F ? 1 : c <= 0x07FF ? 2 : 3;
        }
        return bytes;
    }

    @Override
    public KinesisCommittable deserialize(int version, byte[] serialized) throws IOException {
        if (version != VERSION) {
            throw new IOException("Cannot read a Kinesis committable of version " + version
                    + "; this sink writes and reads version " + VERSION);
        }
        DataInputDeserializer in = new DataInputDeserializer(serialized);
        RecordId.WriterId writer = new RecordId.WriterId(in.readLong(), in.readLong());
        long firstSequenceNumber = in.readLong();
        int count = in.readInt();
        List<KeyedRecord> records = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            String partitionKey = in.readUTF();
            byte[] data = new byte[in.readInt()];
            in.readFully(data);
            records.add(new KeyedRecord(partitionKey, data));
        }
        return new KinesisCommittable(writer, firstSequenceNumber, records);
    }
}
