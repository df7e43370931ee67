package io.pyflinkkinesis.sink;

import io.pyflinkkinesis.SubtaskAware;
import io.pyflinkkinesis.aggregation.Utf8KeyStateSerializer;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.StatefulSink;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.connector.base.sink.writer.BufferedRequestState;
import org.apache.flink.connector.base.sink.writer.ElementConverter;
import org.apache.flink.connector.kinesis.sink.KinesisStreamsSink;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;

import java.io.IOException;
import java.util.Collection;
import java.util.Collections;
import java.util.function.Supplier;

/**
 * The connector's {@code KinesisStreamsSink}, its records written in per-key order: for every
 * partition key, Kinesis stores the records in the order the sink received them, under
 * throttling, partial failures, failed requests and any number of requests in flight (see
 * {@link KeyOrderedWriter}). Made from a connector sink with {@link #of}, which it takes every
 * setting from (stream, client properties, schema, partition key generator, batching and
 * buffering); the writer state is the connector's, in its format. Before each writer starts, it
 * tells the partition key generator its subtask ({@link SubtaskAware#tellSubtask}), which the
 * connector never does: {@code fixed()} gives one key per subtask here too.
 */
@SuppressWarnings("deprecation")
public final class KeyOrderedKinesisStreamsSink<InputT>
        implements StatefulSink<InputT, BufferedRequestState<PutRecordsRequestEntry>> {

    private static final long serialVersionUID = 1L;

    private final ElementConverter<InputT, PutRecordsRequestEntry> converter;
    private final PutRecordsSettings settings;

    KeyOrderedKinesisStreamsSink(ElementConverter<InputT, PutRecordsRequestEntry> converter,
            PutRecordsSettings settings) {
        this.converter = converter;
        this.settings = settings;
    }

    /** {@code sink}, writing in per-key order. */
    public static <T> KeyOrderedKinesisStreamsSink<T> of(KinesisStreamsSink<T> sink) {
        return new KeyOrderedKinesisStreamsSink<>(PutRecordsSettings.elementConverter(sink),
                PutRecordsSettings.of(sink));
    }

    /** The settings taken from the connector's sink. */
    public PutRecordsSettings getSettings() {
        return settings;
    }

    @Override
    public KeyOrderedWriter<InputT> createWriter(Sink.InitContext context) {
        return restoreWriter(context, Collections.emptyList());
    }

    @Override
    public KeyOrderedWriter<InputT> createWriter(WriterInitContext context) throws IOException {
        return createWriter(new InitContextWrapper(context));
    }

    @Override
    public KeyOrderedWriter<InputT> restoreWriter(Sink.InitContext context,
            Collection<BufferedRequestState<PutRecordsRequestEntry>> recoveredState) {
        return restoreWriter(context, recoveredState, () -> new SdkStreamClient(settings));
    }

    @Override
    public KeyOrderedWriter<InputT> restoreWriter(WriterInitContext context,
            Collection<BufferedRequestState<PutRecordsRequestEntry>> recoveredState)
            throws IOException {
        return restoreWriter(new InitContextWrapper(context), recoveredState);
    }

    /**
     * A writer on the stream {@code streams} gives, each record in the order of its partition
     * key; closes the stream if the writer cannot start.
     */
    KeyOrderedWriter<InputT> restoreWriter(Sink.InitContext context,
            Collection<BufferedRequestState<PutRecordsRequestEntry>> recoveredState,
            Supplier<StreamClient> streams) {
        SubtaskAware.tellSubtask(PutRecordsSettings.partitionKeyGenerator(converter),
                context.getSubtaskId(), context.getNumberOfParallelSubtasks(),
                context.metricGroup());
        StreamClient stream = streams.get();
        try {
            return new KeyOrderedWriter<>(converter, context, settings, stream,
                    entry -> Collections.singletonList(entry.partitionKey()),
                    KeyOrderedWriter.Resends.NONE, recoveredState);
        } catch (RuntimeException e) {
            stream.close();
            throw e;
        }
    }

    @Override
    public SimpleVersionedSerializer<BufferedRequestState<PutRecordsRequestEntry>>
            getWriterStateSerializer() {
        return new Utf8KeyStateSerializer();
    }
}
