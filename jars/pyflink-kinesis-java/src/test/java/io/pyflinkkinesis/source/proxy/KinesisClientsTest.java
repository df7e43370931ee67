package io.pyflinkkinesis.source.proxy;

import com.sun.net.httpserver.HttpServer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kinesis.source.proxy.KinesisStreamProxy;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ProvisionedThroughputExceededException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The source's client against a local HTTP server that fails every call but GetShardIterator:
 * attempts counted.
 */
class KinesisClientsTest {

    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/orders";

    private HttpServer server;
    private final AtomicInteger calls = new AtomicInteger();
    private volatile int status;
    private volatile String errorType;

    @BeforeEach
    void startServer() throws Exception {
        System.setProperty("aws.cborEnabled", "false");
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            boolean iterator = String.valueOf(exchange.getRequestHeaders().getFirst("X-Amz-Target"))
                    .endsWith(".GetShardIterator");
            if (!iterator) {
                calls.incrementAndGet();
            }
            byte[] body = (iterator ? "{\"ShardIterator\":\"it\"}"
                    : "{\"__type\":\"" + errorType + "\",\"message\":\"no\"}")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/x-amz-json-1.1");
            exchange.sendResponseHeaders(iterator ? 200 : status, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
    }

    @AfterEach
    void stopServer() {
        server.stop(0);
        System.clearProperty("aws.cborEnabled");
    }

    private Configuration config() {
        Configuration config = new Configuration();
        config.setString("aws.region", "us-east-1");
        config.setString("aws.endpoint", "http://127.0.0.1:" + server.getAddress().getPort());
        config.setString("aws.credentials.provider", "BASIC");
        config.setString("aws.credentials.provider.basic.accesskeyid", "id");
        config.setString("aws.credentials.provider.basic.secretkey", "secret");
        config.setString("retry-strategy.delay.min", "1 ms");
        config.setString("retry-strategy.delay.max", "2 ms");
        return config;
    }

    private int callsOfOneListShards(Configuration config) throws Exception {
        try (KinesisStreamProxy proxy = KinesisClients.streamProxy(config)) {
            assertThrows(RuntimeException.class, () -> proxy.listShards(ARN, null));
        }
        return calls.get();
    }

    @Test
    void aFailingCallIsTriedAsOftenAsRetryStrategyAttemptsMaxSays() throws Exception {
        status = 500;
        errorType = "InternalFailure";
        Configuration config = config();
        config.setString("retry-strategy.attempts.max", "6"); // the SDK's default: 4

        assertEquals(6, callsOfOneListShards(config));
    }

    @Test
    void withoutRetryOptionsTheFiveXDefaultOfFiftyAttemptsApplies() throws Exception {
        status = 500;
        errorType = "InternalFailure";

        assertEquals(50, callsOfOneListShards(config()));
    }

    @Test
    void limitExceededIsRetriedAsFiveXRetriesIt() throws Exception {
        status = 400;
        errorType = "LimitExceededException";
        Configuration config = config();
        config.setString("retry-strategy.attempts.max", "3");

        assertEquals(3, callsOfOneListShards(config));
    }

    @Test
    void aThrottledGetRecordsIsLeftToTheReaderOtherFailuresOfItAreRetried() throws Exception {
        Configuration config = config();
        config.setString("retry-strategy.attempts.max", "3");
        status = 400;
        errorType = "ProvisionedThroughputExceededException";
        try (KinesisStreamProxy proxy = KinesisClients.streamProxy(config)) {
            assertThrows(ProvisionedThroughputExceededException.class, () -> proxy.getRecords(
                    ARN, "shardId-000000000000", StartingPosition.fromStart()));
            assertEquals(1, calls.get(), "the polling reader paces a throttled shard itself");

            status = 500;
            errorType = "InternalFailure";
            assertThrows(RuntimeException.class, () -> proxy.getRecords(
                    ARN, "shardId-000000000000", StartingPosition.fromStart()));
            assertEquals(1 + 3, calls.get());
        }
    }

    @Test
    void aCallerMistakeIsNotRetried() throws Exception {
        status = 400;
        errorType = "InvalidArgumentException";

        assertEquals(1, callsOfOneListShards(config()));
    }

    @Test
    void theDelaysAreTheOnesConfigured() {
        Configuration config = config();
        config.setString("retry-strategy.delay.max", "7 s");

        String policy = KinesisClients.retryPolicy(config).toString();

        assertTrue(policy.contains("baseDelay=PT0.001S") && policy.contains("maxBackoffTime=PT7S"),
                policy);
    }
}
