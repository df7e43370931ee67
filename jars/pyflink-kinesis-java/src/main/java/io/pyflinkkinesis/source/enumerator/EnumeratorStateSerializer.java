package io.pyflinkkinesis.source.enumerator;

import io.pyflinkkinesis.source.split.ShardMarks;
import io.pyflinkkinesis.source.split.ShardSplit;
import io.pyflinkkinesis.source.split.ShardSplitSerializer;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Writes {@link EnumeratorState} into checkpoints. Version 4: the listed flag, the unassigned
 * splits (in {@link ShardSplitSerializer}'s format, version 4), the assigned shard ids, the
 * finished shard ids each with what its children inherit ({@link ShardMarks#write}). Versions 2
 * and 3 are read as their splits' versions are ({@link ShardSplitSerializer#readMarks}).
 * Version 1 held splits in their version 1 format; it is not read.
 */
public final class EnumeratorStateSerializer implements SimpleVersionedSerializer<EnumeratorState> {

    private static final int VERSION = 4;
    private static final int OLDEST_VERSION_READ = 2;

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(EnumeratorState state) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(256);
        out.writeBoolean(state.isListed());
        out.writeInt(state.getUnassigned().size());
        for (ShardSplit split : state.getUnassigned()) {
            ShardSplitSerializer.write(split, out);
        }
        writeIds(state.getAssigned(), out);
        out.writeInt(state.getFinishedMarks().size());
        for (Map.Entry<String, ShardMarks> finished : state.getFinishedMarks().entrySet()) {
            out.writeUTF(finished.getKey());
            finished.getValue().write(out);
        }
        return out.getCopyOfBuffer();
    }

    @Override
    public EnumeratorState deserialize(int version, byte[] serialized) throws IOException {
        if (version < OLDEST_VERSION_READ || version > VERSION) {
            throw new IOException("Unknown version " + version + " of the pyflink-kinesis source "
                    + "enumerator's state (this build reads versions " + OLDEST_VERSION_READ
                    + " to " + VERSION + "); restore "
                    + "with the pyflink-kinesis version that wrote the checkpoint");
        }
        DataInputDeserializer in = new DataInputDeserializer(serialized);
        boolean listed = in.readBoolean();
        int count = in.readInt();
        List<ShardSplit> unassigned = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            unassigned.add(ShardSplitSerializer.read(version, in));
        }
        Set<String> assigned = readIds(in);
        Map<String, ShardMarks> finished = new TreeMap<>();
        int finishedCount = in.readInt();
        for (int i = 0; i < finishedCount; i++) {
            String id = in.readUTF();
            finished.put(id, ShardSplitSerializer.readMarks(version, in));
        }
        return new EnumeratorState(listed, unassigned, assigned, finished);
    }

    private static void writeIds(Set<String> ids, DataOutputView out) throws IOException {
        out.writeInt(ids.size());
        for (String id : ids) {
            out.writeUTF(id);
        }
    }

    private static Set<String> readIds(DataInputView in) throws IOException {
        int count = in.readInt();
        Set<String> ids = new TreeSet<>();
        for (int i = 0; i < count; i++) {
            ids.add(in.readUTF());
        }
        return ids;
    }
}
