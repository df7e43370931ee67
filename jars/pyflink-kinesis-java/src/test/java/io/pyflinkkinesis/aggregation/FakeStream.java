package io.pyflinkkinesis.aggregation;

import io.pyflinkkinesis.sink.StreamClient;

import org.apache.flink.kinesis.shaded.com.amazonaws.services.kinesis.clientlibrary.types.UserRecord;
import org.apache.flink.kinesis.shaded.com.amazonaws.services.kinesis.model.Record;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.HashKeyRange;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResultEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.SequenceNumberRange;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Shard;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * A stream in memory that routes records as Kinesis does (MD5 of the partition key into the open
 * shard holding it), can be resharded, and shows what a FlinkKinesisConsumer would read.
 * PutRecords answers at once, in the calling thread.
 */
public final class FakeStream implements StreamClient {

    static final BigInteger MAX_HASH_KEY = BigInteger.ONE.shiftLeft(128).subtract(BigInteger.ONE);

    /** The layout now, by shard id. */
    final Map<String, ShardRange> shards = new LinkedHashMap<>();
    /** Every PutRecords request, in order. */
    public final List<List<PutRecordsRequestEntry>> requests = new ArrayList<>();
    /** Records written, by the shard they landed in. */
    public final Map<String, List<PutRecordsRequestEntry>> landed = new LinkedHashMap<>();
    /** Answers for the next requests, instead of writing them. */
    public final Deque<Function<List<PutRecordsRequestEntry>,
            CompletableFuture<PutRecordsResponse>>> scripted = new ArrayDeque<>();
    int listings;
    RuntimeException listingError;
    /** Shards ListShards leaves out, as if listed before they existed. */
    final Set<String> unlisted = new HashSet<>();
    public boolean closed;
    private long sequenceNumber;

    /** {@code count} open shards splitting the hash key space evenly. */
    public static FakeStream withEvenShards(int count) {
        FakeStream stream = new FakeStream();
        for (ShardRange shard : evenShards(count)) {
            stream.shards.put(shard.shardId, shard);
        }
        return stream;
    }

    static List<ShardRange> evenShards(int count) {
        List<ShardRange> shards = new ArrayList<>();
        BigInteger width = MAX_HASH_KEY.add(BigInteger.ONE).divide(BigInteger.valueOf(count));
        for (int i = 0; i < count; i++) {
            BigInteger start = width.multiply(BigInteger.valueOf(i));
            BigInteger end = i == count - 1 ? MAX_HASH_KEY : start.add(width).subtract(BigInteger.ONE);
            shards.add(new ShardRange("shard-" + i, start, end, true));
        }
        return shards;
    }

    /** Closes {@code shardId} and opens two children split at {@code firstOfSecond}. */
    public void split(String shardId, BigInteger firstOfSecond) {
        ShardRange parent = shards.get(shardId);
        shards.put(shardId, new ShardRange(shardId, parent.startingHashKey,
                parent.endingHashKey, false));
        shards.put(shardId + "a", new ShardRange(shardId + "a", parent.startingHashKey,
                firstOfSecond.subtract(BigInteger.ONE), true));
        shards.put(shardId + "b", new ShardRange(shardId + "b", firstOfSecond,
                parent.endingHashKey, true));
    }

    /** Closes two adjacent shards and opens one child covering both. */
    public void merge(String lowerId, String upperId, String childId) {
        ShardRange lower = shards.get(lowerId);
        ShardRange upper = shards.get(upperId);
        shards.put(lowerId, new ShardRange(lowerId, lower.startingHashKey, lower.endingHashKey,
                false));
        shards.put(upperId, new ShardRange(upperId, upper.startingHashKey, upper.endingHashKey,
                false));
        shards.put(childId, new ShardRange(childId, lower.startingHashKey, upper.endingHashKey,
                true));
    }

    @Override
    public String describe() {
        return "stream 'fake'";
    }

    @Override
    public CompletableFuture<PutRecordsResponse> putRecords(List<PutRecordsRequestEntry> entries) {
        requests.add(new ArrayList<>(entries));
        if (!scripted.isEmpty()) {
            return scripted.poll().apply(entries);
        }
        return CompletableFuture.completedFuture(accept(entries));
    }

    /** Writes every entry into the open shard of its key. */
    public PutRecordsResponse accept(List<PutRecordsRequestEntry> entries) {
        List<PutRecordsResultEntry> results = new ArrayList<>();
        for (PutRecordsRequestEntry entry : entries) {
            results.add(write(entry));
        }
        return PutRecordsResponse.builder().records(results).failedRecordCount(0).build();
    }

    /** Writes {@code entry} into the open shard of its explicit hash key, else of its key. */
    public PutRecordsResultEntry write(PutRecordsRequestEntry entry) {
        BigInteger hashKey = entry.explicitHashKey() != null
                ? new BigInteger(entry.explicitHashKey())
                : KeyedRecord.hashKeyOf(entry.partitionKey().getBytes(StandardCharsets.UTF_8));
        ShardRange shard = new ShardMap(shards.values()).openShardFor(hashKey);
        landed.computeIfAbsent(shard.shardId, id -> new ArrayList<>()).add(entry);
        return PutRecordsResultEntry.builder()
                .shardId(shard.shardId)
                .sequenceNumber(String.valueOf(++sequenceNumber))
                .build();
    }

    /** The id of the open shard holding {@code hashKey} now. */
    public String openShardOf(BigInteger hashKey) {
        return new ShardMap(shards.values()).openShardFor(hashKey).shardId;
    }

    /**
     * Whether a consumer of {@code shardId} keeps every record of {@code entry}: the shard's range
     * holds all their hash keys (a plain record: its own).
     */
    public boolean holdsAll(String shardId, PutRecordsRequestEntry entry) {
        ShardRange shard = shards.get(shardId);
        List<String> keys = KplFormat.partitionKeys(entry.data().asByteArray());
        for (String key : keys == null ? Collections.singletonList(entry.partitionKey()) : keys) {
            if (!shard.contains(KeyedRecord.hashKeyOf(key.getBytes(StandardCharsets.UTF_8)))) {
                return false;
            }
        }
        return true;
    }

    static PutRecordsResultEntry landedIn(String shardId) {
        return PutRecordsResultEntry.builder().shardId(shardId).sequenceNumber("1").build();
    }

    public static PutRecordsResultEntry failure(String code, String message) {
        return PutRecordsResultEntry.builder().errorCode(code).errorMessage(message).build();
    }

    @Override
    public CompletableFuture<List<Shard>> listShards() {
        listings++;
        CompletableFuture<List<Shard>> result = new CompletableFuture<>();
        if (listingError != null) {
            result.completeExceptionally(listingError);
        } else {
            List<ShardRange> listed = new ArrayList<>();
            for (ShardRange shard : shards.values()) {
                if (!unlisted.contains(shard.shardId)) {
                    listed.add(shard);
                }
            }
            result.complete(sdkShards(listed));
        }
        return result;
    }

    static List<Shard> sdkShards(Iterable<ShardRange> ranges) {
        List<Shard> result = new ArrayList<>();
        for (ShardRange range : ranges) {
            result.add(Shard.builder()
                    .shardId(range.shardId)
                    .hashKeyRange(HashKeyRange.builder()
                            .startingHashKey(range.startingHashKey.toString())
                            .endingHashKey(range.endingHashKey.toString())
                            .build())
                    .sequenceNumberRange(SequenceNumberRange.builder()
                            .startingSequenceNumber("0")
                            .endingSequenceNumber(range.open ? null : "99")
                            .build())
                    .build());
        }
        return result;
    }

    /**
     * What a FlinkKinesisConsumer reading every shard gets: each shard's records de-aggregated
     * with that shard's hash key range, as "key=data" strings.
     */
    public List<String> consumed() {
        List<String> result = new ArrayList<>();
        for (Map.Entry<String, List<PutRecordsRequestEntry>> shard : landed.entrySet()) {
            ShardRange range = shards.get(shard.getKey());
            for (PutRecordsRequestEntry entry : shard.getValue()) {
                for (UserRecord record : UserRecord.deaggregate(
                        Collections.singletonList(kclRecord(entry)),
                        range.startingHashKey, range.endingHashKey)) {
                    result.add(text(record));
                }
            }
        }
        return result;
    }

    static Record kclRecord(PutRecordsRequestEntry entry) {
        return new Record()
                .withData(ByteBuffer.wrap(entry.data().asByteArray()))
                .withPartitionKey(entry.partitionKey())
                .withSequenceNumber("1");
    }

    static String text(UserRecord record) {
        ByteBuffer data = record.getData();
        byte[] bytes = new byte[data.remaining()];
        data.get(bytes);
        return record.getPartitionKey() + "=" + new String(bytes, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        closed = true;
    }
}
