package io.pyflinkkinesis.table;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kinesis.source.serialization.KinesisDeserializationSchema;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.data.utils.JoinedRowData;
import org.apache.flink.util.Collector;
import org.apache.flink.util.Preconditions;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The rows of a Kinesis table read by our source: the table format's rows of a record's data,
 * each followed by the metadata columns the query asked for, in their order ({@code timestamp}:
 * the approximate arrival time, {@code sequence-number}, {@code shard-id}).
 */
final class TableRecordSchema implements KinesisDeserializationSchema<RowData> {

    private static final long serialVersionUID = 1L;

    private final DeserializationSchema<RowData> format;
    private final List<RowMetadata> metadata;
    private final TypeInformation<RowData> producedType;

    /**
     * @param format the table format's decoder of the physical columns
     * @param metadata the metadata columns that follow them
     * @param producedType the type of physical plus metadata columns
     */
    TableRecordSchema(DeserializationSchema<RowData> format, List<RowMetadata> metadata,
            TypeInformation<RowData> producedType) {
        this.format = Preconditions.checkNotNull(format, "format");
        this.metadata = new ArrayList<>(metadata);
        this.producedType = Preconditions.checkNotNull(producedType, "producedType");
    }

    @Override
    public void open(DeserializationSchema.InitializationContext context) throws Exception {
        format.open(context);
    }

    @Override
    public void deserialize(Record record, String streamArn, String shardId,
            Collector<RowData> output) throws IOException {
        byte[] data = record.data().asByteArray();
        if (metadata.isEmpty()) {
            format.deserialize(data, output);
            return;
        }
        RowData columns = metadataRow(record, shardId);
        format.deserialize(data, new Collector<RowData>() {
            @Override
            public void collect(RowData row) {
                output.collect(new JoinedRowData(row.getRowKind(), row, columns));
            }

            @Override
            public void close() {
                output.close();
            }
        });
    }

    private RowData metadataRow(Record record, String shardId) {
        GenericRowData row = new GenericRowData(metadata.size());
        for (int i = 0; i < metadata.size(); i++) {
            row.setField(i, value(metadata.get(i), record, shardId));
        }
        return row;
    }

    private static Object value(RowMetadata column, Record record, String shardId) {
        switch (column) {
            case TIMESTAMP:
                return TimestampData.fromInstant(record.approximateArrivalTimestamp());
            case SEQUENCE_NUMBER:
                return StringData.fromString(record.sequenceNumber());
            case SHARD_ID:
                return StringData.fromString(shardId);
            default:
                throw new IllegalArgumentException("no metadata column " + column);
        }
    }

    @Override
    public TypeInformation<RowData> getProducedType() {
        return producedType;
    }
}
