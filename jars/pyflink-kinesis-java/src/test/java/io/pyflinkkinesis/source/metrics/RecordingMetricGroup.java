package io.pyflinkkinesis.source.metrics;

import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.runtime.metrics.NoOpMetricRegistry;
import org.apache.flink.runtime.metrics.groups.AbstractMetricGroup;
import org.apache.flink.runtime.metrics.groups.GenericMetricGroup;

import java.util.Map;
import java.util.TreeMap;

/** A real metric group ("reader") whose registry keeps the registered metrics by identifier. */
public final class RecordingMetricGroup extends GenericMetricGroup {

    private static final class Registry extends NoOpMetricRegistry {
        final Map<String, Metric> metrics = new TreeMap<>();

        @Override
        public synchronized void register(Metric metric, String name, AbstractMetricGroup group) {
            metrics.put(group.getMetricIdentifier(name), metric);
        }

        @Override
        public synchronized void unregister(Metric metric, String name, AbstractMetricGroup group) {
            metrics.remove(group.getMetricIdentifier(name));
        }
    }

    public RecordingMetricGroup() {
        super(new Registry(), null, "reader");
    }

    /** The gauges registered now, by identifier, with their values. */
    public Map<String, Object> gauges() {
        Registry registry = (Registry) this.registry;
        Map<String, Object> values = new TreeMap<>();
        synchronized (registry) {
            registry.metrics.forEach(
                    (id, metric) -> values.put(id, ((Gauge<?>) metric).getValue()));
        }
        return values;
    }

    /** The identifier of shard {@code shardId}'s lag gauge on the test stream. */
    public static String lagOf(String shardId) {
        return "reader.KinesisStreamSource.accountId.000000000000.region.us-east-1.stream.s"
                + ".shardId." + shardId + ".millisBehindLatest";
    }
}
