package io.pyflinkkinesis.source.efo;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.kinesis.shaded.org.apache.flink.connector.aws.config.AWSConfigConstants;
import org.apache.flink.kinesis.shaded.org.apache.flink.connector.aws.util.AWSClientUtil;
import org.apache.flink.kinesis.shaded.org.apache.flink.connector.aws.util.AWSGeneralUtil;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.http.Protocol;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.http.SdkHttpConfigurationOption;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.http.async.SdkAsyncHttpClient;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.utils.AttributeMap;

import java.lang.reflect.InvocationHandler;
import java.net.URI;
import java.util.Locale;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Properties;

/**
 * Makes the asynchronous Kinesis client EFO needs (SubscribeToShard and the consumer calls), as
 * connector 4.3.0 makes its clients (region, endpoint, credentials, user agent), always over
 * HTTP/2: SubscribeToShard is an HTTP/2 event stream, so {@code aws.http.protocol.version} (set to
 * HTTP1_1 for plain {@code http://} servers, for the polling client) does not apply to it.
 */
public final class KinesisAsyncClients {

    private KinesisAsyncClients() {
    }

    /** AWS service hosts end in one of these (as pyflink_kinesis.config.endpoint has them). */
    private static final String[] AWS_DOMAINS = {"amazonaws.com", "amazonaws.com.cn", "api.aws"};

    /**
     * True when the client talks to AWS: no {@code aws.endpoint}, or one on an AWS host. Local
     * servers (kinesis-mock) differ from AWS in ways the EFO reader works around.
     */
    public static boolean talksToAws(Configuration config) {
        String endpoint = config.toMap().get(AWSConfigConstants.AWS_ENDPOINT);
        if (endpoint == null || endpoint.isEmpty()) {
            return true;
        }
        String host = URI.create(endpoint).getHost();
        if (host == null) {
            return false;
        }
        host = host.toLowerCase(Locale.ROOT);
        for (String domain : AWS_DOMAINS) {
            if (host.equals(domain) || host.endsWith("." + domain)) {
                return true;
            }
        }
        return false;
    }

    /** A client and the HTTP client under it; closing it closes both. */
    public static KinesisAsyncClient create(Configuration config) {
        Properties properties = new Properties();
        config.addAllToProperties(properties);
        AWSGeneralUtil.validateAwsCredentials(properties);
        SdkAsyncHttpClient http = AWSGeneralUtil.createAsyncHttpClient(
                AttributeMap.builder()
                        .put(SdkHttpConfigurationOption.PROTOCOL, Protocol.HTTP2)
                        .put(SdkHttpConfigurationOption.TCP_KEEPALIVE, true)
                        .build(),
                NettyNioAsyncHttpClient.builder());
        KinesisAsyncClient client = AWSClientUtil.createAwsAsyncClient(properties, http,
                KinesisAsyncClient.builder(), "Apache Flink %s (%s) Kinesis Connector",
                "aws.kinesis.client.user-agent-prefix");
        return closingBoth(client, http);
    }

    /** {@code client}, whose {@code close()} also closes {@code http} (the SDK leaves it open). */
    private static KinesisAsyncClient closingBoth(KinesisAsyncClient client, SdkAsyncHttpClient http) {
        InvocationHandler calls = (proxy, method, arguments) -> {
            try {
                return method.invoke(client, arguments);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            } finally {
                if (method.getName().equals("close") && method.getParameterCount() == 0) {
                    http.close();
                }
            }
        };
        return (KinesisAsyncClient) Proxy.newProxyInstance(
                KinesisAsyncClient.class.getClassLoader(),
                new Class<?>[] {KinesisAsyncClient.class}, calls);
    }
}
