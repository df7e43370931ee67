package io.pyflinkkinesis.aggregation;

import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.connector.base.sink.writer.BufferedRequestState;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.metrics.groups.SinkWriterMetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.streaming.runtime.tasks.TestProcessingTimeService;

import java.lang.reflect.Proxy;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;

/**
 * Runs a sink writer (aggregating or key-ordered) without Flink or Kinesis: a {@link FakeStream}, a mailbox the
 * test thread runs, a processing time the test sets, and metrics it can read.
 */
@SuppressWarnings("deprecation")
public final class WriterHarness {

    public final FakeStream stream;
    public final QueueMailbox mailbox = new QueueMailbox();
    public final TestProcessingTimeService time = new TestProcessingTimeService();
    public final Map<String, Counter> counters = new HashMap<>();
    public final Sink.InitContext context;

    public WriterHarness(FakeStream stream) throws Exception {
        this.stream = stream;
        this.context = context(Sink.InitContext.class);
        time.setCurrentTime(0);  // it starts at Long.MIN_VALUE
    }

    AggregatingSinkWriter<String> writer(AggregatingKinesisStreamsSink<String> sink)
            throws Exception {
        return writer(sink, Collections.emptyList());
    }

    AggregatingSinkWriter<String> writer(AggregatingKinesisStreamsSink<String> sink,
            Collection<BufferedRequestState<PutRecordsRequestEntry>> state) throws Exception {
        return sink.restoreWriter(context, state, () -> stream);
    }

    public long count(String metric) {
        Counter counter = counters.get(metric);
        return counter == null ? 0 : counter.getCount();
    }

    /** A {@code Sink.InitContext} or {@code WriterInitContext} for subtask 1 of 3. */
    public <T> T context(Class<T> type) {
        SinkWriterMetricGroup metrics = metrics();
        SerializationSchema.InitializationContext schemaContext = proxy(
                SerializationSchema.InitializationContext.class, (name, args) ->
                        "getMetricGroup".equals(name) ? new UnregisteredMetricsGroup() : null);
        return proxy(type, (name, args) -> {
            switch (name) {
                case "getMailboxExecutor":
                    return mailbox;
                case "getProcessingTimeService":
                    return time;
                case "metricGroup":
                    return metrics;
                case "asSerializationSchemaInitializationContext":
                    return schemaContext;
                case "getSubtaskId":
                    return 1;
                case "getNumberOfParallelSubtasks":
                    return 3;
                case "isObjectReuseEnabled":
                    return false;
                default:
                    throw new UnsupportedOperationException(name);
            }
        });
    }

    /** Records every counter by name; the rest of the group does nothing. */
    private SinkWriterMetricGroup metrics() {
        return proxy(SinkWriterMetricGroup.class, (name, args) -> {
            switch (name) {
                case "counter":
                    Counter counter = args.length == 2 ? (Counter) args[1] : new SimpleCounter();
                    counters.put((String) args[0], counter);
                    return counter;
                case "getNumRecordsOutErrorsCounter":
                    return counters.computeIfAbsent("numRecordsOutErrors", n -> new SimpleCounter());
                case "getIOMetricGroup":
                    return UnregisteredMetricsGroup.createOperatorIOMetricGroup();
                case "gauge":
                    return args[1];
                case "setCurrentSendTimeGauge":
                    return null;
                default:
                    throw new UnsupportedOperationException(name);
            }
        });
    }

    interface Answer {
        Object answer(String method, Object[] args);
    }

    private static <T> T proxy(Class<T> type, Answer answer) {
        return type.cast(Proxy.newProxyInstance(WriterHarness.class.getClassLoader(),
                new Class<?>[] {type},
                (proxy, method, args) -> answer.answer(method.getName(),
                        args == null ? new Object[0] : args)));
    }
}
