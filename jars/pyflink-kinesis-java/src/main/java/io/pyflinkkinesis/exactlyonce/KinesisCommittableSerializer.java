package io.pyflinkkinesis.exactlyonce;

import io.pyflinkkinesis.aggregation.KeyedRecord;

import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a {@link KinesisCommittable} into checkpoint state. Version 2: the writer id (two
 * longs), the first sequence number, the record count, the size in bytes, whether it is a
 * receipt (a byte, 1 if so), then, unless it is one, per record its partition key (modified UTF-8,
 * as {@code DataOutput.writeUTF}) and its data (length and bytes). Version 1, which has no size
 * and no receipt byte and always the records, is still read.
 *
 * <p>Flink 1.20 serializes each committable of a committer's state eight times per checkpoint, on
 * the task's thread: its {@code SimpleVersionedSerialization.writeVersionAndSerializeList}
 * serializes every element twice (once for the length it writes first, once for the bytes), and
 * the committer's state nests three such lists (checkpoints, subtasks, committables; read with
 * javap in flink-dist 1.20.5), each copying what it holds. That is why a writer chained with its
 * committer hands it receipts and keeps the records in its own state ({@link CommitLink}). For a
 * committable with records, this serializer keeps the bytes of the last one it serialized and
 * gives them again when asked for the same one: one serialization per checkpoint, and that one
 * without a second copy (the buffer is sized exactly). It holds at most one committable's bytes,
 * until it serializes another.
 */
public final class KinesisCommittableSerializer
        implements SimpleVersionedSerializer<KinesisCommittable> {

    private static final int VERSION = 2;
    /** Writer id (two longs), first sequence number, record count, size, receipt or not. */
    private static final int HEADER_BYTES = 8 + 8 + 8 + 4 + 8 + 1;

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
            DataOutputSerializer out = new DataOutputSerializer(encodedSize(committable));
            writeTo(committable, out);
            lastBytes = out.length() == out.getSharedBuffer().length
                    ? out.getSharedBuffer() : out.getCopyOfBuffer();
            lastSerialized = committable;
            encodings++;
        }
        return lastBytes;
    }

    synchronized long encodings() {
        return encodings;
    }

    /**
     * The bytes {@link #writeTo} writes for {@code committable}.
     *
     * @throws IOException when more than a Java array holds
     */
    static int encodedSize(KinesisCommittable committable) throws IOException {
        long size = HEADER_BYTES;
        if (!committable.isReceipt()) {
            for (KeyedRecord record : committable.records()) {
                size += 2 + modifiedUtf8Length(record.partitionKey) + 4 + record.data.length;
            }
        }
        if (size > Integer.MAX_VALUE - 8) {
            throw new IOException(committable + " takes " + size + " bytes serialized, more than "
                    + "a Java array holds; checkpoint more often or lower max-buffered-bytes");
        }
        return (int) size;
    }

    /** Writes {@code committable} in version 2. */
    static void writeTo(KinesisCommittable committable, DataOutputView out) throws IOException {
        out.writeLong(committable.writer().high());
        out.writeLong(committable.writer().low());
        out.writeLong(committable.firstSequenceNumber());
        out.writeInt(committable.recordCount());
        out.writeLong(committable.sizeInBytes());
        out.writeBoolean(committable.isReceipt());
        if (!committable.isReceipt()) {
            for (KeyedRecord record : committable.records()) {
                out.writeUTF(record.partitionKey);
                out.writeInt(record.data.length);
                out.write(record.data);
            }
        }
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
        return readFrom(version, new DataInputDeserializer(serialized));
    }

    /** Reads a committable {@link #writeTo} wrote, or one of version 1. */
    static KinesisCommittable readFrom(int version, DataInputView in) throws IOException {
        if (version != 1 && version != VERSION) {
            throw new IOException("Cannot read a Kinesis committable of version " + version
                    + "; this sink writes version " + VERSION + " and reads versions 1 and "
                    + VERSION);
        }
        RecordId.WriterId writer = new RecordId.WriterId(in.readLong(), in.readLong());
        long firstSequenceNumber = in.readLong();
        int count = in.readInt();
        if (version == VERSION) {
            long sizeInBytes = in.readLong();
            if (in.readBoolean()) {
                return KinesisCommittable.receipt(writer, firstSequenceNumber, count, sizeInBytes);
            }
        }
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
