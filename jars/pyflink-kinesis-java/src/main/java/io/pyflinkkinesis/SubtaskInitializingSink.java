package io.pyflinkkinesis;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSink;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.connector.kinesis.sink.KinesisStreamsStateSerializer;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.util.Preconditions;

import io.pyflinkkinesis.aggregation.Utf8KeyStateSerializer;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Collection;

/**
 * A stateful sink (a {@code KinesisStreamsSink}) whose partition key generator learns the
 * subtask it runs in before each writer is created.
 *
 * <p>Connector 4.3.0 never calls {@code FixedKinesisPartitionKeyGenerator.initialize}, so every
 * subtask of a "fixed" sink writes under key "0". This sink delegates everything to the sink it
 * wraps and, before {@code createWriter} and {@code restoreWriter}, opens the generator:
 * {@link SubtaskAware#open} for ours, or a public {@code initialize(int indexOfThisSubtask, int
 * numberOfParallelSubtasks)} method for the connector's fixed generator and generators of the
 * user's own that follow the same contract. Generators without either are left alone.
 *
 * <p>The generator must be the instance held by the wrapped sink: Java serialization keeps the
 * shared reference, so each subtask's copy of this sink opens that subtask's copy of the
 * generator. The writer state is the wrapped sink's, and so is its serializer, except that the
 * connector's {@code KinesisStreamsStateSerializer} is replaced by one that can read back
 * non-ASCII partition keys (same format and bytes for ASCII keys): a savepoint taken with or
 * without this wrapper restores either way.
 */
public final class SubtaskInitializingSink<InputT, StateT> implements StatefulSink<InputT, StateT> {

    private static final long serialVersionUID = 1L;

    private final StatefulSink<InputT, StateT> sink;
    private final Object partitionKeyGenerator;

    public SubtaskInitializingSink(StatefulSink<InputT, StateT> sink, Object partitionKeyGenerator) {
        this.sink = Preconditions.checkNotNull(sink, "sink");
        this.partitionKeyGenerator =
                Preconditions.checkNotNull(partitionKeyGenerator, "partitionKeyGenerator");
    }

    /** The sink this one delegates to. */
    public StatefulSink<InputT, StateT> getSink() {
        return sink;
    }

    @Override
    @SuppressWarnings("deprecation")
    public SinkWriter<InputT> createWriter(Sink.InitContext context) throws IOException {
        open(context, context.metricGroup());
        return sink.createWriter(context);
    }

    @Override
    public SinkWriter<InputT> createWriter(WriterInitContext context) throws IOException {
        open(context, context.metricGroup());
        return sink.createWriter(context);
    }

    @Override
    @SuppressWarnings("deprecation")
    public StatefulSinkWriter<InputT, StateT> restoreWriter(
            Sink.InitContext context, Collection<StateT> recoveredState)
            throws IOException {
        open(context, context.metricGroup());
        return sink.restoreWriter(context, recoveredState);
    }

    @Override
    public StatefulSinkWriter<InputT, StateT> restoreWriter(
            WriterInitContext context, Collection<StateT> recoveredState) throws IOException {
        open(context, context.metricGroup());
        return sink.restoreWriter(context, recoveredState);
    }

    @Override
    @SuppressWarnings("unchecked")
    public SimpleVersionedSerializer<StateT> getWriterStateSerializer() {
        SimpleVersionedSerializer<StateT> serializer = sink.getWriterStateSerializer();
        // Connector 4.3.0's serializer writes a partition key's length in characters before
        // its UTF-8 bytes: a checkpoint holding a buffered record with a non-ASCII key (keys
        // from the data can be anything) cannot be restored. Ours writes the same bytes for
        // ASCII keys, under the same version.
        if (serializer.getClass() == KinesisStreamsStateSerializer.class) {
            return (SimpleVersionedSerializer<StateT>)
                    (SimpleVersionedSerializer<?>) new Utf8KeyStateSerializer();
        }
        return serializer;
    }

    // Sink.InitContext and WriterInitContext both extend sink2.InitContext (here the simple name
    // would mean the inherited Sink.InitContext).
    private void open(
            org.apache.flink.api.connector.sink2.InitContext context, MetricGroup metrics) {
        open(partitionKeyGenerator, context.getSubtaskId(),
                context.getNumberOfParallelSubtasks(), metrics);
    }

    /**
     * Tell {@code generator} its subtask: {@link SubtaskAware#open}, else a public {@code
     * initialize(int, int)}, else nothing. Public for the sinks of {@code io.pyflinkkinesis}'s
     * sub-packages.
     */
    public static void open(Object generator, int subtaskIndex, int parallelism,
            MetricGroup metrics) {
        if (generator instanceof SubtaskAware) {
            ((SubtaskAware) generator).open(subtaskIndex, parallelism, metrics);
            return;
        }
        Method initialize;
        try {
            initialize = generator.getClass().getMethod("initialize", int.class, int.class);
        } catch (NoSuchMethodException e) {
            return;
        }
        try {
            initialize.invoke(generator, subtaskIndex, parallelism);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(
                    generator.getClass().getName() + ".initialize(int, int) is not accessible; "
                            + "make the class public",
                    e);
        } catch (InvocationTargetException e) {
            throw new IllegalStateException(
                    generator.getClass().getName() + ".initialize(" + subtaskIndex + ", "
                            + parallelism + ") failed",
                    e.getCause());
        }
    }
}
