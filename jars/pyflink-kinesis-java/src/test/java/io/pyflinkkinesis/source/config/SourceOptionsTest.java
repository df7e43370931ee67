package io.pyflinkkinesis.source.config;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kinesis.source.config.KinesisStreamsSourceConfigConstants;
import org.apache.flink.connector.kinesis.source.config.KinesisStreamsSourceConfigConstants.InitialPosition;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SourceOptionsTest {

    @Test
    void fiveXNamesBecomeTheNamesTheCodeReads() {
        Configuration config = new Configuration();
        config.setString("source.init.position", "AT_TIMESTAMP");
        config.setString("source.init.timestamp", "2026-12-01T00:00:00.000Z");
        config.setString("source.init.timestamp.format", "yyyy-MM-dd'T'HH:mm:ss.SSSX");
        config.setString("source.shard.discovery.interval", "1500 ms");
        config.setString("source.reader.type", "EFO");
        config.setString("aws.region", "us-east-1");

        Configuration normalized = SourceOptions.normalize(config);

        assertEquals(InitialPosition.AT_TIMESTAMP,
                normalized.get(KinesisStreamsSourceConfigConstants.STREAM_INITIAL_POSITION));
        assertEquals("2026-12-01T00:00:00.000Z",
                normalized.get(KinesisStreamsSourceConfigConstants.STREAM_INITIAL_TIMESTAMP));
        assertEquals("yyyy-MM-dd'T'HH:mm:ss.SSSX",
                normalized.get(KinesisStreamsSourceConfigConstants.STREAM_TIMESTAMP_DATE_FORMAT));
        assertEquals(1500L, normalized.get(
                KinesisStreamsSourceConfigConstants.SHARD_DISCOVERY_INTERVAL_MILLIS));
        assertEquals(SourceOptions.ReaderType.EFO, normalized.get(SourceOptions.READER_TYPE));
        assertEquals("us-east-1", normalized.getString("aws.region", null));
        assertFalse(normalized.containsKey("source.init.position"));
        assertFalse(normalized.containsKey("source.shard.discovery.interval"));
    }

    @Test
    void legacyNamesAreKept() {
        Configuration config = new Configuration();
        config.setString("flink.stream.initpos", "TRIM_HORIZON");
        config.setString("flink.shard.discovery.intervalmillis", "700");

        Configuration normalized = SourceOptions.normalize(config);

        assertEquals(InitialPosition.TRIM_HORIZON,
                normalized.get(KinesisStreamsSourceConfigConstants.STREAM_INITIAL_POSITION));
        assertEquals(700L, normalized.get(
                KinesisStreamsSourceConfigConstants.SHARD_DISCOVERY_INTERVAL_MILLIS));
    }

    @Test
    void bothSpellingsOfOneOptionAreRefused() {
        Configuration config = new Configuration();
        config.setString("source.init.position", "LATEST");
        config.setString("flink.stream.initpos", "TRIM_HORIZON");
        config.setString("source.shard.discovery.interval", "1 s");

        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> SourceOptions.normalize(config));

        assertTrue(error.getMessage().contains("source.init.position and flink.stream.initpos"),
                error.getMessage());
    }

    @Test
    void defaultsAreConnector5sButTheEmptyShardPause() {
        Configuration empty = new Configuration();
        assertEquals(SourceOptions.ReaderType.POLLING, empty.get(SourceOptions.READER_TYPE));
        assertEquals(Duration.ofMillis(200),  // the consumer's, not 5.x's 250 ms: latency
                empty.get(SourceOptions.READER_EMPTY_RECORDS_FETCH_INTERVAL));
        assertEquals(10000, empty.get(SourceOptions.SHARD_GET_RECORDS_MAX));
        assertEquals(SourceOptions.ConsumerLifecycle.JOB_MANAGED,
                empty.get(SourceOptions.EFO_CONSUMER_LIFECYCLE));
    }
}
