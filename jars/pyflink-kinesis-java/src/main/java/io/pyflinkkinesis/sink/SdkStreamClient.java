package io.pyflinkkinesis.sink;

import org.apache.flink.connector.kinesis.sink.KinesisStreamsConfigConstants;
import org.apache.flink.kinesis.shaded.org.apache.flink.connector.aws.util.AWSClientUtil;
import org.apache.flink.kinesis.shaded.org.apache.flink.connector.aws.util.AWSGeneralUtil;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.http.async.SdkAsyncHttpClient;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ListShardsRequest;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequest;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Shard;

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;

/**
 * The stream through the connector's shaded AWS SDK, with the client built exactly as the
 * connector's {@code KinesisStreamsSinkWriter} builds it, so the same client properties (region,
 * endpoint, credentials, {@code aws.http.protocol.version} ...) work unchanged.
 */
public final class SdkStreamClient implements StreamClient {

    private final String streamName;
    private final String streamArn;
    private final SdkAsyncHttpClient httpClient;
    private final KinesisAsyncClient client;
    private boolean closed;

    /** A client for the stream of {@code settings}, with its client properties. */
    public SdkStreamClient(PutRecordsSettings settings) {
        this.streamName = settings.streamName;
        this.streamArn = settings.streamArn;
        Properties clientProperties = settings.clientProperties;
        AWSGeneralUtil.validateAwsCredentials(clientProperties);
        this.httpClient = AWSGeneralUtil.createAsyncHttpClient(clientProperties);
        this.client = AWSClientUtil.createAwsAsyncClient(clientProperties, httpClient,
                KinesisAsyncClient.builder(),
                KinesisStreamsConfigConstants.BASE_KINESIS_USER_AGENT_PREFIX_FORMAT,
                KinesisStreamsConfigConstants.KINESIS_CLIENT_USER_AGENT_PREFIX);
    }

    @Override
    public String describe() {
        return "stream '" + (streamArn != null ? streamArn : streamName) + "'";
    }

    @Override
    public CompletableFuture<PutRecordsResponse> putRecords(List<PutRecordsRequestEntry> entries) {
        return client.putRecords(PutRecordsRequest.builder()
                .records(entries)
                .streamName(streamName)
                .streamARN(streamArn)
                .build());
    }

    @Override
    public CompletableFuture<List<Shard>> listShards() {
        ListShardsRequest first = streamArn != null
                ? ListShardsRequest.builder().streamARN(streamArn).build()
                : ListShardsRequest.builder().streamName(streamName).build();
        return listFrom(first, new ArrayList<>());
    }

    // Pages after the first name only the token: ListShards rejects a stream with a NextToken.
    private CompletableFuture<List<Shard>> listFrom(ListShardsRequest request, List<Shard> found) {
        return client.listShards(request).thenCompose(page -> {
            found.addAll(page.shards());
            return page.nextToken() == null
                    ? CompletableFuture.completedFuture(found)
                    : listFrom(ListShardsRequest.builder().nextToken(page.nextToken()).build(),
                            found);
        });
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            AWSGeneralUtil.closeResources(httpClient, client);
        }
    }
}
