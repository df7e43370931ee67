package io.pyflinkkinesis.table;

import io.pyflinkkinesis.exactlyonce.CommittingKinesisStreamsSink;
import io.pyflinkkinesis.sink.KeyOrderedKinesisStreamsSink;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kinesis.sink.KinesisStreamsSink;
import org.apache.flink.connector.kinesis.table.KinesisDynamicTableSinkFactory;
import org.apache.flink.streaming.connectors.kinesis.table.KinesisDynamicTableFactory;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.Schema;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.catalog.CatalogTable;
import org.apache.flink.table.catalog.Column;
import org.apache.flink.table.catalog.ObjectIdentifier;
import org.apache.flink.table.catalog.ResolvedCatalogTable;
import org.apache.flink.table.catalog.ResolvedSchema;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.connector.sink.SinkV2Provider;
import org.apache.flink.table.connector.sink.abilities.SupportsPartitioning;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.factories.DynamicTableFactory;
import org.apache.flink.table.factories.DynamicTableSinkFactory;
import org.apache.flink.table.factories.DynamicTableSourceFactory;
import org.apache.flink.table.factories.Factory;
import org.apache.flink.table.factories.FactoryUtil;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Properties;
import java.util.ServiceLoader;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Our table factory hands tables to the connector's factories, without our options. */
class KinesisTableFactoryTest {

    private static final ConfigOption<String> STREAM =
            ConfigOptions.key("stream").stringType().noDefaultValue();

    /** A sink factory that answers {@link #answer} and keeps the options it was given. */
    private static final class RecordingSinks implements DynamicTableSinkFactory {
        Map<String, String> given;
        DynamicTableSink answer = new ConnectorLikeSink(1);

        @Override
        public DynamicTableSink createDynamicTableSink(Context context) {
            given = context.getCatalogTable().getOptions();
            return answer;
        }

        @Override
        public String factoryIdentifier() {
            return "recording";
        }

        @Override
        public Set<ConfigOption<?>> requiredOptions() {
            return Collections.singleton(STREAM);
        }

        @Override
        public Set<ConfigOption<?>> optionalOptions() {
            return Collections.emptySet();
        }
    }

    /** A source factory that keeps the options it was given. */
    private static final class RecordingSources implements DynamicTableSourceFactory {
        Map<String, String> given;

        @Override
        public DynamicTableSource createDynamicTableSource(Context context) {
            given = context.getCatalogTable().getOptions();
            return null;
        }

        @Override
        public String factoryIdentifier() {
            return "recording";
        }

        @Override
        public Set<ConfigOption<?>> requiredOptions() {
            return Collections.singleton(STREAM);
        }

        @Override
        public Set<ConfigOption<?>> optionalOptions() {
            return Collections.emptySet();
        }
    }

    /** Like the connector's table sink: a KinesisStreamsSink, static partitions, a copy. */
    private static class ConnectorLikeSink implements DynamicTableSink, SupportsPartitioning {
        final Integer parallelism;
        Map<String, String> staticPartition;

        ConnectorLikeSink(Integer parallelism) {
            this.parallelism = parallelism;
        }

        @Override
        public ChangelogMode getChangelogMode(ChangelogMode requestedMode) {
            return ChangelogMode.insertOnly();
        }

        @Override
        public SinkRuntimeProvider getSinkRuntimeProvider(Context context) {
            Properties client = new Properties();
            client.setProperty("aws.region", "us-east-1");
            KinesisStreamsSink<RowData> sink = KinesisStreamsSink.<RowData>builder()
                    .setStreamName("orders")
                    .setKinesisClientProperties(client)
                    .setSerializationSchema(element -> new byte[0])
                    .setPartitionKeyGenerator(element -> "k")
                    .setMaxInFlightRequests(7)
                    .build();
            return SinkV2Provider.of(sink, parallelism);
        }

        @Override
        public DynamicTableSink copy() {
            return new ConnectorLikeSink(parallelism);
        }

        @Override
        public String asSummaryString() {
            return "Kinesis";
        }

        @Override
        public void applyStaticPartition(Map<String, String> partition) {
            staticPartition = partition;
        }
    }

    private final RecordingSources sources = new RecordingSources();
    private final RecordingSinks sinks = new RecordingSinks();
    private final KinesisTableFactory factory = new KinesisTableFactory(sources, sinks);

    private static DynamicTableFactory.Context context(Map<String, String> options) {
        Schema schema = Schema.newBuilder().column("id", DataTypes.BIGINT()).build();
        ResolvedCatalogTable table = new ResolvedCatalogTable(
                CatalogTable.of(schema, null, Collections.emptyList(), options),
                ResolvedSchema.of(Column.physical("id", DataTypes.BIGINT())));
        return new FactoryUtil.DefaultDynamicTableContext(
                ObjectIdentifier.of("catalog", "db", "orders"), table, Collections.emptyMap(),
                new Configuration(), KinesisTableFactoryTest.class.getClassLoader(), false);
    }

    private static Map<String, String> options(String... keysAndValues) {
        Map<String, String> options = new HashMap<>();
        options.put("connector", KinesisTableFactory.IDENTIFIER);
        options.put("stream", "orders");
        for (int i = 0; i < keysAndValues.length; i += 2) {
            options.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return options;
    }

    @Test
    void keepKeyOrderWrapsTheConnectorsSinkWhichNeverSeesTheOption() {
        DynamicTableSink sink = factory.createDynamicTableSink(context(options(
                "sink.keep-key-order", "true", "sink.batch.max-size", "20")));

        assertInstanceOf(KeyOrderedDynamicSink.class, sink);
        assertEquals(options("sink.batch.max-size", "20"), sinks.given);
    }

    @Test
    void withoutKeepKeyOrderTheTableIsTheConnectorsAsItIs() {
        assertSame(sinks.answer, factory.createDynamicTableSink(context(options())));
        assertSame(sinks.answer, factory.createDynamicTableSink(context(options(
                "sink.keep-key-order", "false"))));
        assertEquals(options(), sinks.given);
    }

    @Test
    void exactlyOnceWrapsTheConnectorsSinkWhichNeverSeesItsOptions() {
        DynamicTableSink sink = factory.createDynamicTableSink(context(options(
                "sink.delivery-guarantee", "exactly-once",
                "sink.exactly-once.max-buffered-bytes", "2097152",
                "sink.exactly-once.commit-timeout", "5 s")));

        assertInstanceOf(CommittingDynamicSink.class, sink);
        assertEquals(options(), sinks.given);
        assertSame(sinks.answer, factory.createDynamicTableSink(context(options(
                "sink.delivery-guarantee", "at-least-once"))));
    }

    @Test
    void anotherGuaranteeOrKeyOrderWithExactlyOnceIsRefusedNamingTheTable() {
        String unknown = assertThrows(ValidationException.class, () -> factory
                .createDynamicTableSink(context(options("sink.delivery-guarantee", "none"))))
                .getMessage();
        String ordered = assertThrows(ValidationException.class, () -> factory
                .createDynamicTableSink(context(options("sink.delivery-guarantee",
                        "exactly-once", "sink.keep-key-order", "true"))))
                .getMessage();

        assertEquals("Invalid value for option 'sink.delivery-guarantee' of table "
                + "catalog.db.orders: 'none' is not one of at-least-once, exactly-once", unknown);
        assertTrue(ordered.startsWith("Table catalog.db.orders sets 'sink.keep-key-order' with "
                + "'sink.delivery-guarantee' = 'exactly-once'"), ordered);
    }

    @Test
    void theCommittingSinkWritesTheConnectorsStreamAndForwardsTheRest() {
        ConnectorLikeSink connector = new ConnectorLikeSink(3);
        CommittingDynamicSink sink = new CommittingDynamicSink(connector, 2 << 20,
                Duration.ofSeconds(5));

        SinkV2Provider provider = (SinkV2Provider) sink.getSinkRuntimeProvider(null);

        assertInstanceOf(CommittingKinesisStreamsSink.class, provider.createSink());
        assertEquals(3, provider.getParallelism().get());
        assertEquals("Kinesis (exactly-once)", sink.asSummaryString());
        assertEquals(ChangelogMode.insertOnly(), sink.getChangelogMode(ChangelogMode.all()));
        assertInstanceOf(CommittingDynamicSink.class, sink.copy());
        Map<String, String> partition = Collections.singletonMap("customer", "c-1");
        sink.applyStaticPartition(partition);
        assertSame(partition, connector.staticPartition);
    }

    @Test
    void theSourceIsTheConnectorsWithoutOurOptions() {
        factory.createDynamicTableSource(context(options("sink.keep-key-order", "true")));
        assertEquals(options(), sources.given);
    }

    @Test
    void anUnreadableValueOfOursNamesTheOptionAndTable() {
        String message = assertThrows(ValidationException.class, () -> factory
                .createDynamicTableSink(context(options("sink.keep-key-order", "maybe"))))
                .getMessage();
        assertTrue(message.startsWith("Invalid value for option 'sink.keep-key-order' of table "
                + "catalog.db.orders: "), message);
    }

    @Test
    void itTakesTheConnectorsOptionsAndOursAndIsFoundAsAFactory() {
        KinesisTableFactory real = new KinesisTableFactory();
        Set<ConfigOption<?>> connector = new HashSet<>(
                new KinesisDynamicTableFactory().optionalOptions());
        connector.addAll(new KinesisDynamicTableSinkFactory().optionalOptions());
        Set<ConfigOption<?>> expected = new HashSet<>(connector);
        expected.addAll(KinesisTableFactory.OWN_OPTIONS);
        expected.add(KinesisTableFactory.STREAM_ARN);

        assertEquals(expected, new HashSet<>(real.optionalOptions()));
        Set<ConfigOption<?>> required = new HashSet<>(
                new KinesisDynamicTableFactory().requiredOptions());
        required.addAll(new KinesisDynamicTableSinkFactory().requiredOptions());
        assertEquals(required, new HashSet<>(real.requiredOptions()));
        boolean found = false;
        for (Factory discovered : ServiceLoader.load(Factory.class)) {
            found |= discovered.factoryIdentifier().equals(KinesisTableFactory.IDENTIFIER);
        }
        assertTrue(found, "no Factory '" + KinesisTableFactory.IDENTIFIER + "' in the services");
    }

    @Test
    void theOrderedSinkWritesTheConnectorsKinesisStreamsSinkAndForwardsTheRest() {
        ConnectorLikeSink connector = new ConnectorLikeSink(3);
        KeyOrderedDynamicSink sink = new KeyOrderedDynamicSink(connector);

        SinkV2Provider provider = (SinkV2Provider) sink.getSinkRuntimeProvider(null);

        KeyOrderedKinesisStreamsSink<?> ordered =
                assertInstanceOf(KeyOrderedKinesisStreamsSink.class, provider.createSink());
        assertEquals("orders", ordered.getSettings().streamName);
        assertEquals(7, ordered.getSettings().maxInFlightRequests);
        assertEquals(3, provider.getParallelism().get());
        assertEquals("Kinesis (key order kept)", sink.asSummaryString());
        assertEquals(ChangelogMode.insertOnly(), sink.getChangelogMode(ChangelogMode.all()));
        assertInstanceOf(KeyOrderedDynamicSink.class, sink.copy());
        Map<String, String> partition = Collections.singletonMap("customer", "c-1");
        sink.applyStaticPartition(partition);
        assertSame(partition, connector.staticPartition);
        assertFalse(sink.requiresPartitionGrouping(false));
    }

    @Test
    void aSinkThatIsNoKinesisStreamsSinkIsRefusedClearly() {
        DynamicTableSink other = new ConnectorLikeSink(1) {
            @Override
            public SinkRuntimeProvider getSinkRuntimeProvider(Context context) {
                return SinkV2Provider.of(null);
            }
        };
        String message = assertThrows(IllegalStateException.class,
                () -> new KeyOrderedDynamicSink(other).getSinkRuntimeProvider(null)).getMessage();
        assertTrue(message.startsWith("Expected the connector's table sink to write with a "
                + "KinesisStreamsSink"), message);
    }
}
