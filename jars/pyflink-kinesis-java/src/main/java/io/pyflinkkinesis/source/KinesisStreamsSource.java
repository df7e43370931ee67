package io.pyflinkkinesis.source;

import io.pyflinkkinesis.source.config.SourceOptions;
import io.pyflinkkinesis.source.enumerator.CheckpointingProbe;
import io.pyflinkkinesis.source.enumerator.EnumeratorState;
import io.pyflinkkinesis.source.enumerator.EnumeratorStateSerializer;
import io.pyflinkkinesis.source.enumerator.ShardEnumerator;
import io.pyflinkkinesis.source.reader.PausableShardSplitReader;
import io.pyflinkkinesis.source.reader.ShardRecordEmitter;
import io.pyflinkkinesis.source.reader.ShardSourceReader;
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
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.util.Preconditions;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.time.Instant;

/**
 * Our FLIP-27 Kinesis source: reads one stream, a child shard only after its parents.
 *
 * <p>It replaces connector 4.3.0's enumerator, splits, state and reader with our own ({@link
 * ShardEnumerator}, {@link ShardSplit}, {@link ShardSourceReader}, {@link
 * PausableShardSplitReader}) and keeps the connector's Kinesis client ({@link StreamProxy}), its
 * {@link KinesisDeserializationSchema}, its options and its {@link KinesisShardAssigner}. The
 * client is made, and the schema opened, by a connector {@code KinesisStreamsSource} built from
 * the same settings, through two of its private methods (this pinned connector version has them;
 * a test pins them). It tells Flink the type it produces ({@link ResultTypeQueryable}), which
 * the connector's source does not, so {@code env.from_source(source, strategy, name)} works.
 */
public class KinesisStreamsSource<T>
        implements Source<T, ShardSplit, EnumeratorState>, ResultTypeQueryable<T> {

    private static final long serialVersionUID = 1L;

    private final String streamArn;
    private final Configuration config;
    private final KinesisDeserializationSchema<T> schema;
    private final KinesisShardAssigner assigner;
    private final TypeInformation<T> producedType;
    /** The connector's source of the same settings: makes Kinesis clients, opens the schema. */
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
        return new ShardSourceReader<>(
                () -> new PausableShardSplitReader(
                        streamProxy(), config, readerContext.metricGroup()),
                new ShardRecordEmitter<>(schema), config, readerContext);
    }

    @Override
    public SplitEnumerator<ShardSplit, EnumeratorState> createEnumerator(
            SplitEnumeratorContext<ShardSplit> context) {
        return restoreEnumerator(context, EnumeratorState.initial());
    }

    @Override
    public SplitEnumerator<ShardSplit, EnumeratorState> restoreEnumerator(
            SplitEnumeratorContext<ShardSplit> context, EnumeratorState state) {
        return new ShardEnumerator(context, streamArn, config, streamProxy(), assigner,
                () -> CheckpointingProbe.checkpointMode(context), Instant::now, state);
    }

    @Override
    public SimpleVersionedSerializer<ShardSplit> getSplitSerializer() {
        return ShardSplitSerializer.INSTANCE;
    }

    @Override
    public SimpleVersionedSerializer<EnumeratorState> getEnumeratorCheckpointSerializer() {
        return new EnumeratorStateSerializer();
    }

    /** A Kinesis client as the connector makes it (region, endpoint, credentials, retries). */
    StreamProxy streamProxy() {
        try {
            return callClients("createKinesisStreamProxy", Configuration.class, config);
        } catch (Exception e) {
            throw new IllegalStateException("could not create the source's Kinesis client", e);
        }
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
