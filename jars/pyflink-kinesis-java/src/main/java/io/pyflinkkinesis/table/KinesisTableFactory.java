package io.pyflinkkinesis.table;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kinesis.table.KinesisDynamicTableSinkFactory;
import org.apache.flink.streaming.connectors.kinesis.table.KinesisDynamicTableFactory;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.factories.DynamicTableFactory;
import org.apache.flink.table.factories.DynamicTableSinkFactory;
import org.apache.flink.table.factories.DynamicTableSourceFactory;
import org.apache.flink.table.factories.FactoryUtil;

import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The Kinesis SQL table of this package, {@code 'connector' = '}{@value #IDENTIFIER}{@code '}:
 * the connector's {@code kinesis} table (its source and sink factories do all the work, with
 * every option they take) plus options of ours, which it takes out before handing the table to
 * them:
 *
 * <ul>
 *   <li>{@code sink.keep-key-order}: the sink writes each partition key's records in the order
 *       it received them ({@link KeyOrderedDynamicSink}).
 * </ul>
 *
 * <p>{@code pyflink_kinesis} gives a {@code kinesis} table this identifier when the table uses
 * one of these options.
 */
public final class KinesisTableFactory implements DynamicTableSourceFactory, DynamicTableSinkFactory {

    public static final String IDENTIFIER = "pyflink-kinesis";

    public static final ConfigOption<Boolean> SINK_KEEP_KEY_ORDER =
            ConfigOptions.key("sink.keep-key-order")
                    .booleanType()
                    .defaultValue(false)
                    .withDescription("Write each partition key's records in the order the sink "
                            + "received them, whatever Kinesis rejects and however many requests "
                            + "are in flight.");

    /** The options this factory reads itself; the connector's factories never see them. */
    static final Set<ConfigOption<?>> OWN_OPTIONS =
            Collections.singleton(SINK_KEEP_KEY_ORDER);

    private final DynamicTableSourceFactory sources;
    private final DynamicTableSinkFactory sinks;

    public KinesisTableFactory() {
        this(new KinesisDynamicTableFactory(), new KinesisDynamicTableSinkFactory());
    }

    KinesisTableFactory(DynamicTableSourceFactory sources, DynamicTableSinkFactory sinks) {
        this.sources = sources;
        this.sinks = sinks;
    }

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        Set<ConfigOption<?>> required = new LinkedHashSet<>(sources.requiredOptions());
        required.addAll(sinks.requiredOptions());
        return required;
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        Set<ConfigOption<?>> optional = new LinkedHashSet<>(sources.optionalOptions());
        optional.addAll(sinks.optionalOptions());
        optional.addAll(OWN_OPTIONS);
        return optional;
    }

    @Override
    public DynamicTableSource createDynamicTableSource(Context context) {
        ownOptions(context);
        return sources.createDynamicTableSource(withoutOwnOptions(context));
    }

    @Override
    public DynamicTableSink createDynamicTableSink(Context context) {
        Configuration own = ownOptions(context);
        DynamicTableSink sink = sinks.createDynamicTableSink(withoutOwnOptions(context));
        return own.get(SINK_KEEP_KEY_ORDER) ? new KeyOrderedDynamicSink(sink) : sink;
    }

    /**
     * The table's options of ours, checked.
     *
     * @throws ValidationException naming the option whose value cannot be read
     */
    private static Configuration ownOptions(Context context) {
        Map<String, String> options = context.getCatalogTable().getOptions();
        Configuration own = new Configuration();
        for (ConfigOption<?> option : OWN_OPTIONS) {
            if (options.containsKey(option.key())) {
                own.setString(option.key(), options.get(option.key()));
            }
            try {
                own.get(option);
            } catch (IllegalArgumentException e) {
                throw new ValidationException("Invalid value for option '" + option.key()
                        + "' of table " + context.getObjectIdentifier().asSummaryString() + ": "
                        + e.getMessage(), e);
            }
        }
        return own;
    }

    /** {@code context} with a table that has none of our options. */
    private static Context withoutOwnOptions(DynamicTableFactory.Context context) {
        Map<String, String> options = new HashMap<>(context.getCatalogTable().getOptions());
        Set<String> own = new HashSet<>();
        for (ConfigOption<?> option : OWN_OPTIONS) {
            own.add(option.key());
        }
        options.keySet().removeAll(own);
        return new FactoryUtil.DefaultDynamicTableContext(context.getObjectIdentifier(),
                context.getCatalogTable().copy(options), context.getEnrichmentOptions(),
                context.getConfiguration(), context.getClassLoader(), context.isTemporary());
    }
}
