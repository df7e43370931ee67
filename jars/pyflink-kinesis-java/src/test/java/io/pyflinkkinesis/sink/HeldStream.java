package io.pyflinkkinesis.sink;

import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResultEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Shard;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;

/**
 * A stream whose PutRecords requests stay in flight until the test answers them, in any order:
 * it stores what it is told to, per partition key in the order stored, and rejects the rest.
 */
final class HeldStream implements StreamClient {

    /** A request in flight. */
    static final class Request {
        final List<PutRecordsRequestEntry> entries;
        final CompletableFuture<PutRecordsResponse> answer = new CompletableFuture<>();

        Request(List<PutRecordsRequestEntry> entries) {
            this.entries = entries;
        }
    }

    final List<Request> pending = new ArrayList<>();
    /** Every request, in the order sent. */
    final List<List<PutRecordsRequestEntry>> requests = new ArrayList<>();
    /** The data stored, as text, by partition key, in the order stored. */
    final Map<String, List<String>> stored = new LinkedHashMap<>();
    boolean closed;

    @Override
    public String describe() {
        return "stream 'held'";
    }

    @Override
    public CompletableFuture<PutRecordsResponse> putRecords(List<PutRecordsRequestEntry> entries) {
        Request request = new Request(new ArrayList<>(entries));
        pending.add(request);
        requests.add(request.entries);
        return request.answer;
    }

    /** Stores the entries {@code kept} takes, rejects the others as throttled, answers. */
    void answer(Request request, Predicate<PutRecordsRequestEntry> kept) {
        pending.remove(request);
        List<PutRecordsResultEntry> results = new ArrayList<>();
        int failed = 0;
        for (PutRecordsRequestEntry entry : request.entries) {
            if (kept.test(entry)) {
                store(entry);
                results.add(PutRecordsResultEntry.builder().shardId("shard-0")
                        .sequenceNumber("1").build());
            } else {
                failed++;
                results.add(PutRecordsResultEntry.builder()
                        .errorCode("ProvisionedThroughputExceededException")
                        .errorMessage("Rate exceeded for shard shard-0").build());
            }
        }
        request.answer.complete(PutRecordsResponse.builder().records(results)
                .failedRecordCount(failed).build());
    }

    /** Fails the request with {@code error}, after storing all of it if {@code storedFirst}. */
    void fail(Request request, Throwable error, boolean storedFirst) {
        pending.remove(request);
        if (storedFirst) {
            request.entries.forEach(this::store);
        }
        request.answer.completeExceptionally(error);
    }

    void answerAll() {
        while (!pending.isEmpty()) {
            answer(pending.get(0), entry -> true);
        }
    }

    void store(PutRecordsRequestEntry entry) {
        stored.computeIfAbsent(entry.partitionKey(), k -> new ArrayList<>())
                .add(new String(entry.data().asByteArray(), StandardCharsets.UTF_8));
    }

    @Override
    public CompletableFuture<List<Shard>> listShards() {
        throw new UnsupportedOperationException("the key-ordered writer lists no shards");
    }

    @Override
    public void close() {
        closed = true;
    }
}
