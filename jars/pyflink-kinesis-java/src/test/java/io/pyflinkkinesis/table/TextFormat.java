package io.pyflinkkinesis.table;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.format.DecodingFormat;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.factories.DeserializationFormatFactory;
import org.apache.flink.table.factories.DynamicTableFactory;
import org.apache.flink.table.types.DataType;
import org.apache.flink.util.Collector;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Set;

/**
 * A test format, {@code 'format' = 'text'}: each record's data as lines of UTF-8, one row of one
 * STRING column per line (a record may make several rows), insert-only.
 */
public final class TextFormat implements DeserializationFormatFactory {

    /** The decoder of {@link TextFormat}. */
    static final class Lines implements DeserializationSchema<RowData> {
        @Override
        public RowData deserialize(byte[] message) {
            throw new UnsupportedOperationException("the source passes a collector");
        }

        @Override
        public void deserialize(byte[] message, Collector<RowData> out) {
            for (String line : new String(message, StandardCharsets.UTF_8).split("\n")) {
                out.collect(GenericRowData.of(StringData.fromString(line)));
            }
        }

        @Override
        public boolean isEndOfStream(RowData nextElement) {
            return false;
        }

        @Override
        public TypeInformation<RowData> getProducedType() {
            return TypeInformation.of(RowData.class);
        }
    }

    @Override
    public DecodingFormat<DeserializationSchema<RowData>> createDecodingFormat(
            DynamicTableFactory.Context context, ReadableConfig formatOptions) {
        return new DecodingFormat<DeserializationSchema<RowData>>() {
            @Override
            public DeserializationSchema<RowData> createRuntimeDecoder(
                    DynamicTableSource.Context context, DataType physicalDataType) {
                return new Lines();
            }

            @Override
            public ChangelogMode getChangelogMode() {
                return ChangelogMode.insertOnly();
            }
        };
    }

    @Override
    public String factoryIdentifier() {
        return "text";
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
