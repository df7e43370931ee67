package io.pyflinkkinesis.source.metrics;

import org.junit.jupiter.api.Test;

import java.util.Collections;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ShardMetricsTest {

    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s";

    @Test
    void theLagGaugeIsNamedAsConnector5NamesItAndIsMinusOneUntilSet() {
        RecordingMetricGroup reader = new RecordingMetricGroup();
        ShardMetrics metrics = new ShardMetrics(reader, ARN, "shardId-000000000001");
        String lag = RecordingMetricGroup.lagOf("shardId-000000000001");
        assertEquals(Collections.singletonMap(lag, -1L), reader.gauges());

        metrics.setMillisBehindLatest(1234L);
        assertEquals(1234L, reader.gauges().get(lag));
        metrics.setMillisBehindLatest(null);
        assertEquals(1234L, reader.gauges().get(lag), "an answer without the figure keeps it");
        metrics.setMillisBehindLatest(0L);
        assertEquals(0L, reader.gauges().get(lag));

        metrics.unregister();
        assertEquals(Collections.emptyMap(), reader.gauges());
    }

    @Test
    void aStreamArnIsRequired() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ShardMetrics(new RecordingMetricGroup(), "s", "shardId-0"));
        assertEquals("not a Kinesis stream ARN: s", e.getMessage());
    }
}
