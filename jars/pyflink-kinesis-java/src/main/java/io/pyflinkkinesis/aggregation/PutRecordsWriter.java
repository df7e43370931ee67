package io.pyflinkkinesis.aggregation;

import io.pyflinkkinesis.sink.KinesisSinkException;
import io.pyflinkkinesis.sink.PutRecordsErrors;
import io.pyflinkkinesis.sink.PutRecordsSettings;
import io.pyflinkkinesis.sink.StreamClient;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.connector.base.sink.writer.AsyncSinkWriter;
import org.apache.flink.connector.base.sink.writer.BufferedRequestState;
import org.apache.flink.connector.base.sink.writer.ElementConverter;
import org.apache.flink.connector.base.sink.writer.ResultHandler;
import org.apache.flink.connector.base.sink.writer.config.AsyncSinkWriterConfiguration;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import org.apache.flink.metrics.Counter;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
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

    /** The entries as they are: the aggregating writer makes them. */
    static final ElementConverter<PutRecordsRequestEntry, PutRecordsRequestEntry> AS_IS =
            (entry, context) -> entry;

    private final StreamClient stream;
    private final LiveShardMap shards;
    private final PutRecordsErrors errors;
    private final Counter numRecordsOutErrors;
    private final Counter resent;

    @SuppressWarnings("deprecation")
    PutRecordsWriter(PutRecordsSettings settings, Sink.InitContext context, StreamClient stream,
            LiveShardMap shards, Counter resent,
            Collection<BufferedRequestState<PutRecordsRequestEntry>> recoveredState) {
        super(AS_IS, context, configuration(settings), recoveredState);
        this.stream = stream;
        this.shards = shards;
        this.errors = new PutRecordsErrors(stream.describe(), settings.failOnError);
        this.numRecordsOutErrors = context.metricGroup().getNumRecordsOutErrorsCounter();
        this.resent = resent;
    }

    private static AsyncSinkWriterConfiguration configuration(PutRecordsSettings settings) {
        return AsyncSinkWriterConfiguration.builder()
                .setMaxBatchSize(settings.maxBatchSize)
                .setMaxBatchSizeInBytes(settings.maxBatchSizeInBytes)
                .setMaxInFlightRequests(settings.maxInFlightRequests)
                .setMaxBufferedRequests(settings.maxBufferedRequests)
                .setMaxTimeInBufferMS(settings.maxTimeInBufferMS)
                .setMaxRecordSizeInBytes(settings.maxRecordSizeInBytes)
                .setRateLimitingStrategy(settings.rateLimiting())
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
            bytes += PutRecordsSettings.requestBytes(entry);
            if (count > 0 && bytes > PutRecordsSettings.MAX_BYTES_PER_REQUEST) {
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
        Exception fatal = errors.ofRequest(error, sent.size());
        if (fatal != null) {
            handler.completeExceptionally(fatal);
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
            Exception fatal = errors.ofEntries(outcome.failed.size(), sent.size(),
                    outcome.firstError);
            if (fatal != null) {
                handler.completeExceptionally(fatal);
                return;
            }
        }
        outcome.resends(shards).whenComplete((resends, error) -> {
            if (error != null) {
                handler.completeExceptionally(new KinesisSinkException(
                        "Could not check where the aggregates landed", error));
                return;
            }
            List<PutRecordsRequestEntry> retry = new ArrayList<>(outcome.failed);
            retry.addAll(later);
            for (List<PutRecordsRequestEntry> records : resends.values()) {
                retry.addAll(records);
            }
            countResent(resends, stream, resent);
            if (retry.isEmpty()) {
                handler.complete();
            } else {
                handler.retryForEntries(retry);
            }
        });
    }

    /** Logs and counts the records of misplaced aggregates about to be sent again. */
    static void countResent(Map<Integer, List<PutRecordsRequestEntry>> resends,
            StreamClient stream, Counter resent) {
        int count = PutRecordsOutcome.count(resends);
        if (count > 0) {
            LOG.info("Re-sending {} records of aggregates that landed in a shard whose "
                    + "consumers would drop them (the Kinesis {} was resharded)",
                    count, stream.describe());
            resent.inc(count);
        }
    }
}
