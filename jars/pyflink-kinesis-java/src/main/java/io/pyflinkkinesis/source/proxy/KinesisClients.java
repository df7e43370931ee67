package io.pyflinkkinesis.source.proxy;

import io.pyflinkkinesis.source.config.SourceOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kinesis.sink.KinesisStreamsConfigConstants;
import org.apache.flink.connector.kinesis.source.proxy.KinesisStreamProxy;
import org.apache.flink.kinesis.shaded.org.apache.flink.connector.aws.config.AWSConfigConstants;
import org.apache.flink.kinesis.shaded.org.apache.flink.connector.aws.util.AWSClientUtil;
import org.apache.flink.kinesis.shaded.org.apache.flink.connector.aws.util.AWSGeneralUtil;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.client.config.SdkAdvancedClientOption;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.retry.RetryMode;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.retry.RetryPolicy;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.retry.backoff.BackoffStrategy;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.retry.backoff.EqualJitterBackoffStrategy;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.retry.conditions.OrRetryCondition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.retry.conditions.RetryCondition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.retry.conditions.RetryOnExceptionsCondition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.http.SdkHttpClient;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.http.apache.ApacheHttpClient;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.KinesisClient;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.LimitExceededException;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.utils.AttributeMap;

import java.net.URI;
import java.time.Duration;
import java.util.Collections;
import java.util.Properties;

/**
 * The source's Kinesis client: made as connector 4.3.0's {@code KinesisStreamsSource} makes it
 * (its {@code AWSClientUtil.createAwsSyncClient}: region, endpoint, credentials, user agent),
 * with the retries of connector 5.x's source, which 4.3.0's cannot take: {@link
 * SourceOptions#RETRY_STRATEGY_MAX_ATTEMPTS} attempts, pauses growing exponentially from {@link
 * SourceOptions#RETRY_STRATEGY_MIN_DELAY} to {@link SourceOptions#RETRY_STRATEGY_MAX_DELAY}
 * (half of each pause random), no retry quota, {@code LimitExceededException} retried too.
 */
public final class KinesisClients {

    private KinesisClients() {
    }

    /** A client for the AWS keys and retry options in {@code config}, with its HTTP client. */
    public static KinesisStreamProxy streamProxy(Configuration config) {
        Properties properties = new Properties();
        config.addAllToProperties(properties);
        AWSGeneralUtil.validateAwsCredentials(properties);
        SdkHttpClient httpClient = AWSGeneralUtil.createSyncHttpClient(
                AttributeMap.builder().build(), ApacheHttpClient.builder());
        KinesisClient client = KinesisClient.builder()
                .httpClient(httpClient)
                .overrideConfiguration(ClientOverrideConfiguration.builder()
                        .putAdvancedOption(SdkAdvancedClientOption.USER_AGENT_PREFIX,
                                userAgentPrefix(properties))
                        .retryPolicy(retryPolicy(config))
                        .build())
                .credentialsProvider(AWSGeneralUtil.getCredentialsProvider(properties))
                .region(AWSGeneralUtil.getRegion(properties))
                .applyMutation(builder -> {
                    if (properties.containsKey(AWSConfigConstants.AWS_ENDPOINT)) {
                        builder.endpointOverride(URI.create(
                                properties.getProperty(AWSConfigConstants.AWS_ENDPOINT)));
                    }
                })
                .build();
        return new KinesisStreamProxy(client, httpClient);
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

    private static String userAgentPrefix(Properties properties) {
        String prefix = properties.getProperty(
                KinesisStreamsConfigConstants.KINESIS_CLIENT_USER_AGENT_PREFIX);
        return prefix != null ? prefix : AWSClientUtil.formatFlinkUserAgentPrefix(
                KinesisStreamsConfigConstants.BASE_KINESIS_USER_AGENT_PREFIX_FORMAT + " V2");
    }
}
