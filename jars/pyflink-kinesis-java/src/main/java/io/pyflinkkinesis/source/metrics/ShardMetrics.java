package io.pyflinkkinesis.source.metrics;

import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.groups.AbstractMetricGroup;
import org.apache.flink.util.Preconditions;

/**
 * The metrics of one shard a source reader reads, named as connector 5.x's source names them:
 * group {@code KinesisStreamSource.accountId.<id>.region.<region>.stream.<name>.shardId.<shard>}
 * in the reader's metric group, with the gauge {@code millisBehindLatest}.
 *
 * <p>{@code millisBehindLatest} is how far the shard's last answer (a {@code GetRecords}
 * response or a {@code SubscribeToShard} event) was behind the tip of the shard, in
 * milliseconds, as Kinesis reports it; -1 until the first answer. Any reader thread may update
 * it; {@link #unregister} removes the shard's group once the shard is read to its end.
 */
public final class ShardMetrics {

    public static final String GROUP = "KinesisStreamSource";
    public static final String ACCOUNT_ID = "accountId";
    public static final String REGION = "region";
    public static final String STREAM = "stream";
    public static final String SHARD_ID = "shardId";
    public static final String MILLIS_BEHIND_LATEST = "millisBehindLatest";

    private final MetricGroup group;
    private volatile long millisBehindLatest = -1;

    /**
     * Registers the shard's metrics under {@code readerGroup}; {@code streamArn} is
     * {@code arn:<partition>:kinesis:<region>:<account>:stream/<name>}.
     */
    public ShardMetrics(MetricGroup readerGroup, String streamArn, String shardId) {
        Preconditions.checkNotNull(readerGroup, "readerGroup");
        Preconditions.checkNotNull(shardId, "shardId");
        String[] arn = Preconditions.checkNotNull(streamArn, "streamArn").split(":", 6);
        Preconditions.checkArgument(arn.length == 6 && arn[5].startsWith("stream/"),
                "not a Kinesis stream ARN: %s", streamArn);
        this.group = readerGroup.addGroup(GROUP)
                .addGroup(ACCOUNT_ID, arn[4])
                .addGroup(REGION, arn[3])
                .addGroup(STREAM, arn[5].substring("stream/".length()))
                .addGroup(SHARD_ID, shardId);
        group.gauge(MILLIS_BEHIND_LATEST, this::millisBehindLatest);
    }

    /** The last value set, -1 before the first. */
    public long millisBehindLatest() {
        return millisBehindLatest;
    }

    /** Sets how far the shard's latest answer was behind its tip; null (not given): no change. */
    public void setMillisBehindLatest(Long millis) {
        if (millis != null) {
            millisBehindLatest = millis;
        }
    }

    /** Removes the shard's metrics (its group), so reporters and the REST API drop them. */
    public void unregister() {
        if (group instanceof AbstractMetricGroup) {
            ((AbstractMetricGroup<?>) group).close();
        }
    }
}
