package org.apache.flink.connector.kinesis.sink;

import org.apache.flink.connector.base.sink.AsyncSinkBase;
import org.apache.flink.connector.base.sink.writer.BufferedRequestState;
import org.apache.flink.connector.base.sink.writer.ElementConverter;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.util.Preconditions;

import io.pyflinkkinesis.SubtaskAware;
import io.pyflinkkinesis.aggregation.Utf8KeyStateSerializer;

import java.io.IOException;
import java.lang.reflect.Field;
import java.util.Collection;
import java.util.Properties;

/**
 * The connector's {@link KinesisStreamsSink}, whose partition key generator learns the subtask
 * it runs in before each writer is created.
 *
 * <p>Connector 4.3.0 never calls {@code FixedKinesisPartitionKeyGenerator.initialize}, so every
 * subtask of a "fixed" sink writes under key "0". Before {@code createWriter} and {@code
 * restoreWriter} this sink calls {@link SubtaskAware#tellSubtask} on its generator; the rest is
 * the connector's sink, which it extends: it is {@code instanceof KinesisStreamsSink}, has its
 * fields ({@code failOnError}, {@code streamName}... which PyFlink's own tests read by
 * reflection) and creates its writer. It is in the connector's package because that sink's
 * constructor is package-private: the jar holding it and the connector's jar must be loaded by
 * one class loader, as they are wherever pyflink-kinesis ships them (a job's {@code
 * pipeline.jars}, one {@code lib/}, the bundle's merged jar).
 *
 * <p>It is made from a sink the connector's builder made (checked, with the builder's defaults):
 * the constructor copies that sink's settings. The generator must be the instance inside that
 * sink's element converter: Java serialization keeps the shared reference, so each subtask's copy
 * of this sink opens that subtask's copy of the generator. The writer state is the connector's;
 * its serializer is {@link Utf8KeyStateSerializer}, which, unlike the connector's, reads back
 * non-ASCII partition keys (same bytes for ASCII keys, same version: a savepoint taken with
 * either sink restores with the other).
 */
public final class SubtaskInitializingSink<InputT> extends KinesisStreamsSink<InputT> {

    private static final long serialVersionUID = 1L;

    final Object partitionKeyGenerator;

    public SubtaskInitializingSink(KinesisStreamsSink<InputT> sink, Object partitionKeyGenerator) {
        super(
                SubtaskInitializingSink.<ElementConverter<InputT, PutRecordsRequestEntry>>field(
                        sink, AsyncSinkBase.class, "elementConverter"),
                field(sink, AsyncSinkBase.class, "maxBatchSize"),
                field(sink, AsyncSinkBase.class, "maxInFlightRequests"),
                field(sink, AsyncSinkBase.class, "maxBufferedRequests"),
                field(sink, AsyncSinkBase.class, "maxBatchSizeInBytes"),
                field(sink, AsyncSinkBase.class, "maxTimeInBufferMS"),
                field(sink, AsyncSinkBase.class, "maxRecordSizeInBytes"),
                SubtaskInitializingSink.<Boolean>field(sink, KinesisStreamsSink.class,
                        "failOnError"),
                field(sink, KinesisStreamsSink.class, "streamName"),
                field(sink, KinesisStreamsSink.class, "streamArn"),
                SubtaskInitializingSink.<Properties>field(sink, KinesisStreamsSink.class,
                        "kinesisClientProperties"));
        this.partitionKeyGenerator =
                Preconditions.checkNotNull(partitionKeyGenerator, "partitionKeyGenerator");
    }

    @Override
    @SuppressWarnings("deprecation")
    public StatefulSinkWriter<InputT, BufferedRequestState<PutRecordsRequestEntry>> createWriter(
            InitContext context) throws IOException {
        tellSubtask(context);
        return super.createWriter(context);
    }

    @Override
    @SuppressWarnings("deprecation")
    public StatefulSinkWriter<InputT, BufferedRequestState<PutRecordsRequestEntry>> restoreWriter(
            InitContext context,
            Collection<BufferedRequestState<PutRecordsRequestEntry>> recoveredState)
            throws IOException {
        tellSubtask(context);
        return super.restoreWriter(context, recoveredState);
    }

    @Override
    public SimpleVersionedSerializer<BufferedRequestState<PutRecordsRequestEntry>>
            getWriterStateSerializer() {
        return new Utf8KeyStateSerializer();
    }

    @SuppressWarnings("deprecation")
    private void tellSubtask(InitContext context) {
        SubtaskAware.tellSubtask(partitionKeyGenerator, context.getSubtaskId(),
                context.getNumberOfParallelSubtasks(), context.metricGroup());
    }

    /** A private field of the connector's sink or its base class (4.3.0 has no getters). */
    @SuppressWarnings("unchecked")
    static <V> V field(KinesisStreamsSink<?> sink, Class<?> declaring, String name) {
        try {
            Field field = declaring.getDeclaredField(name);
            field.setAccessible(true);
            return (V) field.get(sink);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read " + declaring.getName() + "." + name
                    + ": this class is written for flink-connector-kinesis 4.3.0", e);
        }
    }
}
