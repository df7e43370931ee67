package io.pyflinkkinesis;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.fetcher.SingleThreadFetcherManager;
import org.apache.flink.connector.base.source.reader.synchronization.FutureCompletingBlockingQueue;
import org.apache.flink.connector.kinesis.source.KinesisStreamsSource;
import org.apache.flink.connector.kinesis.source.enumerator.KinesisStreamsSourceEnumeratorState;
import org.apache.flink.connector.kinesis.source.proxy.StreamProxy;
import org.apache.flink.connector.kinesis.source.reader.KinesisStreamsRecordEmitter;
import org.apache.flink.connector.kinesis.source.reader.KinesisStreamsSourceReader;
import org.apache.flink.connector.kinesis.source.serialization.KinesisDeserializationSchema;
import org.apache.flink.connector.kinesis.source.split.KinesisShardSplit;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.util.Preconditions;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * A {@link KinesisStreamsSource} that tells Flink the type it produces.
 *
 * <p>Connector 4.3.0's source is not {@link ResultTypeQueryable}, so {@code
 * env.fromSource(source, strategy, name)} fails on its type variable unless the caller passes
 * the type too. This delegates every call to the source and answers the type of its
 * deserialization schema, so PyFlink's {@code env.from_source(source, strategy, name)} works as
 * for any other source. Splits, enumerator state and their serializers are the source's own.
 *
 * <p>Its readers read shards with {@link PausableShardSplitReader}, so that watermark alignment
 * ({@code WatermarkStrategy.withWatermarkAlignment}) works: connector 4.3.0's own reader cannot
 * pause a shard and fails the job. The reader is put together as the connector's {@code
 * createReader} does (its deserialization schema opened, its stream proxy and configuration),
 * reaching the source's private parts by reflection, which this pinned connector version
 * allows; the fetcher manager also gets the source's configuration, which the connector's does
 * not pass on.
 */
public class TypedKinesisStreamsSource<T>
        implements Source<T, KinesisShardSplit, KinesisStreamsSourceEnumeratorState>,
                ResultTypeQueryable<T> {

    private static final long serialVersionUID = 1L;

    private final KinesisStreamsSource<T> source;
    private final TypeInformation<T> producedType;

    public TypedKinesisStreamsSource(
            KinesisStreamsSource<T> source, TypeInformation<T> producedType) {
        this.source = Preconditions.checkNotNull(source, "source");
        this.producedType = Preconditions.checkNotNull(producedType, "producedType");
    }

    @Override
    public TypeInformation<T> getProducedType() {
        return producedType;
    }

    @Override
    public Boundedness getBoundedness() {
        return source.getBoundedness();
    }

    @Override
    public SourceReader<T, KinesisShardSplit> createReader(SourceReaderContext readerContext)
            throws Exception {
        Configuration config = field("sourceConfig");
        KinesisDeserializationSchema<T> schema = field("deserializationSchema");
        call("setUpDeserializationSchema", SourceReaderContext.class, readerContext);
        FutureCompletingBlockingQueue<RecordsWithSplitIds<Record>> queue =
                new FutureCompletingBlockingQueue<>();
        SingleThreadFetcherManager<Record, KinesisShardSplit> fetchers =
                new SingleThreadFetcherManager<>(
                        queue,
                        () -> new PausableShardSplitReader(streamProxy(config)),
                        config);
        return new KinesisStreamsSourceReader<>(
                queue, fetchers, new KinesisStreamsRecordEmitter<>(schema), config,
                readerContext);
    }

    private StreamProxy streamProxy(Configuration config) {
        try {
            return call("createKinesisStreamProxy", Configuration.class, config);
        } catch (Exception e) {
            throw new IllegalStateException("could not create the source's Kinesis client", e);
        }
    }

    @SuppressWarnings("unchecked")
    private <V> V field(String name) throws ReflectiveOperationException {
        Field field = KinesisStreamsSource.class.getDeclaredField(name);
        field.setAccessible(true);
        return (V) field.get(source);
    }

    @SuppressWarnings("unchecked")
    private <V> V call(String name, Class<?> parameter, Object argument) throws Exception {
        Method method = KinesisStreamsSource.class.getDeclaredMethod(name, parameter);
        method.setAccessible(true);
        try {
            return (V) method.invoke(source, argument);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            throw cause instanceof Exception ? (Exception) cause : e;
        }
    }

    @Override
    public SplitEnumerator<KinesisShardSplit, KinesisStreamsSourceEnumeratorState>
            createEnumerator(SplitEnumeratorContext<KinesisShardSplit> enumContext)
                    throws Exception {
        return source.createEnumerator(enumContext);
    }

    @Override
    public SplitEnumerator<KinesisShardSplit, KinesisStreamsSourceEnumeratorState>
            restoreEnumerator(
                    SplitEnumeratorContext<KinesisShardSplit> enumContext,
                    KinesisStreamsSourceEnumeratorState checkpoint)
                    throws Exception {
        return source.restoreEnumerator(enumContext, checkpoint);
    }

    @Override
    public SimpleVersionedSerializer<KinesisShardSplit> getSplitSerializer() {
        return source.getSplitSerializer();
    }

    @Override
    public SimpleVersionedSerializer<KinesisStreamsSourceEnumeratorState>
            getEnumeratorCheckpointSerializer() {
        return source.getEnumeratorCheckpointSerializer();
    }
}
