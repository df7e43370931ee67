package io.pyflinkkinesis;

import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kinesis.source.KinesisStreamsSource;
import org.apache.flink.connector.kinesis.source.split.KinesisShardSplit;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class TypedKinesisStreamsSourceTest {

    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/orders";

    private final KinesisStreamsSource<String> source =
            KinesisStreamsSource.<String>builder()
                    .setStreamArn(ARN)
                    .setSourceConfig(new Configuration())
                    .setDeserializationSchema(new SimpleStringSchema())
                    .build();

    private final TypedKinesisStreamsSource<String> typed =
            new TypedKinesisStreamsSource<>(source, Types.STRING);

    @Test
    void answersTheTypeItWasGiven() {
        assertEquals(Types.STRING, typed.getProducedType());
    }

    @Test
    void delegatesBoundednessAndSerializers() throws Exception {
        assertEquals(Boundedness.CONTINUOUS_UNBOUNDED, typed.getBoundedness());
        KinesisShardSplit split =
                new KinesisShardSplit(ARN, "shardId-000000000001",
                        StartingPosition.continueFromSequenceNumber("49600"));
        byte[] bytes = source.getSplitSerializer().serialize(split);
        assertEquals(split, typed.getSplitSerializer().deserialize(
                typed.getSplitSerializer().getVersion(), bytes));
        assertEquals(source.getEnumeratorCheckpointSerializer().getClass(),
                typed.getEnumeratorCheckpointSerializer().getClass());
    }

    @Test
    void survivesJavaSerialization() throws Exception {
        assertEquals(Types.STRING, InstantiationUtil.clone(typed).getProducedType());
    }
}
