package io.pyflinkkinesis.consumer;

import org.apache.flink.kinesis.shaded.com.amazonaws.services.kinesis.model.GetRecordsResult;
import org.apache.flink.kinesis.shaded.com.amazonaws.services.kinesis.model.Record;
import org.apache.flink.streaming.connectors.kinesis.model.SentinelSequenceNumber;
import org.apache.flink.streaming.connectors.kinesis.model.SequenceNumber;
import org.apache.flink.streaming.connectors.kinesis.model.StreamShardHandle;
import org.apache.flink.streaming.connectors.kinesis.proxy.GetShardListResult;
import org.apache.flink.streaming.connectors.kinesis.proxy.KinesisProxyInterface;

import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Map;

import static io.pyflinkkinesis.consumer.Shards.EARLIEST;
import static io.pyflinkkinesis.consumer.Shards.shard;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProxyShardsTest {

    /** Answers GetRecords from a script; notes every call. */
    private static final class FakeProxy implements KinesisProxyInterface {
        final List<String> calls = new ArrayList<>();
        final Deque<GetRecordsResult> answers = new ArrayDeque<>();
        final List<StreamShardHandle> shards = new ArrayList<>();

        @Override
        public String getShardIterator(StreamShardHandle shard, String type, Object marker) {
            calls.add("GetShardIterator " + type + (marker == null ? "" : " " + marker));
            return "iterator-0";
        }

        @Override
        public GetRecordsResult getRecords(String iterator, int maxRecords) {
            calls.add("GetRecords " + iterator);
            return answers.remove();
        }

        @Override
        public GetShardListResult getShardList(Map<String, String> lastSeen) {
            calls.add("ListShards " + lastSeen);
            GetShardListResult result = new GetShardListResult();
            result.addRetrievedShardsToStream(Shards.STREAM, shards);
            return result;
        }

        void answer(int records, String next) {
            List<Record> batch = new ArrayList<>();
            for (int i = 0; i < records; i++) {
                batch.add(new Record().withSequenceNumber(String.valueOf(i)));
            }
            answers.add(new GetRecordsResult().withRecords(batch).withNextShardIterator(next));
        }
    }

    private final FakeProxy proxy = new FakeProxy();
    private long now;
    private final ProxyShards shards = new ProxyShards(() -> proxy, () -> now);

    @Test
    void aClosedShardWithNothingAfterTheLastRecordIsDrained() throws Exception {
        proxy.answer(0, null);

        assertTrue(shards.isDrained(shard(0), new SequenceNumber("42")));
        assertEquals(Collections.singletonList("GetShardIterator AFTER_SEQUENCE_NUMBER 42"),
                proxy.calls.subList(0, 1));
    }

    @Test
    void aRecordAfterTheLastOneMeansNotDrained() throws Exception {
        proxy.answer(1, null);

        assertFalse(shards.isDrained(shard(0), new SequenceNumber("42")));
    }

    @Test
    void emptyAnswersAreFollowedAFewTimesForTheEnd() throws Exception {
        proxy.answer(0, "iterator-1");
        proxy.answer(0, null);
        assertTrue(shards.isDrained(shard(0), EARLIEST));
        assertEquals("GetShardIterator TRIM_HORIZON", proxy.calls.get(0));

        for (int call = 0; call < ProxyShards.DRAIN_PROBE_CALLS; call++) {
            proxy.answer(0, "iterator-" + call);
        }
        assertFalse(shards.isDrained(shard(0), EARLIEST)); // could still hold records
    }

    @Test
    void positionsItCannotAskAboutAreNotDrained() throws Exception {
        assertFalse(shards.isDrained(shard(0), new SequenceNumber("42", 3))); // inside an aggregate
        assertFalse(shards.isDrained(shard(0),
                SentinelSequenceNumber.SENTINEL_AT_TIMESTAMP_SEQUENCE_NUM.get()));
        assertEquals(Collections.emptyList(), proxy.calls);
    }

    @Test
    void listsAStreamAtMostOnceASecond() throws Exception {
        proxy.shards.add(shard(0));
        assertTrue(shards.shards(Shards.STREAM).containsKey(Shards.id(0)));

        proxy.shards.add(shard(1));
        now += ProxyShards.MIN_INTERVAL_MILLIS - 1;
        assertFalse(shards.shards(Shards.STREAM).containsKey(Shards.id(1)));

        now += 1;
        assertTrue(shards.shards(Shards.STREAM).containsKey(Shards.id(1)));
        assertEquals(2, proxy.calls.size());
    }
}
