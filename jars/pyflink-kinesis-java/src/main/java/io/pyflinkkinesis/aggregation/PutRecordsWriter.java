package io.pyflinkkinesis.aggregation;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.connector.base.sink.throwable.FatalExceptionClassifier;
import org.apache.flink.connector.base.sink.writer.AsyncSinkFatalExceptionClassifiers;
import org.apache.flink.connector.base.sink.writer.AsyncSinkWriter;
import org.apache.flink.connector.base.sink.writer.BufferedRequestState;
import org.apache.flink.connector.base.sink.writer.ElementConverter;
import org.apache.flink.connector.base.sink.writer.ResultHandler;
import org.apache.flink.connector.base.sink.writer.config.AsyncSinkWriterConfiguration;
import org.apache.flink.connector.base.sink.writer.strategy.AIMDScalingStrategy;
import org.apache.flink.connector.base.sink.writer.strategy.CongestionControlRateLimitingStrategy;
import org.apache.flink.connector.base.sink.writer.strategy.RateLimitingStrategy;
import org.apache.flink.kinesis.shaded.org.apache.flink.connector.aws.util.AWSCredentialFatalExceptionClassifiers;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ResourceNotFoundException;
import org.apache.flink.metrics.Counter;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Writes finished Kinesis records (aggregates and plain records) with PutRecords, as the
 * connector's {@code KinesisStreamsSinkWriter} does: same batching, buffering, rate limiting
 * (AIMD congestion control) and error handling, and the same state, so everything not yet
 * acknowledged is in each checkpoint. In addition it re-sends the records of aggregates that
 * landed in a shard whose consumers would drop them (see {@link PutRecordsOutcome}).
 */
final class PutRecordsWriter extends AsyncSinkWriter<PutRecordsRequestEntry, PutRecordsRequestEntry> {

    private static final Logger LOG = LoggerFactory.getLogger(PutRecordsWriter.class);

    /** PutRecords takes at most 500 records and 5 MiB, partition keys included. */
    static final int MAX_RECORDS_PER_REQUEST = 500;
    static final long MAX_BYTES_PER_REQUEST = 5L * 1024 * 1024;

    // As the connector's writer.
    private static final int AIMD_INCREASE_RATE = 10;
    private static final double AIMD_DECREASE_FACTOR = 0.99;

    private static final ElementConverter<PutRecordsRequestEntry, PutRecordsRequestEntry>
            AS_IS = (entry, context) -> entry;

    private final StreamClient stream;
    private final LiveShardMap shards;
    private final boolean failOnError;
    private final Counter numRecordsOutErrors;
    private final Counter resent;
    private final FatalExceptionClassifier fatalErrors;

    @SuppressWarnings("deprecation")
    PutRecordsWriter(AggregatingKinesisStreamsSink<?> sink, Sink.InitContext context,
            StreamClient stream, LiveShardMap shards, Counter resent,
            Collection<BufferedRequestState<PutRecordsRequestEntry>> recoveredState) {
        super(AS_IS, context, configuration(sink), recoveredState);
        this.stream = stream;
        this.shards = shards;
        this.failOnError = sink.failOnError;
        this.numRecordsOutErrors = context.metricGroup().getNumRecordsOutErrorsCounter();
        this.resent = resent;
        this.fatalErrors = FatalExceptionClassifier.createChain(
                AsyncSinkFatalExceptionClassifiers.getInterruptedExceptionClassifier(),
                AWSCredentialFatalExceptionClassifiers.getInvalidCredentialsExceptionClassifier(),
                FatalExceptionClassifier.withRootCauseOfType(ResourceNotFoundException.class,
                        error -> new AggregatingSinkException("The Kinesis " + stream.describe()
                                + " was not found: " + error.getMessage(), error)),
                AWSCredentialFatalExceptionClassifiers
                        .getSdkClientMisconfiguredExceptionClassifier());
    }

    private static AsyncSinkWriterConfiguration configuration(AggregatingKinesisStreamsSink<?> sink) {
        return AsyncSinkWriterConfiguration.builder()
                .setMaxBatchSize(sink.maxBatchSize)
                .setMaxBatchSizeInBytes(sink.maxBatchSizeInBytes)
                .setMaxInFlightRequests(sink.maxInFlightRequests)
                .setMaxBufferedRequests(sink.maxBufferedRequests)
                .setMaxTimeInBufferMS(sink.maxTimeInBufferMS)
                .setMaxRecordSizeInBytes(sink.maxRecordSizeInBytes)
                .setRateLimitingStrategy(rateLimiting(sink.maxInFlightRequests, sink.maxBatchSize))
                .build();
    }

    private static RateLimitingStrategy rateLimiting(int maxInFlightRequests, int maxBatchSize) {
        return CongestionControlRateLimitingStrategy.builder()
                .setMaxInFlightRequests(maxInFlightRequests)
                .setInitialMaxInFlightMessages(maxBatchSize)
                .setScalingStrategy(AIMDScalingStrategy.builder(maxBatchSize * maxInFlightRequests)
                        .setIncreaseRate(AIMD_INCREASE_RATE)
                        .setDecreaseFactor(AIMD_DECREASE_FACTOR)
                        .build())
                .build();
    }

    /** The size the buffer and the state count: data only, as the connector's state stores it. */
    @Override
    protected long getSizeInBytes(PutRecordsRequestEntry entry) {
        return entry.data().asByteArrayUnsafe().length;
    }

    @Override
    protected void submitRequestEntries(List<PutRecordsRequestEntry> entries,
            ResultHandler<PutRecordsRequestEntry> handler) {
        int count = fittingCount(entries);
        List<PutRecordsRequestEntry> sent = new ArrayList<>(entries.subList(0, count));
        List<PutRecordsRequestEntry> later = new ArrayList<>(entries.subList(count, entries.size()));
        CompletableFuture<PutRecordsResponse> response;
        try {
            response = stream.putRecords(sent);
        } catch (RuntimeException e) {
            response = new CompletableFuture<>();
            response.completeExceptionally(e);
        }
        response.whenComplete((result, error) -> {
            try {
                if (error != null) {
                    onRequestFailed(error, sent, later, handler);
                } else {
                    onResponse(result, sent, later, handler);
                }
            } catch (RuntimeException e) {
                handler.completeExceptionally(e);
            }
        });
    }

    /**
     * How many of {@code entries}, from the first, fit in the 5 MiB of one PutRecords request:
     * the buffer limits a batch by data bytes only, Kinesis counts partition keys too. The rest
     * waits for the next request. (The builder keeps batches within 500 records.)
     */
    static int fittingCount(List<PutRecordsRequestEntry> entries) {
        long bytes = 0;
        int count = 0;
        for (PutRecordsRequestEntry entry : entries) {
            bytes += entry.data().asByteArrayUnsafe().length
                    + entry.partitionKey().getBytes(StandardCharsets.UTF_8).length;
            if (count > 0 && bytes > MAX_BYTES_PER_REQUEST) {
                break;
            }
            count++;
        }
        return count;
    }

    private void onRequestFailed(Throwable error, List<PutRecordsRequestEntry> sent,
            List<PutRecordsRequestEntry> later, ResultHandler<PutRecordsRequestEntry> handler) {
        LOG.debug("PutRecords of {} records to the Kinesis {} failed", sent.size(),
                stream.describe(), error);
        numRecordsOutErrors.inc(sent.size());
        // isFatal is true when the error is *not* fatal; a fatal one went to the handler.
        if (!fatalErrors.isFatal(error, handler::completeExceptionally)) {
            return;
        }
        if (failOnError) {
            handler.completeExceptionally(new AggregatingSinkException("PutRecords of "
                    + sent.size() + " records to the Kinesis " + stream.describe()
                    + " failed and failOnError is set: " + error, error));
            return;
        }
        List<PutRecordsRequestEntry> retry = new ArrayList<>(sent);
        retry.addAll(later);
        handler.retryForEntries(retry);
    }

    private void onResponse(PutRecordsResponse response, List<PutRecordsRequestEntry> sent,
            List<PutRecordsRequestEntry> later, ResultHandler<PutRecordsRequestEntry> handler) {
        PutRecordsOutcome outcome = PutRecordsOutcome.of(sent, response);
        if (!outcome.failed.isEmpty()) {
            LOG.debug("PutRecords to the Kinesis {} failed for {} of {} records, first: {}",
                    stream.describe(), outcome.failed.size(), sent.size(), outcome.firstError);
            numRecordsOutErrors.inc(outcome.failed.size());
            if (failOnError) {
                handler.completeExceptionally(new AggregatingSinkException("PutRecords to the "
                        + "Kinesis " + stream.describe() + " failed for " + outcome.failed.size()
                        + " of " + sent.size() + " records and failOnError is set; the first "
                        + "error: " + outcome.firstError));
                return;
            }
        }
        outcome.resends(shards).whenComplete((resends, error) -> {
            if (error != null) {
                handler.completeExceptionally(new AggregatingSinkException(
                        "Could not check where the aggregates landed", error));
                return;
            }
            if (!resends.isEmpty()) {
                LOG.info("Re-sending {} records of aggregates that landed in a shard whose "
                        + "consumers would drop them (the Kinesis {} was resharded)",
                        resends.size(), stream.describe());
                resent.inc(resends.size());
            }
            List<PutRecordsRequestEntry> retry = new ArrayList<>(outcome.failed);
            retry.addAll(later);
            retry.addAll(resends);
            if (retry.isEmpty()) {
                handler.complete();
            } else {
                handler.retryForEntries(retry);
            }
        });
    }
}
