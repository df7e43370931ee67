package io.pyflinkkinesis.source.proxy;

import com.sun.net.httpserver.HttpServer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kinesis.source.proxy.KinesisStreamProxy;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The source's GetRecords calls ask for {@code source.shard.get-records.max-record-count}. */
class GetRecordsLimitTest {

    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/orders";

    private HttpServer server;
    /** The body of each GetRecords request the server got. */
    private final List<String> getRecords = new CopyOnWriteArrayList<>();

    @BeforeEach
    void startServer() throws Exception {
        System.setProperty("aws.cborEnabled", "false");
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            String target = exchange.getRequestHeaders().getFirst("X-Amz-Target");
            String body = read(exchange.getRequestBody());
            String answer;
            if (target.endsWith(".GetShardIterator")) {
                answer = "{\"ShardIterator\":\"it-1\"}";
            } else {
                getRecords.add(body);
                answer = "{\"Records\":[],\"NextShardIterator\":\"it-2\",\"MillisBehindLatest\":0}";
            }
            byte[] bytes = answer.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/x-amz-json-1.1");
            exchange.sendResponseHeaders(200, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        server.start();
    }

    @AfterEach
    void stopServer() {
        server.stop(0);
        System.clearProperty("aws.cborEnabled");
    }

    private static String read(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[4096];
        for (int n = in.read(buffer); n > 0; n = in.read(buffer)) {
            out.write(buffer, 0, n);
        }
        return new String(out.toByteArray(), StandardCharsets.UTF_8);
    }

    private String firstGetRecords(Configuration config) throws Exception {
        config.setString("aws.region", "us-east-1");
        config.setString("aws.endpoint", "http://127.0.0.1:" + server.getAddress().getPort());
        config.setString("aws.credentials.provider", "BASIC");
        config.setString("aws.credentials.provider.basic.accesskeyid", "id");
        config.setString("aws.credentials.provider.basic.secretkey", "secret");
        try (KinesisStreamProxy proxy = KinesisClients.streamProxy(config)) {
            proxy.getRecords(ARN, "shardId-000000000000", StartingPosition.fromStart());
        }
        assertEquals(1, getRecords.size(), getRecords.toString());
        return getRecords.get(0);
    }

    @Test
    void eachCallAsksForTheConfiguredCount() throws Exception {
        Configuration config = new Configuration();
        config.setString("source.shard.get-records.max-record-count", "250");
        String body = firstGetRecords(config);
        assertTrue(body.contains("\"Limit\":250"), body);
    }

    @Test
    void withoutTheOptionEachCallAsksForKinesisMaximum() throws Exception {
        String body = firstGetRecords(new Configuration());
        assertTrue(body.contains("\"Limit\":10000"), body);
    }
}
