package io.pyflinkkinesis.table;

import io.pyflinkkinesis.source.KinesisStreamsSource;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.format.DecodingFormat;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.connector.source.ScanTableSource;
import org.apache.flink.table.connector.source.SourceProvider;
import org.apache.flink.table.connector.source.abilities.SupportsReadingMetadata;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.DataType;
import org.apache.flink.util.Preconditions;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Kinesis table that reads with our {@link KinesisStreamsSource} (connector 5.x's {@code
 * kinesis} table, {@code 'stream.arn'} and {@code source.*} options): unbounded, its rows made by
 * the table's format, its metadata columns those of the legacy table and of 5.x ({@code
 * timestamp}, {@code sequence-number}, {@code shard-id}).
 */
final class KinesisSourceTable implements ScanTableSource, SupportsReadingMetadata {

    private static final Map<String, DataType> READABLE_METADATA = new LinkedHashMap<>();

    static {
        for (RowMetadata column : RowMetadata.values()) {
            READABLE_METADATA.put(column.key, column.type);
        }
    }

    private final DataType physicalType;
    private final String streamArn;
    private final Configuration config;
    private final DecodingFormat<DeserializationSchema<RowData>> format;
    private DataType producedType;
    private List<RowMetadata> metadata;

    /**
     * @param physicalType the table's physical columns, which the format decodes
     * @param config the source's options and AWS keys, as {@link KinesisStreamsSource} takes them
     */
    KinesisSourceTable(DataType physicalType, String streamArn, Configuration config,
            DecodingFormat<DeserializationSchema<RowData>> format) {
        this(physicalType, streamArn, config, format, physicalType, Collections.emptyList());
    }

    private KinesisSourceTable(DataType physicalType, String streamArn, Configuration config,
            DecodingFormat<DeserializationSchema<RowData>> format, DataType producedType,
            List<RowMetadata> metadata) {
        this.physicalType = Preconditions.checkNotNull(physicalType, "physicalType");
        this.streamArn = Preconditions.checkNotNull(streamArn, "streamArn");
        this.config = Preconditions.checkNotNull(config, "config");
        this.format = Preconditions.checkNotNull(format, "format");
        this.producedType = producedType;
        this.metadata = metadata;
    }

    @Override
    public ChangelogMode getChangelogMode() {
        return format.getChangelogMode();
    }

    @Override
    public ScanRuntimeProvider getScanRuntimeProvider(ScanContext context) {
        TypeInformation<RowData> type = context.createTypeInformation(producedType);
        TableRecordSchema schema = new TableRecordSchema(
                format.createRuntimeDecoder(context, physicalType), metadata, type);
        return SourceProvider.of(
                new KinesisStreamsSource<>(streamArn, config, schema, null, type));
    }

    @Override
    public Map<String, DataType> listReadableMetadata() {
        return Collections.unmodifiableMap(READABLE_METADATA);
    }

    @Override
    public void applyReadableMetadata(List<String> metadataKeys, DataType producedDataType) {
        List<RowMetadata> columns = new ArrayList<>();
        for (String key : metadataKeys) {
            columns.add(RowMetadata.of(key));
        }
        this.metadata = columns;
        this.producedType = producedDataType;
    }

    @Override
    public DynamicTableSource copy() {
        return new KinesisSourceTable(
                physicalType, streamArn, config, format, producedType, metadata);
    }

    @Override
    public String asSummaryString() {
        return "Kinesis (KinesisStreamsSource)";
    }
}
