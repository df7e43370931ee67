package io.pyflinkkinesis.source.efo;

import io.pyflinkkinesis.source.config.SourceOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ConsumerDescription;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ConsumerStatus;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ResourceInUseException;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ResourceNotFoundException;
import org.apache.flink.util.Preconditions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Registers, looks up and deregisters the source's EFO consumer ({@code source.efo.consumer.name}
 * on the source's stream), waiting between DescribeStreamConsumer calls as the {@code
 * source.efo.describe.retry-strategy.*} options say (doubling from the least to the longest
 * pause, at most that many calls).
 */
public final class StreamConsumerRegistrar {

    private static final Logger LOG = LoggerFactory.getLogger(StreamConsumerRegistrar.class);

    /** Pauses the calling thread (a test passes one that does not). */
    public interface Sleeper {
        void sleep(Duration duration) throws InterruptedException;
    }

    private final KinesisAsyncClient kinesis;
    private final String streamArn;
    private final String consumerName;
    private final Duration minDelay;
    private final Duration maxDelay;
    private final int maxAttempts;
    private final Sleeper sleeper;

    public StreamConsumerRegistrar(KinesisAsyncClient kinesis, String streamArn,
            Configuration config, Sleeper sleeper) {
        this.kinesis = Preconditions.checkNotNull(kinesis, "kinesis");
        this.streamArn = Preconditions.checkNotNull(streamArn, "streamArn");
        this.consumerName = consumerName(config);
        this.minDelay = config.get(SourceOptions.EFO_DESCRIBE_CONSUMER_RETRY_STRATEGY_MIN_DELAY);
        this.maxDelay = config.get(SourceOptions.EFO_DESCRIBE_CONSUMER_RETRY_STRATEGY_MAX_DELAY);
        this.maxAttempts = config.get(
                SourceOptions.EFO_DESCRIBE_CONSUMER_RETRY_STRATEGY_MAX_ATTEMPTS);
        this.sleeper = Preconditions.checkNotNull(sleeper, "sleeper");
    }

    public StreamConsumerRegistrar(KinesisAsyncClient kinesis, String streamArn,
            Configuration config) {
        this(kinesis, streamArn, config, duration -> Thread.sleep(duration.toMillis()));
    }

    /** The consumer name of an EFO source; fails clearly when it is not set. */
    public static String consumerName(Configuration config) {
        String name = config.get(SourceOptions.EFO_CONSUMER_NAME);
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException(SourceOptions.READER_TYPE.key() + " = EFO needs "
                    + SourceOptions.EFO_CONSUMER_NAME.key() + ": set it to the name of the "
                    + "stream's EFO consumer for this job");
        }
        return name;
    }

    public String consumerName() {
        return consumerName;
    }

    /**
     * JOB_MANAGED: registers the consumer, or reuses the one of that name, and waits until it is
     * ACTIVE (one being deleted is waited out, then registered again).
     *
     * @return the consumer's ARN
     */
    public String registerOrReuse() throws InterruptedException {
        String lastStatus = "absent";
        for (int attempt = 0; attempt < maxAttempts; attempt++) {
            ConsumerDescription description = describe();
            if (description == null) {
                register();
            } else if (description.consumerStatus() == ConsumerStatus.ACTIVE) {
                LOG.info("EFO consumer {} of {} is ACTIVE: {}", consumerName, streamArn,
                        description.consumerARN());
                return description.consumerARN();
            } else {
                lastStatus = String.valueOf(description.consumerStatus());
            }
            sleeper.sleep(delay(attempt));
        }
        throw notActive(lastStatus);
    }

    /**
     * SELF_MANAGED: the ARN of the consumer of that name once it is ACTIVE.
     *
     * @throws IllegalStateException when no consumer of that name is registered on the stream
     */
    public String existingConsumerArn() throws InterruptedException {
        return awaitActive(true);
    }

    /**
     * A reader: the ARN of the consumer of that name once it is ACTIVE, waiting also while it is
     * absent (after a global failover the restarted enumerator registers it again).
     */
    public String activeConsumerArn() throws InterruptedException {
        return awaitActive(false);
    }

    private String awaitActive(boolean absentIsError) throws InterruptedException {
        String lastStatus = "absent";
        for (int attempt = 0; attempt < maxAttempts; attempt++) {
            ConsumerDescription description = describe();
            if (description == null && absentIsError) {
                throw new IllegalStateException("No EFO consumer named '" + consumerName
                        + "' is registered on stream " + streamArn + ". With "
                        + SourceOptions.EFO_CONSUMER_LIFECYCLE.key() + " = SELF_MANAGED, register "
                        + "it before the job starts (RegisterStreamConsumer, or "
                        + "pyflink_kinesis.efo.register_stream_consumer), or use JOB_MANAGED.");
            }
            if (description != null && description.consumerStatus() == ConsumerStatus.ACTIVE) {
                return description.consumerARN();
            }
            lastStatus = description == null
                    ? "absent" : String.valueOf(description.consumerStatus());
            sleeper.sleep(delay(attempt));
        }
        throw notActive(lastStatus);
    }

    /**
     * Deregisters the consumer, waiting at most {@code timeout} for the call; an absent
     * consumer is fine, and a failure is logged, not thrown (the job is stopping anyway).
     */
    public void deregister(Duration timeout) {
        try {
            kinesis.deregisterStreamConsumer(b -> b.streamARN(streamArn).consumerName(consumerName))
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            LOG.info("Deregistered EFO consumer {} of {}", consumerName, streamArn);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ResourceNotFoundException) {
                LOG.info("EFO consumer {} of {} was already gone", consumerName, streamArn);
            } else {
                LOG.warn("Could not deregister EFO consumer {} of {}; deregister it yourself",
                        consumerName, streamArn, e.getCause());
            }
        } catch (TimeoutException e) {
            LOG.warn("Deregistering EFO consumer {} of {} took over {}; it may remain registered",
                    consumerName, streamArn, timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The consumer's description, or null when none of that name is registered. */
    private ConsumerDescription describe() throws InterruptedException {
        try {
            return join(kinesis.describeStreamConsumer(
                    b -> b.streamARN(streamArn).consumerName(consumerName)))
                    .consumerDescription();
        } catch (ResourceNotFoundException e) {
            return null;
        }
    }

    private void register() throws InterruptedException {
        try {
            join(kinesis.registerStreamConsumer(
                    b -> b.streamARN(streamArn).consumerName(consumerName)));
            LOG.info("Registered EFO consumer {} of {}", consumerName, streamArn);
        } catch (ResourceInUseException e) {
            LOG.info("EFO consumer {} of {} registered meanwhile; reusing it",
                    consumerName, streamArn);
        }
    }

    private Duration delay(int attempt) {
        long millis = minDelay.toMillis() << Math.min(attempt, 20);
        return Duration.ofMillis(Math.min(millis, maxDelay.toMillis()));
    }

    private IllegalStateException notActive(String lastStatus) {
        return new IllegalStateException("EFO consumer '" + consumerName + "' of stream "
                + streamArn + " is " + lastStatus + ", not ACTIVE, after " + maxAttempts
                + " DescribeStreamConsumer calls; raise "
                + SourceOptions.EFO_DESCRIBE_CONSUMER_RETRY_STRATEGY_MAX_ATTEMPTS.key()
                + " or " + SourceOptions.EFO_DESCRIBE_CONSUMER_RETRY_STRATEGY_MAX_DELAY.key());
    }

    /** The call's result; its AWS error unwrapped. */
    private static <V> V join(CompletableFuture<V> call) throws InterruptedException {
        try {
            return call.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException) {
                throw (RuntimeException) cause;
            }
            throw new CompletionException(cause);
        }
    }
}
