package io.pyflinkkinesis;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.connector.kinesis.source.KinesisStreamsSource;
import org.apache.flink.connector.kinesis.source.enumerator.KinesisStreamsSourceEnumeratorState;
import org.apache.flink.connector.kinesis.source.split.KinesisShardSplit;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.util.Preconditions;

/**
 * A {@link KinesisStreamsSource} that tells Flink the type it produces.
 *
 * <p>Connector 4.3.0's source is not {@link ResultTypeQueryable}, so {@code
 * env.fromSource(source, strategy, name)} fails on its type variable unless the caller passes
 * the type too. This delegates every call to the source and answers the type of its
 * deserialization schema, so PyFlink's {@code env.from_source(source, strategy, name)} works as
 * for any other source. Splits, enumerator state and their serializers are the source's own.
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
        return source.createReader(readerContext);
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
