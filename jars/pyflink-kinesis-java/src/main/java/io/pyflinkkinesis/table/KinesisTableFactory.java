package io.pyflinkkinesis.table;

import io.pyflinkkinesis.SourceRecordWithMetadata;
import io.pyflinkkinesis.exactlyonce.CommittingKinesisStreamsSinkBuilder;
import io.pyflinkkinesis.source.config.SourceOptions;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ConfigurationUtils;
import org.apache.flink.connector.aws.table.util.AWSOptionUtils;
import org.apache.flink.connector.kinesis.table.KinesisConnectorOptions;
import org.apache.flink.connector.kinesis.table.KinesisDynamicTableSinkFactory;
import org.apache.flink.streaming.connectors.kinesis.table.KinesisDynamicTableFactory;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.connector.format.DecodingFormat;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.factories.DynamicTableFactory;
import org.apache.flink.table.factories.DynamicTableSinkFactory;
import org.apache.flink.table.factories.DynamicTableSourceFactory;
import org.apache.flink.table.factories.DeserializationFormatFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.data.RowData;

import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The Kinesis SQL table of this package, {@code 'connector' = '}{@value #IDENTIFIER}{@code '},
 * in two families told apart by how the table names its stream:
 *
 * <ul>
 *   <li>{@code 'stream'} (a name): connector 4.3.0's {@code kinesis} table, its source ({@code
 *       FlinkKinesisConsumer}, {@code scan.*} options) and its sink factories doing all the work,
 *       with every option they take.
 *   <li>{@code 'stream.arn'}: connector 5.x's {@code kinesis} table. Our {@link
 *       KinesisSourceTable} reads it with our FLIP-27 source ({@code source.*} options, {@code
 *       aws.*} keys, the table's format); the connector's sink factory writes it, given the
 *       stream's name from the ARN and none of the {@code source.*} options.
 * </ul>
 *
 * <p>Both take options of ours, which it takes out before handing a table to the connector:
 *
 * <ul>
 *   <li>{@code sink.keep-key-order}: the sink writes each partition key's records in the order
 *       it received them ({@link KeyOrderedDynamicSink}).
 *   <li>{@code sink.delivery-guarantee = 'exactly-once'} (with {@code
 *       sink.exactly-once.max-buffered-bytes} and {@code sink.exactly-once.commit-timeout}): the
 *       sink writes each checkpoint's rows once it completes, with ids a de-duplicating source
 *       drops copies by ({@link CommittingDynamicSink}).
 * </ul>
 *
 * <p>{@code pyflink_kinesis} gives a {@code kinesis} table this identifier when the table has
 * {@code 'stream.arn'} or one of our options.
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

    public static final String AT_LEAST_ONCE = "at-least-once";
    public static final String EXACTLY_ONCE = "exactly-once";

    public static final ConfigOption<String> SINK_DELIVERY_GUARANTEE =
            ConfigOptions.key("sink.delivery-guarantee")
                    .stringType()
                    .defaultValue(AT_LEAST_ONCE)
                    .withDescription("at-least-once (the connector's sink) or exactly-once: write "
                            + "each checkpoint's rows once it completes, each with an id a "
                            + "de-duplicating source drops copies by; any letter case.");

    public static final ConfigOption<Long> SINK_EXACTLY_ONCE_MAX_BUFFERED_BYTES =
            ConfigOptions.key("sink.exactly-once.max-buffered-bytes")
                    .longType()
                    .defaultValue(CommittingKinesisStreamsSinkBuilder.DEFAULT_MAX_BUFFERED_BYTES)
                    .withDescription("Most data and partition key bytes one sink subtask holds "
                            + "between two checkpoints; past half of it the writer slows its "
                            + "input down to stay under it.");

    public static final ConfigOption<Duration> SINK_EXACTLY_ONCE_COMMIT_TIMEOUT =
            ConfigOptions.key("sink.exactly-once.commit-timeout")
                    .durationType()
                    .defaultValue(Duration.ofMillis(
                            CommittingKinesisStreamsSinkBuilder.DEFAULT_COMMIT_TIMEOUT_MS))
                    .withDescription("How long a commit retries throttled and failed writes; "
                            + "then the job restores its last checkpoint and writes them again.");

    /** Connector 5.x's name of the option (KinesisConnectorOptions.STREAM_ARN). */
    public static final ConfigOption<String> STREAM_ARN =
            ConfigOptions.key("stream.arn")
                    .stringType()
                    .noDefaultValue()
                    .withDescription("ARN of the Kinesis stream; the table reads it with "
                            + "KinesisStreamsSource, taking source.* options.");

    /** The options this factory reads itself; the connector's factories never see them. */
    static final Set<ConfigOption<?>> OWN_OPTIONS = new LinkedHashSet<>(Arrays.asList(
            SINK_KEEP_KEY_ORDER, SINK_DELIVERY_GUARANTEE, SINK_EXACTLY_ONCE_MAX_BUFFERED_BYTES,
            SINK_EXACTLY_ONCE_COMMIT_TIMEOUT));

    /** The option prefix of our source ({@link SourceOptions}), as connector 5.x's table. */
    static final String SOURCE_PREFIX = "source.";

    /** What a {@code 'stream.arn'} table's source checks its options against. */
    private static final DynamicTableFactory STREAM_ARN_TABLE = new StreamArnTable();

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
        optional.add(STREAM_ARN);
        return optional;
    }

    @Override
    public DynamicTableSource createDynamicTableSource(Context context) {
        ownOptions(context);
        if (hasStreamArn(context)) {
            return sourceTable(context);
        }
        return sources.createDynamicTableSource(withoutOwnOptions(context));
    }

    @Override
    public DynamicTableSink createDynamicTableSink(Context context) {
        Configuration own = ownOptions(context);
        Context connectorContext = withoutOwnOptions(context);
        if (hasStreamArn(context)) {
            connectorContext = withStreamName(connectorContext);
        }
        DynamicTableSink sink = sinks.createDynamicTableSink(connectorContext);
        if (exactlyOnce(own, context)) {
            return new CommittingDynamicSink(sink, own.get(SINK_EXACTLY_ONCE_MAX_BUFFERED_BYTES),
                    own.get(SINK_EXACTLY_ONCE_COMMIT_TIMEOUT));
        }
        return own.get(SINK_KEEP_KEY_ORDER) ? new KeyOrderedDynamicSink(sink) : sink;
    }

    /**
     * Whether the table's sink writes exactly once.
     *
     * @throws ValidationException for another guarantee, or key order asked of it
     */
    private static boolean exactlyOnce(Configuration own, Context context) {
        String guarantee = own.get(SINK_DELIVERY_GUARANTEE);
        String table = context.getObjectIdentifier().asSummaryString();
        if (!guarantee.equalsIgnoreCase(AT_LEAST_ONCE)
                && !guarantee.equalsIgnoreCase(EXACTLY_ONCE)) {
            throw new ValidationException("Invalid value for option '"
                    + SINK_DELIVERY_GUARANTEE.key() + "' of table " + table + ": '" + guarantee
                    + "' is not one of " + AT_LEAST_ONCE + ", " + EXACTLY_ONCE);
        }
        boolean exactlyOnce = guarantee.equalsIgnoreCase(EXACTLY_ONCE);
        if (exactlyOnce && own.get(SINK_KEEP_KEY_ORDER)) {
            throw new ValidationException("Table " + table + " sets '" + SINK_KEEP_KEY_ORDER.key()
                    + "' with '" + SINK_DELIVERY_GUARANTEE.key() + "' = '" + EXACTLY_ONCE
                    + "': the exactly-once sink writes in order per shard by itself; remove '"
                    + SINK_KEEP_KEY_ORDER.key() + "'");
        }
        return exactlyOnce;
    }

    private static boolean hasStreamArn(Context context) {
        return context.getCatalogTable().getOptions().containsKey(STREAM_ARN.key());
    }

    /**
     * The source of a {@code 'stream.arn'} table, checked as connector 5.x checks it: its format,
     * the stream ARN and region required, {@code aws.*} keys by the connector's AWS checks, every
     * other option unknown except {@code source.*} (checked by our source) and {@code sink.*}
     * (checked when the table is written).
     *
     * @throws ValidationException naming what is wrong
     */
    private static DynamicTableSource sourceTable(Context context) {
        FactoryUtil.TableFactoryHelper helper =
                FactoryUtil.createTableFactoryHelper(STREAM_ARN_TABLE, context);
        DecodingFormat<DeserializationSchema<RowData>> format =
                helper.discoverDecodingFormat(DeserializationFormatFactory.class, FactoryUtil.FORMAT);
        helper.validateExcept(AWSOptionUtils.AWS_PROPERTIES_PREFIX, SOURCE_PREFIX, "sink.");
        Configuration config;
        try {
            config = sourceConfig(context.getCatalogTable().getOptions());
        } catch (IllegalArgumentException e) {
            throw new ValidationException("Invalid options of table "
                    + context.getObjectIdentifier().asSummaryString() + ": " + e.getMessage(), e);
        }
        return new KinesisSourceTable(context.getPhysicalRowDataType(),
                helper.getOptions().get(STREAM_ARN), config, format);
    }

    /**
     * What our source is given of a table's {@code options}: the {@code aws.*} keys as the
     * connector reads them ({@code aws.credentials.X} becomes {@code aws.credentials.provider.X})
     * and the {@code source.*} options as they are.
     *
     * @throws IllegalArgumentException when the AWS keys or the source options are invalid
     */
    static Configuration sourceConfig(Map<String, String> options) {
        Configuration config = ConfigurationUtils.createConfiguration(
                new AWSOptionUtils(options).getValidatedConfigurations());
        for (Map.Entry<String, String> option : options.entrySet()) {
            if (option.getKey().startsWith(SOURCE_PREFIX)) {
                config.setString(option.getKey(), option.getValue());
            }
        }
        SourceOptions.normalize(config);
        return config;
    }

    /**
     * {@code context} for the connector's sink factory: the stream named by {@code 'stream'} (the
     * name in the ARN; the sink's client writes in {@code aws.region}), no {@code source.*}
     * options.
     */
    private static Context withStreamName(Context context) {
        Map<String, String> options = new HashMap<>(context.getCatalogTable().getOptions());
        String arn = options.remove(STREAM_ARN.key());
        options.keySet().removeIf(key -> key.startsWith(SOURCE_PREFIX));
        options.put(KinesisConnectorOptions.STREAM.key(), SourceRecordWithMetadata.streamName(arn));
        return withOptions(context, options);
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
    private static Context withoutOwnOptions(Context context) {
        Map<String, String> options = new HashMap<>(context.getCatalogTable().getOptions());
        Set<String> own = new HashSet<>();
        for (ConfigOption<?> option : OWN_OPTIONS) {
            own.add(option.key());
        }
        options.keySet().removeAll(own);
        return withOptions(context, options);
    }

    /** {@code context} with a table of {@code options}. */
    private static Context withOptions(Context context, Map<String, String> options) {
        return new FactoryUtil.DefaultDynamicTableContext(context.getObjectIdentifier(),
                context.getCatalogTable().copy(options), context.getEnrichmentOptions(),
                context.getConfiguration(), context.getClassLoader(), context.isTemporary());
    }

    /**
     * The options of a {@code 'stream.arn'} table's source as connector 5.x's factory declares
     * them: the ARN, the format and the region required; no other option of its own.
     */
    private static final class StreamArnTable implements DynamicTableFactory {

        @Override
        public String factoryIdentifier() {
            return IDENTIFIER;
        }

        @Override
        public Set<ConfigOption<?>> requiredOptions() {
            return new LinkedHashSet<>(Arrays.asList(
                    STREAM_ARN, FactoryUtil.FORMAT, KinesisConnectorOptions.AWS_REGION));
        }

        @Override
        public Set<ConfigOption<?>> optionalOptions() {
            return Collections.emptySet();
        }
    }
}
