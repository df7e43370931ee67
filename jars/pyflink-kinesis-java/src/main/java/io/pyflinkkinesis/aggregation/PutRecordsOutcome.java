package io.pyflinkkinesis.aggregation;

import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResultEntry;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * What a PutRecords response means for the entries sent: which failed (to retry), and which
 * aggregates landed in a shard whose consumers would drop their records (to re-send).
 *
 * <p>A consumer de-aggregates with the hash key range of the shard it reads (KCL's {@code
 * UserRecord.deaggregate(records, start, end)}, used by FlinkKinesisConsumer) and drops the
 * <em>whole</em> aggregate as soon as one sub-record's hash key is outside that range. An
 * aggregate is built for the shard of its keys, but a split or merge after the shard map was read
 * can send it to a shard that does not hold them all. Then every one of its records is re-sent
 * on its own (a plain record is never dropped), so nothing is lost; a consumer that keeps the
 * records in range (other de-aggregators) sees those twice.
 */
final class PutRecordsOutcome {

    /** An aggregate that was written, with its place in the request and the shard it landed in. */
    private static final class Landing {
        final int index;
        final PutRecordsRequestEntry aggregate;
        final List<String> partitionKeys;
        final String shardId;

        Landing(int index, PutRecordsRequestEntry aggregate, List<String> partitionKeys,
                String shardId) {
            this.index = index;
            this.aggregate = aggregate;
            this.partitionKeys = partitionKeys;
            this.shardId = shardId;
        }

        /** Whether a consumer of the shard, as {@code map} knows it, keeps every record. */
        boolean readableIn(ShardMap map) {
            ShardRange shard = map.shard(shardId);
            if (shard == null) {
                return false;
            }
            for (String key : partitionKeys) {
                if (!shard.contains(KeyedRecord.hashKeyOf(key.getBytes(StandardCharsets.UTF_8)))) {
                    return false;
                }
            }
            return true;
        }
    }

    final List<PutRecordsRequestEntry> failed = new ArrayList<>();
    /** Error code and message of the first failed entry, or null if none failed. */
    String firstError;
    private final List<Landing> aggregates = new ArrayList<>();

    private PutRecordsOutcome() {}

    static PutRecordsOutcome of(List<PutRecordsRequestEntry> sent, PutRecordsResponse response) {
        List<PutRecordsResultEntry> results = response.records();
        if (results.size() != sent.size()) {
            throw new IllegalStateException("PutRecords answered " + results.size()
                    + " results for " + sent.size() + " records");
        }
        PutRecordsOutcome outcome = new PutRecordsOutcome();
        for (int i = 0; i < results.size(); i++) {
            PutRecordsResultEntry result = results.get(i);
            PutRecordsRequestEntry entry = sent.get(i);
            if (result.errorCode() != null) {
                outcome.failed.add(entry);
                if (outcome.firstError == null) {
                    outcome.firstError = result.errorCode() + ": " + result.errorMessage();
                }
                continue;
            }
            List<String> keys = KplFormat.partitionKeys(entry.data().asByteArrayUnsafe());
            if (keys != null) {
                outcome.aggregates.add(new Landing(i, entry, keys, result.shardId()));
            }
        }
        return outcome;
    }

    /**
     * The records to re-send on their own, by the index in the request of the aggregate they
     * replace: all records of each aggregate that landed in a shard whose range does not hold
     * them all. An aggregate that landed in a shard missing from the current map waits for a
     * refreshed map (re-sent if the shard is still unknown). A refresh is also asked for whenever
     * something must be re-sent: the map is out of date.
     */
    CompletableFuture<Map<Integer, List<PutRecordsRequestEntry>>> resends(LiveShardMap shards) {
        ShardMap map = shards.current();
        for (Landing landing : aggregates) {
            if (map.shard(landing.shardId) == null) {
                return shards.refresh().thenApply(this::unreadableIn);
            }
        }
        Map<Integer, List<PutRecordsRequestEntry>> resends = unreadableIn(map);
        if (!resends.isEmpty()) {
            shards.refresh();
        }
        return CompletableFuture.completedFuture(resends);
    }

    /** The records of every aggregate whose records are not all readable in its shard. */
    Map<Integer, List<PutRecordsRequestEntry>> unreadableIn(ShardMap map) {
        Map<Integer, List<PutRecordsRequestEntry>> resends = new LinkedHashMap<>();
        for (Landing landing : aggregates) {
            if (!landing.readableIn(map)) {
                List<PutRecordsRequestEntry> records = new ArrayList<>();
                for (TaggedRecord record
                        : KplFormat.unpack(landing.aggregate.data().asByteArrayUnsafe())) {
                    records.add(KplAggregate.plain(record.record));
                }
                resends.put(landing.index, records);
            }
        }
        return resends;
    }

    /** How many records {@code resends} holds. */
    static int count(Map<Integer, List<PutRecordsRequestEntry>> resends) {
        int count = 0;
        for (List<PutRecordsRequestEntry> records : resends.values()) {
            count += records.size();
        }
        return count;
    }
}
