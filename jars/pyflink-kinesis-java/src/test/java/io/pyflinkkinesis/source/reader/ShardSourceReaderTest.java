package io.pyflinkkinesis.source.reader;

import io.pyflinkkinesis.exactlyonce.RecordId;
import io.pyflinkkinesis.source.event.FinishedShardsAckEvent;
import io.pyflinkkinesis.source.event.ShardsFinishedEvent;
import io.pyflinkkinesis.source.split.ShardMarks;
import io.pyflinkkinesis.source.split.ShardSplit;
import io.pyflinkkinesis.source.split.ShardSplitState;
import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kinesis.source.proxy.StreamProxy;
import org.apache.flink.connector.kinesis.source.serialization.KinesisDeserializationSchema;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Shard;
import org.apache.flink.metrics.groups.SourceReaderMetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.util.SimpleUserCodeClassLoader;
import org.apache.flink.util.UserCodeClassLoader;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class ShardSourceReaderTest {

    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s";

    private final List<SourceEvent> sent = new ArrayList<>();

    private final SourceReaderContext context = new SourceReaderContext() {
        @Override
        public SourceReaderMetricGroup metricGroup() {
            return UnregisteredMetricsGroup.createSourceReaderMetricGroup();
        }

        @Override
        public Configuration getConfiguration() {
            return new Configuration();
        }

        @Override
        public String getLocalHostName() {
            return "localhost";
        }

        @Override
        public int getIndexOfSubtask() {
            return 0;
        }

        @Override
        public void sendSplitRequest() {
        }

        @Override
        public void sendSourceEventToCoordinator(SourceEvent event) {
            sent.add(event);
        }

        @Override
        public UserCodeClassLoader getUserCodeClassLoader() {
            return SimpleUserCodeClassLoader.create(getClass().getClassLoader());
        }
    };

    private static final StreamProxy NO_KINESIS = new StreamProxy() {
        @Override
        public List<Shard> listShards(String streamArn, String lastSeenShardId) {
            throw new UnsupportedOperationException();
        }

        @Override
        public GetRecordsResponse getRecords(String arn, String shardId, StartingPosition p) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void close() {
        }
    };

    private ShardSourceReader<String> reader() {
        return new ShardSourceReader<>(
                () -> new DeaggregatingSplitReader(new PausableShardSplitReader(
                        NO_KINESIS, new Configuration(), context.metricGroup())),
                new ShardRecordEmitter<>(
                        KinesisDeserializationSchema.of(new SimpleStringSchema()), null),
                new Configuration(), context);
    }

    private static final RecordId ID = new RecordId(new RecordId.WriterId(1, 1), 3);

    private static ShardSplit split(String id) {
        return new ShardSplit(ARN, id, StartingPosition.fromStart(),
                Collections.singleton("parent"), "0", "9");
    }

    @Test
    void aFinishedShardStaysInTheCheckpointUntilAcknowledged() throws Exception {
        ShardSourceReader<String> reader = reader();
        ShardSplitState state = new ShardSplitState(split("p"));
        state.getMarks().admit(ID, BigInteger.ONE, null, 0);
        state.setNextStartingPosition(StartingPosition.continueFromSequenceNumber("42"));
        reader.onSplitFinished(Collections.singletonMap("p", state));

        assertEquals(1, sent.size());
        ShardsFinishedEvent report = (ShardsFinishedEvent) sent.get(0);
        assertEquals(Collections.singleton("p"), report.getShardIds());
        assertEquals(false, report.isRestored());
        assertEquals(state.getMarks().inheritance(BigInteger.ZERO, BigInteger.valueOf(9)),
                report.getInheritance("p"), "the children's marks, with p's range");
        assertFalse(report.getInheritance("p").isEmpty());
        ShardSplit marker = split("p")
                .withStartingPosition(StartingPosition.continueFromSequenceNumber("42"))
                .withMarks(state.getMarks())
                .asFinished();
        assertEquals(Collections.singletonList(marker), reader.snapshotState(1));
        assertEquals(Collections.singletonList(marker), reader.snapshotState(2));

        reader.handleSourceEvents(new FinishedShardsAckEvent(Collections.singleton("p")));
        assertEquals(Collections.emptyList(), reader.snapshotState(3));
        reader.close();
    }

    @Test
    void aRestoredFinishedShardIsReportedAgainAndNotRead() throws Exception {
        ShardSourceReader<String> reader = reader();
        ShardMarks marks = new ShardMarks();
        marks.admit(ID, BigInteger.ONE, null, 0);
        ShardSplit marker = split("p").withMarks(marks).asFinished();
        reader.addSplits(Collections.singletonList(marker));

        assertEquals(0, reader.getNumberOfCurrentlyAssignedSplits());
        assertEquals(1, sent.size());
        ShardsFinishedEvent report = (ShardsFinishedEvent) sent.get(0);
        assertEquals(Collections.singleton("p"), report.getShardIds());
        assertEquals(true, report.isRestored());
        assertEquals(marker.inheritance(), report.getInheritance("p"));
        assertFalse(report.getInheritance("p").isEmpty());
        assertEquals(Collections.singletonList(marker), reader.snapshotState(5));
        reader.handleSourceEvents(new FinishedShardsAckEvent(Collections.singleton("p")));
        assertEquals(Collections.emptyList(), reader.snapshotState(6));
        reader.close();
    }
}
