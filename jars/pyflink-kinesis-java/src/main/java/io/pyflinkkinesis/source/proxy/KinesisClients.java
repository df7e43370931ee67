package io.pyflinkkinesis.source.proxy;

import io.pyflinkkinesis.source.config.SourceOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kinesis.sink.KinesisStreamsConfigConstants;
import org.apache.flink.connector.kinesis.source.proxy.KinesisStreamProxy;
import org.apache.flink.kinesis.shaded.org.apache.flink.connector.aws.config.AWSConfigConstants;
import org.apache.flink.kinesis.shaded.org.apache.flink.connector.aws.util.AWSClientUtil;
import org.apache.flink.kinesis.shaded.org.apache.flink.connector.aws.util.AWSGeneralUtil;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.awscore.client.builder.AwsClientBuilder;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.SdkRequest;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.client.config.SdkAdvancedClientOption;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.interceptor.Context;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.retry.RetryMode;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.retry.RetryPolicy;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.retry.backoff.BackoffStrategy;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.retry.backoff.EqualJitterBackoffStrategy;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.retry.conditions.AndRetryCondition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.retry.conditions.OrRetryCondition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.retry.conditions.RetryCondition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.retry.conditions.RetryOnExceptionsCondition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.http.Protocol;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.http.SdkHttpClient;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.http.SdkHttpConfigurationOption;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.http.apache.ApacheHttpClient;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.http.async.SdkAsyncHttpClient;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.KinesisClient;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.GetRecordsRequest;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.LimitExceededException;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ProvisionedThroughputExceededException;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.utils.AttributeMap;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.Locale;
import java.util.Properties;

/**
 * The source's Kinesis client: made as connector 4.3.0's {@code KinesisStreamsSource} makes it
 * (its {@code AWSClientUtil.createAwsSyncClient}: region, endpoint, credentials, user agent),
 * with the retries of connector 5.x's source, which 4.3.0's cannot take: {@link
 * SourceOptions#RETRY_STRATEGY_MAX_ATTEMPTS} attempts, pauses growing exponentially from {@link
 * SourceOptions#RETRY_STRATEGY_MIN_DELAY} to {@link SourceOptions#RETRY_STRATEGY_MAX_DELAY}
 * (half of each pause random), no retry quota, {@code LimitExceededException} retried too, a
 * throttled {@code GetRecords} left to the polling reader ({@link #readerPacedRetryPolicy}); and
 * the asynchronous client of enhanced fan-out, made the same way ({@link #asyncClient}).
 */
public final class KinesisClients {

    /** AWS service hosts end in one of these. */
    private static final String[] AWS_DOMAINS = {"amazonaws.com", "amazonaws.com.cn", "api.aws"};

    private KinesisClients() {
    }

    /** A client for the AWS keys and retry options in {@code config}, with its HTTP client. */
    public static KinesisStreamProxy streamProxy(Configuration config) {
        Properties properties = properties(config);
        SdkHttpClient httpClient = AWSGeneralUtil.createSyncHttpClient(
                AttributeMap.builder().build(), ApacheHttpClient.builder());
        GetRecordsLimit limit = new GetRecordsLimit(config.get(SourceOptions.SHARD_GET_RECORDS_MAX));
        KinesisClient client = configured(KinesisClient.builder().httpClient(httpClient),
                config, properties, readerPacedRetryPolicy(config), limit).build();
        return new KinesisStreamProxy(client, httpClient);
    }

    /**
     * The asynchronous client enhanced fan-out needs (SubscribeToShard, the stream consumer
     * calls), configured as {@link #streamProxy} but always over HTTP/2: SubscribeToShard is an
     * HTTP/2 event stream, so {@code aws.http.protocol.version} (HTTP1_1 for plain {@code
     * http://} servers, for the sink) does not apply to it. Closing it closes its HTTP client.
     */
    public static KinesisAsyncClient asyncClient(Configuration config) {
        Properties properties = properties(config);
        SdkAsyncHttpClient httpClient = AWSGeneralUtil.createAsyncHttpClient(
                AttributeMap.builder()
                        .put(SdkHttpConfigurationOption.PROTOCOL, Protocol.HTTP2)
                        .put(SdkHttpConfigurationOption.TCP_KEEPALIVE, true)
                        .build(),
                NettyNioAsyncHttpClient.builder());
        KinesisAsyncClient client = configured(
                KinesisAsyncClient.builder().httpClient(httpClient), config, properties,
                retryPolicy(config)).build();
        return closingBoth(client, httpClient);
    }

    /**
     * True when {@code config} talks to AWS: no {@code aws.endpoint}, or one on an AWS host (as
     * {@code pyflink_kinesis.config.endpoint} tells them). Local servers (kinesis-mock) differ
     * from AWS in ways the EFO reader works around.
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

    private static Properties properties(Configuration config) {
        Properties properties = new Properties();
        config.addAllToProperties(properties);
        AWSGeneralUtil.validateAwsCredentials(properties);
        return properties;
    }

    /**
     * {@code builder} with the user agent, {@code retries}, credentials, region, endpoint and
     * {@code interceptors}.
     */
    private static <B extends AwsClientBuilder<B, ?>> B configured(
            B builder, Configuration config, Properties properties, RetryPolicy retries,
            ExecutionInterceptor... interceptors) {
        builder.overrideConfiguration(ClientOverrideConfiguration.builder()
                        .putAdvancedOption(SdkAdvancedClientOption.USER_AGENT_PREFIX,
                                userAgentPrefix(properties))
                        .retryPolicy(retries)
                        .executionInterceptors(Arrays.asList(interceptors))
                        .build())
                .credentialsProvider(AWSGeneralUtil.getCredentialsProvider(properties))
                .region(AWSGeneralUtil.getRegion(properties));
        if (properties.containsKey(AWSConfigConstants.AWS_ENDPOINT)) {
            builder.endpointOverride(
                    URI.create(properties.getProperty(AWSConfigConstants.AWS_ENDPOINT)));
        }
        return builder;
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

    /**
     * Asks for at most {@code source.shard.get-records.max-record-count} records in each
     * GetRecords call (connector 4.3.0's client sends no limit: Kinesis' 10,000).
     */
    static final class GetRecordsLimit implements ExecutionInterceptor {
        private final int limit;

        GetRecordsLimit(int limit) {
            this.limit = limit;
        }

        @Override
        public SdkRequest modifyRequest(
                Context.ModifyRequest context, ExecutionAttributes attributes) {
            SdkRequest request = context.request();
            return request instanceof GetRecordsRequest
                    ? ((GetRecordsRequest) request).toBuilder().limit(limit).build()
                    : request;
        }
    }

    /** The retries of {@code config}'s {@code retry-strategy.*} options (5.x's defaults). */
    static RetryPolicy retryPolicy(Configuration config) {
        Duration minDelay = config.get(SourceOptions.RETRY_STRATEGY_MIN_DELAY);
        Duration maxDelay = config.get(SourceOptions.RETRY_STRATEGY_MAX_DELAY);
        BackoffStrategy backoff = EqualJitterBackoffStrategy.builder()
                .baseDelay(minDelay)
                .maxBackoffTime(maxDelay)
                .build();
        return RetryPolicy.builder(RetryMode.STANDARD)
                .numRetries(config.get(SourceOptions.RETRY_STRATEGY_MAX_ATTEMPTS) - 1)
                .backoffStrategy(backoff)
                .throttlingBackoffStrategy(backoff)
                .retryCondition(OrRetryCondition.create(
                        RetryCondition.defaultRetryCondition(),
                        RetryOnExceptionsCondition.create(
                                Collections.singleton(LimitExceededException.class))))
                .retryCapacityCondition(null)
                .build();
    }

    /**
     * {@link #retryPolicy} but for a throttled {@code GetRecords}
     * ({@code ProvisionedThroughputExceededException}), which the polling reader paces itself
     * ({@link io.pyflinkkinesis.source.reader.PausableShardSplitReader}): it asks the shard again
     * one {@code source.reader.empty-records-fetch-interval} after the throttled call began,
     * where the SDK's growing pauses (up to {@code retry-strategy.delay.max}) leave a shard's
     * read quota unused after it refilled.
     */
    static RetryPolicy readerPacedRetryPolicy(Configuration config) {
        RetryPolicy retries = retryPolicy(config);
        RetryCondition notAThrottledGetRecords = context ->
                !(context.originalRequest() instanceof GetRecordsRequest
                        && context.exception() instanceof ProvisionedThroughputExceededException);
        return retries.toBuilder()
                .retryCondition(AndRetryCondition.create(
                        retries.retryCondition(), notAThrottledGetRecords))
                .build();
    }

    private static String userAgentPrefix(Properties properties) {
        String prefix = properties.getProperty(
                KinesisStreamsConfigConstants.KINESIS_CLIENT_USER_AGENT_PREFIX);
        return prefix != null ? prefix : AWSClientUtil.formatFlinkUserAgentPrefix(
                KinesisStreamsConfigConstants.BASE_KINESIS_USER_AGENT_PREFIX_FORMAT + " V2");
    }
}
