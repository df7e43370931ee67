package io.pyflinkkinesis.source.config;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kinesis.source.config.KinesisStreamsSourceConfigConstants;
import org.apache.flink.connector.kinesis.source.config.KinesisStreamsSourceConfigConstants.InitialPosition;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The options of our {@link io.pyflinkkinesis.source.KinesisStreamsSource}, under the names of
 * connector 5.x's {@code KinesisSourceConfigOptions} (same keys, types and defaults, but for
 * {@link #READER_EMPTY_RECORDS_FETCH_INTERVAL}'s), so that a configuration written for the 5.x
 * source runs unchanged; {@link #FETCH_THREADS} and {@link #DEDUPLICATION} are ours.
 *
 * <p>Four of them also exist in connector 4.3.0 under the legacy consumer's names ({@code
 * flink.stream.initpos} ...), which keep working: {@link #normalize} turns the 5.x spelling into
 * the 4.3.0 one, which the code reads, and refuses a configuration that spells one option both
 * ways.
 */
public final class SourceOptions {

    /** How shards are read: GetRecords calls, or a SubscribeToShard subscription (EFO). */
    public enum ReaderType {
        POLLING,
        EFO
    }

    /** Who registers and deregisters the EFO consumer. */
    public enum ConsumerLifecycle {
        /** Registered at the job's start (an existing one reused), deregistered on a stop. */
        JOB_MANAGED,
        /** Registered by the user before the job; the job only looks it up. */
        SELF_MANAGED
    }

    public static final ConfigOption<InitialPosition> STREAM_INITIAL_POSITION =
            ConfigOptions.key("source.init.position")
                    .enumType(InitialPosition.class)
                    .defaultValue(InitialPosition.LATEST)
                    .withDescription("Where the shards of the job's first listing start.");

    public static final ConfigOption<String> STREAM_INITIAL_TIMESTAMP =
            ConfigOptions.key("source.init.timestamp")
                    .stringType()
                    .noDefaultValue()
                    .withDescription("Start time for AT_TIMESTAMP.");

    public static final ConfigOption<String> STREAM_TIMESTAMP_DATE_FORMAT =
            ConfigOptions.key("source.init.timestamp.format")
                    .stringType()
                    .defaultValue("yyyy-MM-dd'T'HH:mm:ss.SSSXXX")
                    .withDescription("Date format of source.init.timestamp.");

    public static final ConfigOption<Duration> SHARD_DISCOVERY_INTERVAL =
            ConfigOptions.key("source.shard.discovery.interval")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(10))
                    .withDescription("Pause between shard listings.");

    public static final ConfigOption<Integer> SHARD_GET_RECORDS_MAX =
            ConfigOptions.key("source.shard.get-records.max-record-count")
                    .intType()
                    .defaultValue(10000)
                    .withDescription("The most records one GetRecords call asks for.");

    public static final ConfigOption<ReaderType> READER_TYPE =
            ConfigOptions.key("source.reader.type")
                    .enumType(ReaderType.class)
                    .defaultValue(ReaderType.POLLING)
                    .withDescription("POLLING (GetRecords) or EFO (SubscribeToShard).");

    /**
     * Connector 5.x's name, with a wider meaning and the one default that differs from 5.x's
     * (250 ms). 5.x pauses this long after an empty answer. Our polling reader asks a shard at
     * the tip (an answer that is not behind, empty or not) or throttled again this long after
     * its last call <em>began</em>, as the legacy consumer's {@code
     * flink.shard.getrecords.intervalmillis} does: at most 5 calls per second per shard,
     * Kinesis' limit, and a record arriving at an idle shard waits no longer than with the
     * consumer. A shard that is behind is read again at once. Measured: the p50 put-to-read
     * latency rose from 125 ms to 145 ms with 250 ms.
     */
    public static final ConfigOption<Duration> READER_EMPTY_RECORDS_FETCH_INTERVAL =
            ConfigOptions.key("source.reader.empty-records-fetch-interval")
                    .durationType()
                    .defaultValue(Duration.ofMillis(200))
                    .withDescription("Time from one GetRecords call of a shard at the tip or "
                            + "throttled to the next; a shard that is behind is read again "
                            + "at once.");

    /**
     * Ours (5.x has no such option): how many GetRecords calls a subtask has in flight at once,
     * each for a different shard. A subtask with at most this many shards reads them all
     * concurrently, as the legacy consumer does with its thread per shard.
     */
    public static final ConfigOption<Integer> FETCH_THREADS =
            ConfigOptions.key("source.reader.fetch-threads")
                    .intType()
                    .defaultValue(16)
                    .withDescription("GetRecords calls a subtask has in flight at once, each for"
                            + " a different shard (threads per subtask).");

    /**
     * Ours (5.x has no such option): drop the user records a committing sink wrote more than
     * once (KPL aggregates whose user records carry a {@code pfk-id} tag), by per-shard marks
     * kept in the splits ({@link io.pyflinkkinesis.source.split.ShardMarks}). Records without
     * an id pass untouched. Works on the de-aggregated user records, which this source always
     * produces.
     */
    public static final ConfigOption<Boolean> DEDUPLICATION =
            ConfigOptions.key("source.deduplication")
                    .booleanType()
                    .defaultValue(false)
                    .withDescription("Ours (not in connector 5.x): drop the duplicates of "
                            + "records written by a committing (exactly-once) sink, by the id "
                            + "in their KPL tag; records without an id pass untouched.");

    public static final ConfigOption<ConsumerLifecycle> EFO_CONSUMER_LIFECYCLE =
            ConfigOptions.key("source.efo.lifecycle")
                    .enumType(ConsumerLifecycle.class)
                    .defaultValue(ConsumerLifecycle.JOB_MANAGED)
                    .withDescription("JOB_MANAGED or SELF_MANAGED EFO consumer.");

    public static final ConfigOption<String> EFO_CONSUMER_NAME =
            ConfigOptions.key("source.efo.consumer.name")
                    .stringType()
                    .noDefaultValue()
                    .withDescription("The EFO consumer's name (required with EFO).");

    public static final ConfigOption<Duration> EFO_CONSUMER_SUBSCRIPTION_TIMEOUT =
            ConfigOptions.key("source.efo.subscription.timeout")
                    .durationType()
                    .defaultValue(Duration.ofMillis(60000))
                    .withDescription("How long a SubscribeToShard call may take to start.");

    public static final ConfigOption<Duration> EFO_DESCRIBE_CONSUMER_RETRY_STRATEGY_MIN_DELAY =
            ConfigOptions.key("source.efo.describe.retry-strategy.delay.min")
                    .durationType()
                    .defaultValue(Duration.ofMillis(2000))
                    .withDescription("First pause between DescribeStreamConsumer calls.");

    public static final ConfigOption<Duration> EFO_DESCRIBE_CONSUMER_RETRY_STRATEGY_MAX_DELAY =
            ConfigOptions.key("source.efo.describe.retry-strategy.delay.max")
                    .durationType()
                    .defaultValue(Duration.ofMillis(60000))
                    .withDescription("Longest pause between DescribeStreamConsumer calls.");

    public static final ConfigOption<Integer> EFO_DESCRIBE_CONSUMER_RETRY_STRATEGY_MAX_ATTEMPTS =
            ConfigOptions.key("source.efo.describe.retry-strategy.attempts.max")
                    .intType()
                    .defaultValue(100)
                    .withDescription("DescribeStreamConsumer calls before giving up.");

    public static final ConfigOption<Duration> EFO_DEREGISTER_CONSUMER_TIMEOUT =
            ConfigOptions.key("source.efo.deregister.timeout")
                    .durationType()
                    .defaultValue(Duration.ofMillis(10000))
                    .withDescription("How long a stop waits for the consumer's deregistration.");

    /** Connector 5.x's AWS client retries (AWSConfigOptions), for the source's clients. */
    public static final ConfigOption<Duration> RETRY_STRATEGY_MIN_DELAY =
            ConfigOptions.key("retry-strategy.delay.min")
                    .durationType()
                    .defaultValue(Duration.ofMillis(300))
                    .withDescription("Base delay of the AWS clients' exponential back-off.");

    public static final ConfigOption<Duration> RETRY_STRATEGY_MAX_DELAY =
            ConfigOptions.key("retry-strategy.delay.max")
                    .durationType()
                    .defaultValue(Duration.ofMillis(1000))
                    .withDescription("Longest delay of the AWS clients' exponential back-off.");

    public static final ConfigOption<Integer> RETRY_STRATEGY_MAX_ATTEMPTS =
            ConfigOptions.key("retry-strategy.attempts.max")
                    .intType()
                    .defaultValue(50)
                    .withDescription("Attempts of an AWS call before it fails.");

    /** A 5.x option and the 4.3.0 option it is spelled as in the code. */
    private static final class Renamed {
        final String fiveX;
        final String legacy;

        Renamed(ConfigOption<?> fiveX, ConfigOption<?> legacy) {
            this.fiveX = fiveX.key();
            this.legacy = legacy.key();
        }
    }

    private static final List<Renamed> RENAMED = Arrays.asList(
            new Renamed(STREAM_INITIAL_POSITION,
                    KinesisStreamsSourceConfigConstants.STREAM_INITIAL_POSITION),
            new Renamed(STREAM_INITIAL_TIMESTAMP,
                    KinesisStreamsSourceConfigConstants.STREAM_INITIAL_TIMESTAMP),
            new Renamed(STREAM_TIMESTAMP_DATE_FORMAT,
                    KinesisStreamsSourceConfigConstants.STREAM_TIMESTAMP_DATE_FORMAT),
            new Renamed(SHARD_DISCOVERY_INTERVAL,
                    KinesisStreamsSourceConfigConstants.SHARD_DISCOVERY_INTERVAL_MILLIS));

    private SourceOptions() {
    }

    /**
     * A copy of {@code config} with the 5.x spelling of the four options connector 4.3.0 also
     * has replaced by the 4.3.0 one (a discovery interval given as a duration becomes
     * milliseconds); every other key is kept as given.
     *
     * @throws IllegalArgumentException when an option is given in both spellings
     */
    public static Configuration normalize(Configuration config) {
        Map<String, String> given = config.toMap();
        List<String> twice = new ArrayList<>();
        for (Renamed option : RENAMED) {
            if (given.containsKey(option.fiveX) && given.containsKey(option.legacy)) {
                twice.add(option.fiveX + " and " + option.legacy);
            }
        }
        if (!twice.isEmpty()) {
            throw new IllegalArgumentException("An option is given twice, in connector 5.x's "
                    + "and in 4.3.0's spelling: " + String.join("; ", twice)
                    + ". Keep one of each pair.");
        }
        Configuration normalized = new Configuration();
        for (Map.Entry<String, String> entry : given.entrySet()) {
            normalized.setString(legacyName(entry.getKey()), entry.getValue());
        }
        if (given.containsKey(SHARD_DISCOVERY_INTERVAL.key())) {
            normalized.set(KinesisStreamsSourceConfigConstants.SHARD_DISCOVERY_INTERVAL_MILLIS,
                    config.get(SHARD_DISCOVERY_INTERVAL).toMillis());
        }
        return normalized;
    }

    private static String legacyName(String key) {
        for (Renamed option : RENAMED) {
            if (option.fiveX.equals(key)) {
                return option.legacy;
            }
        }
        return key;
    }
}
