package io.pyflinkkinesis.source.efo;

import io.pyflinkkinesis.source.config.SourceOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ConsumerStatus;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Registration against a fake client: the states kinesis-mock passes through too fast to see. */
class StreamConsumerRegistrarTest {

    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s";

    private final FakeKinesisAsync kinesis = new FakeKinesisAsync();
    private final List<Duration> pauses = new ArrayList<>();

    private StreamConsumerRegistrar registrar(int attempts) {
        Configuration config = new Configuration();
        config.set(SourceOptions.EFO_CONSUMER_NAME, "c");
        config.set(SourceOptions.EFO_DESCRIBE_CONSUMER_RETRY_STRATEGY_MIN_DELAY,
                Duration.ofMillis(100));
        config.set(SourceOptions.EFO_DESCRIBE_CONSUMER_RETRY_STRATEGY_MAX_DELAY,
                Duration.ofMillis(300));
        config.set(SourceOptions.EFO_DESCRIBE_CONSUMER_RETRY_STRATEGY_MAX_ATTEMPTS, attempts);
        return new StreamConsumerRegistrar(kinesis, ARN, config, pauses::add);
    }

    @Test
    void registersAnAbsentConsumerAndWaitsWithBackOffUntilItIsActive() throws Exception {
        kinesis.statuses.addAll(Arrays.asList(null, ConsumerStatus.CREATING,
                ConsumerStatus.CREATING, ConsumerStatus.CREATING, ConsumerStatus.ACTIVE));
        assertEquals(ARN + "/consumer/c", registrar(10).registerOrReuse());
        assertEquals(1, kinesis.registrations);
        assertEquals(Arrays.asList(Duration.ofMillis(100), Duration.ofMillis(200),
                Duration.ofMillis(300), Duration.ofMillis(300)), pauses);
    }

    @Test
    void reusesAnActiveConsumerOfTheSameName() throws Exception {
        kinesis.statuses.add(ConsumerStatus.ACTIVE);
        assertEquals(ARN + "/consumer/c", registrar(10).registerOrReuse());
        assertEquals(0, kinesis.registrations);
    }

    @Test
    void givesUpAfterTheAttemptsSayingWhatToRaise() {
        kinesis.statuses.add(ConsumerStatus.CREATING);
        IllegalStateException error = assertThrows(IllegalStateException.class,
                () -> registrar(3).registerOrReuse());
        assertTrue(error.getMessage().contains("is CREATING, not ACTIVE, after 3"),
                error.getMessage());
        assertTrue(error.getMessage().contains("retry-strategy.attempts.max"), error.getMessage());
    }

    @Test
    void aConsumerBeingDeletedIsWaitedOutThenRegisteredAgain() throws Exception {
        kinesis.statuses.addAll(Arrays.asList(ConsumerStatus.DELETING, null,
                ConsumerStatus.ACTIVE));
        assertEquals(ARN + "/consumer/c", registrar(10).registerOrReuse());
        assertEquals(1, kinesis.registrations);
    }

    @Test
    void aReaderWaitsWhileTheConsumerIsAbsentOrCreating() throws Exception {
        kinesis.statuses.addAll(Arrays.asList(null, ConsumerStatus.CREATING,
                ConsumerStatus.ACTIVE));
        assertEquals(ARN + "/consumer/c", registrar(10).activeConsumerArn());
        assertEquals(0, kinesis.registrations);
    }

    @Test
    void aSelfManagedConsumerThatDoesNotExistFailsClearly() {
        kinesis.statuses.add(null);
        IllegalStateException error = assertThrows(IllegalStateException.class,
                () -> registrar(10).existingConsumerArn());
        assertTrue(error.getMessage().startsWith(
                "No EFO consumer named 'c' is registered on stream " + ARN), error.getMessage());
        assertEquals(0, kinesis.registrations);
    }

    @Test
    void anEfoSourceWithoutConsumerNameIsRefused() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> StreamConsumerRegistrar.consumerName(new Configuration()));
        assertTrue(error.getMessage().contains("source.efo.consumer.name"), error.getMessage());
    }
}
