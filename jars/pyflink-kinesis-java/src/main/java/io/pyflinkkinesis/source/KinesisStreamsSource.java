package io.pyflinkkinesis.source;

import io.pyflinkkinesis.source.config.SourceOptions;
import io.pyflinkkinesis.source.efo.ConsumerLifecycleEnumerator;
import io.pyflinkkinesis.source.efo.StreamConsumerRegistrar;
import io.pyflinkkinesis.source.enumerator.CheckpointingProbe;
import io.pyflinkkinesis.source.enumerator.EnumeratorState;
import io.pyflinkkinesis.source.enumerator.EnumeratorStateSerializer;
import io.pyflinkkinesis.source.enumerator.ShardEnumerator;
import io.pyflinkkinesis.source.proxy.KinesisClients;
import io.pyflinkkinesis.source.reader.DeaggregatingSplitReader;
import io.pyflinkkinesis.source.reader.PausableShardSplitReader;
import io.pyflinkkinesis.source.reader.ShardRecordEmitter;
import io.pyflinkkinesis.source.reader.ShardSourceReader;
import io.pyflinkkinesis.source.reader.fanout.FanOutShardSplitReader;
import io.pyflinkkinesis.source.split.ShardSplit;
import io.pyflinkkinesis.source.split.ShardSplitSerializer;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kinesis.source.enumerator.KinesisShardAssigner;
import org.apache.flink.connector.kinesis.source.enumerator.assigner.ShardAssignerFactory;
import org.apache.flink.connector.kinesis.source.proxy.StreamProxy;
import org.apache.flink.connector.kinesis.source.serialization.KinesisDeserializationSchema;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.util.Preconditions;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Supplier;

/**
 * Our FLIP-27 Kinesis source: reads one stream, a child shard only after its parents, and takes
 * KPL aggregates apart ({@link DeaggregatingSplitReader}).
 *
 * <p>It replaces connector 4.3.0's enumerator, splits, state and reader with our own ({@link
 * ShardEnumerator}, {@link ShardSplit}, {@link ShardSourceReader}, {@link
 * PausableShardSplitReader}) and keeps the connector's Kinesis client ({@link StreamProxy}, made
 * by {@link KinesisClients} with 5.x's retry options), its {@link KinesisDeserializationSchema},
 * its options and its {@link KinesisShardAssigner}. The schema is opened by a connector {@code
 * KinesisStreamsSource} built from the same settings, through its private method (this pinned
 * connector version has it; a test pins it). It tells Flink the type it produces ({@link ResultTypeQueryable}), which
 * the connector's source does not, so {@code env.from_source(source, strategy, name)} works.
 *
 * <p>{@code source.deduplication = true} drops the duplicates a committing sink's re-sent
 * committables leave in the stream ({@link ShardRecordEmitter}, {@link
 * io.pyflinkkinesis.source.split.ShardMarks}), counted in the {@value
 * ShardRecordEmitter#DUPLICATES_DROPPED} metric of each source subtask.
 *
 * <p>{@code source.reader.type = EFO} reads with enhanced fan-out ({@link
 * FanOutShardSplitReader}), the EFO consumer registered and deregistered as {@code
 * source.efo.lifecycle} says ({@link ConsumerLifecycleEnumerator}).
 */
public class KinesisStreamsSource<T>
        implements Source<T, ShardSplit, EnumeratorState>, ResultTypeQueryable<T> {

    private static final long serialVersionUID = 1L;

    private final String streamArn;
    private final Configuration config;
    private final KinesisDeserializationSchema<T> schema;
    private final KinesisShardAssigner assigner;
    private final TypeInformation<T> producedType;
    private final boolean deduplicate;
    /** The connector's source of the same settings: opens the schema. */
    private final org.apache.flink.connector.kinesis.source.KinesisStreamsSource<T> clients;

    /**
     * A source of {@code streamArn} with its options ({@link SourceOptions}: 5.x or 4.3.0 names)
     * and AWS keys in {@code config};
     * {@code assigner} null means {@code ShardAssignerFactory.uniformShardAssigner()}.
     */
    public KinesisStreamsSource(
            String streamArn,
            Configuration config,
            KinesisDeserializationSchema<T> schema,
            KinesisShardAssigner assigner,
            TypeInformation<T> producedType) {
        this.streamArn = Preconditions.checkNotNull(streamArn, "streamArn");
        this.config = SourceOptions.normalize(Preconditions.checkNotNull(config, "config"));
        this.schema = Preconditions.checkNotNull(schema, "schema");
        this.assigner = assigner == null ? ShardAssignerFactory.uniformShardAssigner() : assigner;
        this.producedType = Preconditions.checkNotNull(producedType, "producedType");
        this.deduplicate = this.config.get(SourceOptions.DEDUPLICATION);
        this.clients = org.apache.flink.connector.kinesis.source.KinesisStreamsSource.<T>builder()
                .setStreamArn(streamArn)
                .setSourceConfig(this.config)
                .setDeserializationSchema(schema)
                .setKinesisShardAssigner(this.assigner)
                .build();
    }

    @Override
    public TypeInformation<T> getProducedType() {
        return producedType;
    }

    @Override
    public Boundedness getBoundedness() {
        return Boundedness.CONTINUOUS_UNBOUNDED;
    }

    @Override
    public SourceReader<T, ShardSplit> createReader(SourceReaderContext readerContext)
            throws Exception {
        callClients("setUpDeserializationSchema", SourceReaderContext.class, readerContext);
        Supplier<SplitReader<Record, ShardSplit>> shardReaders =
                splitReaders(readerContext.metricGroup());
        return new ShardSourceReader<>(() -> new DeaggregatingSplitReader(shardReaders.get()),
                new ShardRecordEmitter<>(schema, deduplicate
                        ? readerContext.metricGroup().counter(
                                ShardRecordEmitter.DUPLICATES_DROPPED)
                        : null),
                config, readerContext);
    }

    /** The shard readers of {@code source.reader.type}: polling, or EFO subscriptions. */
    Supplier<SplitReader<Record, ShardSplit>> splitReaders(MetricGroup metrics) {
        if (config.get(SourceOptions.READER_TYPE) == SourceOptions.ReaderType.POLLING) {
            return () -> new PausableShardSplitReader(streamProxy(), config, metrics);
        }
        StreamConsumerRegistrar.consumerName(config);
        Duration timeout = config.get(SourceOptions.EFO_CONSUMER_SUBSCRIPTION_TIMEOUT);
        boolean checkEnds = !KinesisClients.talksToAws(config);
        return () -> {
            KinesisAsyncClient kinesis = KinesisClients.asyncClient(config);
            return new FanOutShardSplitReader(kinesis,
                    new StreamConsumerRegistrar(kinesis, streamArn, config), metrics, timeout,
                    checkEnds);
        };
    }

    @Override
    public SplitEnumerator<ShardSplit, EnumeratorState> createEnumerator(
            SplitEnumeratorContext<ShardSplit> context) {
        return restoreEnumerator(context, EnumeratorState.initial());
    }

    @Override
    public SplitEnumerator<ShardSplit, EnumeratorState> restoreEnumerator(
            SplitEnumeratorContext<ShardSplit> context, EnumeratorState state) {
        ShardEnumerator shards = new ShardEnumerator(context, streamArn, config, streamProxy(),
                assigner, () -> CheckpointingProbe.checkpointMode(context), Instant::now, state);
        if (config.get(SourceOptions.READER_TYPE) == SourceOptions.ReaderType.POLLING) {
            return shards;
        }
        KinesisAsyncClient kinesis = KinesisClients.asyncClient(config);
        return new ConsumerLifecycleEnumerator(shards,
                new StreamConsumerRegistrar(kinesis, streamArn, config), config, kinesis);
    }

    @Override
    public SimpleVersionedSerializer<ShardSplit> getSplitSerializer() {
        return ShardSplitSerializer.INSTANCE;
    }

    @Override
    public SimpleVersionedSerializer<EnumeratorState> getEnumeratorCheckpointSerializer() {
        return new EnumeratorStateSerializer();
    }

    /** A Kinesis client (region, endpoint, credentials, retries of {@code retry-strategy.*}). */
    StreamProxy streamProxy() {
        return KinesisClients.streamProxy(config);
    }

    @SuppressWarnings("unchecked")
    private <V> V callClients(String name, Class<?> parameter, Object argument) throws Exception {
        Method method = org.apache.flink.connector.kinesis.source.KinesisStreamsSource.class
                .getDeclaredMethod(name, parameter);
        method.setAccessible(true);
        try {
            return (V) method.invoke(clients, argument);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            throw cause instanceof Exception ? (Exception) cause : e;
        }
    }
}
