package io.pyflinkkinesis.aggregation;

import org.apache.flink.connector.kinesis.sink.KinesisStreamsStateSerializer;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * The connector's writer state format, with partition keys prefixed by their length in UTF-8
 * bytes. Connector 4.3.0 writes the key's length in characters before its UTF-8 bytes, so state
 * holding a key with a non-ASCII character cannot be read back. For ASCII keys (every key that
 * serializer can read back) both write the same bytes, so the version stays the connector's.
 * Used by the aggregating sink and, in place of the connector's, by {@code
 * SubtaskInitializingSink}, our subclass of {@code KinesisStreamsSink}.
 */
public final class Utf8KeyStateSerializer extends KinesisStreamsStateSerializer {

    @Override
    protected void serializePartitionKeyToStream(String partitionKey, DataOutputStream out)
            throws IOException {
        byte[] bytes = partitionKey.getBytes(StandardCharsets.UTF_8);
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    @Override
    protected String deserializePartitionKeyFromStream(DataInputStream in) throws IOException {
        byte[] bytes = new byte[in.readInt()];
        in.readFully(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
