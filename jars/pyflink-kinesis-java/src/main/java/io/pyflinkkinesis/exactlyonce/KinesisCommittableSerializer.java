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
 */
public final class KinesisCommittableSerializer
        implements SimpleVersionedSerializer<KinesisCommittable> {

    private static final int VERSION = 1;

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(KinesisCommittable committable) throws IOException {
        List<KeyedRecord> records = committable.records();
        DataOutputSerializer out = new DataOutputSerializer(
                (int) Math.min(Integer.MAX_VALUE - 64,
                        32 + committable.sizeInBytes() + 8L * records.size()));
        out.writeLong(committable.writer().high());
        out.writeLong(committable.writer().low());
        out.writeLong(committable.firstSequenceNumber());
        out.writeInt(records.size());
        for (KeyedRecord record : records) {
            out.writeUTF(record.partitionKey);
            out.writeInt(record.data.length);
            out.write(record.data);
        }
        return out.getCopyOfBuffer();
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
