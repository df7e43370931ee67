package io.pyflinkkinesis.table;

import io.pyflinkkinesis.source.KinesisStreamsSource;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.SdkBytes;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.Schema;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.catalog.CatalogTable;
import org.apache.flink.table.catalog.Column;
import org.apache.flink.table.catalog.ObjectIdentifier;
import org.apache.flink.table.catalog.ResolvedCatalogTable;
import org.apache.flink.table.catalog.ResolvedSchema;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.connector.source.ScanTableSource;
import org.apache.flink.table.connector.source.SourceProvider;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.factories.DynamicTableFactory;
import org.apache.flink.table.factories.DynamicTableSinkFactory;
import org.apache.flink.table.factories.DynamicTableSourceFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A {@code 'stream.arn'} table reads with our source and writes with the connector's sink. */
class StreamArnTableTest {

    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/orders";

    /** A factory that fails the test when called: the table must not reach the connector's. */
    private static final class Unused implements DynamicTableSourceFactory, DynamicTableSinkFactory {
        Map<String, String> sinkGiven;

        @Override
        public DynamicTableSource createDynamicTableSource(Context context) {
            throw new AssertionError("the connector's source factory was called");
        }

        @Override
        public DynamicTableSink createDynamicTableSink(Context context) {
            sinkGiven = context.getCatalogTable().getOptions();
            return null;
        }

        @Override
        public String factoryIdentifier() {
            return "unused";
        }

        @Override
        public Set<ConfigOption<?>> requiredOptions() {
            return Collections.emptySet();
        }

        @Override
        public Set<ConfigOption<?>> optionalOptions() {
            return Collections.emptySet();
        }
    }

    /** Type information as the planner would give it, enough to build the source. */
    private static final ScanTableSource.ScanContext SCAN = new ScanTableSource.ScanContext() {
        @Override
        public <T> TypeInformation<T> createTypeInformation(DataType producedDataType) {
            @SuppressWarnings("unchecked")
            TypeInformation<T> type = (TypeInformation<T>) TypeInformation.of(RowData.class);
            return type;
        }

        @Override
        public <T> TypeInformation<T> createTypeInformation(LogicalType producedLogicalType) {
            throw new UnsupportedOperationException();
        }

        @Override
        public DynamicTableSource.DataStructureConverter createDataStructureConverter(
                DataType producedDataType) {
            throw new UnsupportedOperationException();
        }
    };

    private final Unused connector = new Unused();
    private final KinesisTableFactory factory = new KinesisTableFactory(connector, connector);

    private static Map<String, String> options(String... keysAndValues) {
        Map<String, String> options = new LinkedHashMap<>();
        options.put("connector", KinesisTableFactory.IDENTIFIER);
        options.put("stream.arn", ARN);
        options.put("aws.region", "us-east-1");
        options.put("format", "text");
        for (int i = 0; i < keysAndValues.length; i += 2) {
            options.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return options;
    }

    private static DynamicTableFactory.Context context(Map<String, String> options) {
        Schema schema = Schema.newBuilder().column("line", DataTypes.STRING()).build();
        ResolvedCatalogTable table = new ResolvedCatalogTable(
                CatalogTable.of(schema, null, Collections.emptyList(), options),
                ResolvedSchema.of(Column.physical("line", DataTypes.STRING())));
        return new FactoryUtil.DefaultDynamicTableContext(
                ObjectIdentifier.of("catalog", "db", "orders"), table, Collections.emptyMap(),
                new Configuration(), StreamArnTableTest.class.getClassLoader(), false);
    }

    private KinesisSourceTable source(Map<String, String> options) {
        return assertInstanceOf(KinesisSourceTable.class,
                factory.createDynamicTableSource(context(options)));
    }

    @Test
    void itReadsWithOurUnboundedSourceAndTheTablesFormat() {
        KinesisSourceTable table = source(options("source.init.position", "TRIM_HORIZON"));

        SourceProvider provider =
                assertInstanceOf(SourceProvider.class, table.getScanRuntimeProvider(SCAN));
        KinesisStreamsSource<?> source =
                assertInstanceOf(KinesisStreamsSource.class, provider.createSource());
        assertEquals(Boundedness.CONTINUOUS_UNBOUNDED, source.getBoundedness());
        assertFalse(provider.isBounded());
        assertEquals(ChangelogMode.insertOnly(), table.getChangelogMode());
        assertInstanceOf(KinesisSourceTable.class, table.copy());
    }

    @Test
    void theSourceGetsTheAwsKeysAsTheConnectorReadsThemAndTheSourceOptions() {
        Configuration config = KinesisTableFactory.sourceConfig(options(
                "aws.credentials.provider", "BASIC",
                "aws.credentials.basic.accesskeyid", "id",
                "aws.credentials.basic.secretkey", "secret",
                "source.init.position", "TRIM_HORIZON",
                "source.shard.discovery.interval", "2 s",
                "sink.partitioner", "random"));

        Map<String, String> expected = new HashMap<>();
        expected.put("aws.region", "us-east-1");
        expected.put("aws.credentials.provider", "BASIC");
        expected.put("aws.credentials.provider.basic.accesskeyid", "id");
        expected.put("aws.credentials.provider.basic.secretkey", "secret");
        expected.put("source.init.position", "TRIM_HORIZON");
        expected.put("source.shard.discovery.interval", "2 s");
        assertEquals(expected, config.toMap());
    }

    @Test
    void itOffersTheMetadataOfTheLegacyTableAnd5x() {
        Map<String, DataType> expected = new LinkedHashMap<>();
        expected.put("timestamp", DataTypes.TIMESTAMP_WITH_LOCAL_TIME_ZONE(3).notNull());
        expected.put("sequence-number", DataTypes.VARCHAR(128).notNull());
        expected.put("shard-id", DataTypes.VARCHAR(128).notNull());
        assertEquals(expected, source(options()).listReadableMetadata());
    }

    @Test
    void eachRowOfARecordGetsTheMetadataColumnsInTheOrderAsked() throws Exception {
        Instant arrival = Instant.parse("2026-12-06T22:00:00.123Z");
        Record record = Record.builder()
                .data(SdkBytes.fromString("a\nb", StandardCharsets.UTF_8))
                .partitionKey("k")
                .sequenceNumber("4967")
                .approximateArrivalTimestamp(arrival)
                .build();
        TableRecordSchema schema = new TableRecordSchema(new TextFormat.Lines(),
                Arrays.asList(RowMetadata.SHARD_ID, RowMetadata.TIMESTAMP, RowMetadata.SEQUENCE_NUMBER),
                TypeInformation.of(RowData.class));
        List<RowData> rows = new ArrayList<>();

        schema.deserialize(record, ARN, "shardId-000000000001", collector(rows));

        assertEquals(2, rows.size());
        assertEquals("b", rows.get(1).getString(0).toString());
        for (RowData row : rows) {
            assertEquals(4, row.getArity());
            assertEquals("shardId-000000000001", row.getString(1).toString());
            assertEquals(TimestampData.fromInstant(arrival), row.getTimestamp(2, 3));
            assertEquals("4967", row.getString(3).toString());
        }
        rows.clear();
        new TableRecordSchema(new TextFormat.Lines(), Collections.emptyList(),
                TypeInformation.of(RowData.class)).deserialize(record, ARN, "s", collector(rows));
        assertEquals(1, rows.get(0).getArity());
        assertEquals("a", rows.get(0).getString(0).toString());
    }

    @Test
    void theSinkIsTheConnectorsWritingTheStreamNamedInTheArn() {
        factory.createDynamicTableSink(context(options(
                "source.init.position", "TRIM_HORIZON", "sink.partitioner", "random")));

        Map<String, String> expected = options("sink.partitioner", "random");
        expected.remove("stream.arn");
        expected.put("stream", "orders");
        assertEquals(expected, connector.sinkGiven);
    }

    @Test
    void legacyOptionsAndUnknownOnesAreRefusedNamingThem() {
        String message = assertThrows(ValidationException.class, () -> factory
                .createDynamicTableSource(context(options("scan.stream.initpos", "LATEST"))))
                .getMessage();
        assertTrue(message.contains("scan.stream.initpos"), message);
        assertThrows(ValidationException.class, () -> factory
                .createDynamicTableSource(context(options("stream", "orders"))));
    }

    @Test
    void invalidAwsKeysAreRefusedNamingTheTable() {
        String message = assertThrows(ValidationException.class, () -> factory
                .createDynamicTableSource(context(options(
                        "aws.credentials.provider", "NOPE",
                        "aws.credentials.basic.secretkey", "do-not-show")))).getMessage();
        assertTrue(message.startsWith("Invalid options of table catalog.db.orders: "), message);
        assertFalse(message.contains("do-not-show"), message);
    }

    private static Collector<RowData> collector(List<RowData> rows) {
        return new Collector<RowData>() {
            @Override
            public void collect(RowData row) {
                rows.add(row);
            }

            @Override
            public void close() {
            }
        };
    }
}
