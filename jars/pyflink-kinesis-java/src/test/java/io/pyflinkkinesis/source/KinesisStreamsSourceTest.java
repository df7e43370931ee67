package io.pyflinkkinesis.source;

import io.pyflinkkinesis.source.enumerator.EnumeratorState;
import io.pyflinkkinesis.source.reader.PausableShardSplitReader;
import io.pyflinkkinesis.source.reader.fanout.FanOutShardSplitReader;
import io.pyflinkkinesis.source.split.ShardMarks;
import io.pyflinkkinesis.source.split.ShardSplit;
import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.connector.kinesis.source.serialization.KinesisDeserializationSchema;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KinesisStreamsSourceTest {

    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/orders";

    private static KinesisStreamsSource<String> source() {
        return source(new Configuration());
    }

    private static KinesisStreamsSource<String> source(Configuration config) {
        config.setString("aws.region", "us-east-1");
        config.setString("aws.credentials.provider", "BASIC");
        config.setString("aws.credentials.provider.basic.accesskeyid", "id");
        config.setString("aws.credentials.provider.basic.secretkey", "secret");
        return new KinesisStreamsSource<>(ARN, config,
                KinesisDeserializationSchema.of(new SimpleStringSchema()), null, Types.STRING);
    }

    @Test
    void answersTheTypeItWasGivenAndIsUnbounded() {
        assertEquals(Types.STRING, source().getProducedType());
        assertEquals(Boundedness.CONTINUOUS_UNBOUNDED, source().getBoundedness());
    }

    @Test
    void serializesItsSplitsAndEnumeratorState() throws Exception {
        KinesisStreamsSource<String> source = source();
        ShardSplit split = new ShardSplit(ARN, "shardId-000000000002",
                StartingPosition.continueFromSequenceNumber("49600"),
                new HashSet<>(Arrays.asList("shardId-000000000000", "shardId-000000000001")),
                "0", "340282366920938463463374607431768211455");
        byte[] bytes = source.getSplitSerializer().serialize(split);
        assertEquals(split, source.getSplitSerializer().deserialize(
                source.getSplitSerializer().getVersion(), bytes));
        EnumeratorState state = new EnumeratorState(true, Collections.singletonList(split),
                Collections.singleton("shardId-000000000003"),
                Collections.singletonMap("shardId-000000000000", new ShardMarks()));
        byte[] stateBytes = source.getEnumeratorCheckpointSerializer().serialize(state);
        assertEquals(state, source.getEnumeratorCheckpointSerializer().deserialize(
                source.getEnumeratorCheckpointSerializer().getVersion(), stateBytes));
    }

    @Test
    void survivesJavaSerialization() throws Exception {
        assertEquals(Types.STRING, InstantiationUtil.clone(source()).getProducedType());
    }

    @Test
    void makesKinesisClients() throws Exception {
        assertNotNull(source().streamProxy());
        source().streamProxy().close();
    }

    @Test
    void picksTheSplitReaderBySourceReaderType() throws Exception {
        SplitReader<Record, ShardSplit> polling = source().splitReaders(new UnregisteredMetricsGroup()).get();
        assertTrue(polling instanceof PausableShardSplitReader, polling.getClass().getName());
        polling.close();

        Configuration efo = new Configuration();
        efo.setString("source.reader.type", "EFO");
        efo.setString("source.efo.consumer.name", "orders-flink");
        SplitReader<Record, ShardSplit> fanOut = source(efo).splitReaders(new UnregisteredMetricsGroup()).get();
        assertTrue(fanOut instanceof FanOutShardSplitReader, fanOut.getClass().getName());
        fanOut.close();

        efo.removeKey("source.efo.consumer.name");
        assertThrows(IllegalArgumentException.class, () -> source(efo).splitReaders(new UnregisteredMetricsGroup()));
    }
}
