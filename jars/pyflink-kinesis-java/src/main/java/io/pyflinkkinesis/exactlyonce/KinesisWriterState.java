package io.pyflinkkinesis.exactlyonce;

import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a sink writer's checkpoint state holds: the committables of one writer id that were handed
 * over as receipts and are not yet known written, oldest first, with their records. A checkpoint
 * that is restored completed, so every one of them is to be written: the writer that restores
 * them hands them over again at its first checkpoint, with their old ids.
 *
 * <p>One writer id's committables are one state element, so that a restore at another
 * parallelism gives them all to one writer, which hands them over in order: split across two
 * writers, a later one could land in a shard before an earlier one, and a reader's mark for that
 * writer and shard would then drop the earlier one's records.
 */
public final class KinesisWriterState {

    private final List<KinesisCommittable> committables;

    KinesisWriterState(List<KinesisCommittable> committables) {
        if (committables.isEmpty()) {
            throw new IllegalArgumentException("a writer's state holds at least one committable");
        }
        for (KinesisCommittable committable : committables) {
            if (committable.isReceipt()
                    || !committable.writer().equals(committables.get(0).writer())) {
                throw new IllegalArgumentException("a writer's state holds committables of one "
                        + "writer id with their records, not " + committables);
            }
        }
        this.committables = Collections.unmodifiableList(new ArrayList<>(committables));
    }

    /** The committables, one state element per writer id, in the order first seen. */
    static List<KinesisWriterState> byWriter(Collection<KinesisCommittable> committables) {
        Map<RecordId.WriterId, List<KinesisCommittable>> byWriter = new LinkedHashMap<>();
        for (KinesisCommittable committable : committables) {
            byWriter.computeIfAbsent(committable.writer(), writer -> new ArrayList<>())
                    .add(committable);
        }
        List<KinesisWriterState> states = new ArrayList<>(byWriter.size());
        for (List<KinesisCommittable> ofOneWriter : byWriter.values()) {
            states.add(new KinesisWriterState(ofOneWriter));
        }
        return states;
    }

    /** Oldest first. */
    public List<KinesisCommittable> committables() {
        return committables;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof KinesisWriterState
                && committables.equals(((KinesisWriterState) other).committables);
    }

    @Override
    public int hashCode() {
        return committables.hashCode();
    }

    /** The ids and sizes only: records may be secret. */
    @Override
    public String toString() {
        return "KinesisWriterState" + committables;
    }

    /**
     * Version 1: the committable count, then each committable as {@link
     * KinesisCommittableSerializer} version 2 writes it.
     */
    public static final class Serializer implements SimpleVersionedSerializer<KinesisWriterState> {

        private static final int VERSION = 1;
        private static final int COMMITTABLE_VERSION = 2;

        @Override
        public int getVersion() {
            return VERSION;
        }

        @Override
        public byte[] serialize(KinesisWriterState state) throws IOException {
            long size = 4;
            for (KinesisCommittable committable : state.committables) {
                size += KinesisCommittableSerializer.encodedSize(committable);
            }
            if (size > Integer.MAX_VALUE - 8) {
                throw new IOException(state + " takes " + size + " bytes serialized, more than "
                        + "a Java array holds; checkpoint more often or lower max-buffered-bytes");
            }
            DataOutputSerializer out = new DataOutputSerializer((int) size);
            out.writeInt(state.committables.size());
            for (KinesisCommittable committable : state.committables) {
                KinesisCommittableSerializer.writeTo(committable, out);
            }
            return out.length() == out.getSharedBuffer().length
                    ? out.getSharedBuffer() : out.getCopyOfBuffer();
        }

        @Override
        public KinesisWriterState deserialize(int version, byte[] serialized) throws IOException {
            if (version != VERSION) {
                throw new IOException("Cannot read a Kinesis sink writer's state of version "
                        + version + "; this sink writes and reads version " + VERSION);
            }
            DataInputDeserializer in = new DataInputDeserializer(serialized);
            int count = in.readInt();
            List<KinesisCommittable> committables = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                committables.add(KinesisCommittableSerializer.readFrom(COMMITTABLE_VERSION, in));
            }
            return new KinesisWriterState(committables);
        }
    }
}
