package io.pyflinkkinesis.sink;

import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Shard;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/** The Kinesis calls our sinks make on their stream: PutRecords, and ListShards for aggregation. */
public interface StreamClient extends AutoCloseable {

    /** How messages name the stream, e.g. {@code stream 'orders'}. */
    String describe();

    CompletableFuture<PutRecordsResponse> putRecords(List<PutRecordsRequestEntry> entries);

    /** Every shard of the stream, open and closed, all pages. */
    CompletableFuture<List<Shard>> listShards();

    /** Releases the client; closing it again does nothing. */
    @Override
    void close();
}
