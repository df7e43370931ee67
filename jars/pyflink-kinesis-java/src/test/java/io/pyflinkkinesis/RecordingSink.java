package io.pyflinkkinesis;

import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSink;
import org.apache.flink.connector.kinesis.sink.PartitionKeyGenerator;
import org.apache.flink.core.io.SimpleVersionedSerializer;

import java.util.Collection;

/** A stateful sink that records which of its methods were called, holding a key generator. */
class RecordingSink<T> implements StatefulSink<T, String> {

    private static final long serialVersionUID = 1L;

    private static final SimpleVersionedSerializer<String> SERIALIZER =
            new SimpleVersionedSerializer<String>() {
                @Override
                public int getVersion() {
                    return 1;
                }

                @Override
                public byte[] serialize(String state) {
                    return state.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                }

                @Override
                public String deserialize(int version, byte[] bytes) {
                    return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
                }
            };

    final PartitionKeyGenerator<T> generator;
    String calls = "";

    RecordingSink(PartitionKeyGenerator<T> generator) {
        this.generator = generator;
    }

    private void called(String what) {
        calls = calls.isEmpty() ? what : calls + "," + what;
    }

    @Override
    @SuppressWarnings("deprecation")
    public StatefulSinkWriter<T, String> createWriter(InitContext context) {
        called("created");
        return null;
    }

    @Override
    @SuppressWarnings("deprecation")
    public StatefulSinkWriter<T, String> restoreWriter(
            InitContext context, Collection<String> recoveredState) {
        called("restored" + recoveredState);
        return null;
    }

    @Override
    public SimpleVersionedSerializer<String> getWriterStateSerializer() {
        return SERIALIZER;
    }
}
