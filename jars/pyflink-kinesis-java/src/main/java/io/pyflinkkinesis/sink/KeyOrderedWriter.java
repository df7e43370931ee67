package io.pyflinkkinesis.sink;

import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.operators.ProcessingTimeService;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.StatefulSink;
import org.apache.flink.connector.base.sink.writer.BufferedRequestState;
import org.apache.flink.connector.base.sink.writer.ElementConverter;
import org.apache.flink.connector.base.sink.writer.RequestEntryWrapper;
import org.apache.flink.connector.base.sink.writer.strategy.BasicRequestInfo;
import org.apache.flink.connector.base.sink.writer.strategy.BasicResultInfo;
import org.apache.flink.connector.base.sink.writer.strategy.RateLimitingStrategy;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResultEntry;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.groups.SinkWriterMetricGroup;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Writes PutRecords entries so that, for every key, Kinesis stores them in the order they were
 * written: an entry is sent only when every earlier entry of its keys has been acknowledged, so
 * a request holds at most one entry per key, and an entry Kinesis rejected (throttling, a
 * partial failure, a 5xx, a reset connection) is sent again before anything later of its keys.
 * Entries of other keys go on meanwhile. A request sent again may store an entry twice (the
 * first attempt may have been stored before its answer was lost): at-least-once, as the
 * connector's writer.
 *
 * <p>The rest is the connector writer's behaviour, with its settings: requests of at most
 * maxBatchSize entries and maxBatchSizeInBytes (and Kinesis' 5 MiB, keys included), at most
 * maxInFlightRequests in flight with AIMD congestion control on rejected entries, writes blocked
 * while maxBufferedRequests wait, failOnError, the same fatal errors and metrics. An entry waits
 * at most maxTimeInBufferMS after it was written, or after the entry of its keys before it was
 * acknowledged if that is later; the entries that can go are sent at once when the waiting ones
 * would fill a request. At a checkpoint the requests in flight are completed; the state holds
 * every entry not acknowledged, oldest first, in the connector's format, so a restore writes
 * them again in order, before new records.
 *
 * <p>Everything but the PutRecords calls runs in the task's mailbox thread.
 */
public final class KeyOrderedWriter<InputT>
        implements StatefulSink.StatefulSinkWriter<InputT,
                BufferedRequestState<PutRecordsRequestEntry>> {

    private static final Logger LOG = LoggerFactory.getLogger(KeyOrderedWriter.class);

    /** The keys whose order an entry keeps: a record's partition key, an aggregate's keys. */
    public interface EntryKeys {
        Collection<String> of(PutRecordsRequestEntry entry);
    }

    /**
     * Entries PutRecords stored that must be written again as other entries (an aggregate that
     * landed where its readers drop it, written again as its records): by index in the request,
     * what to write instead, in order, each under keys of the entry it replaces.
     */
    public interface Resends {
        Resends NONE = (sent, response) -> CompletableFuture.completedFuture(
                Collections.emptyMap());

        CompletableFuture<Map<Integer, List<PutRecordsRequestEntry>>> of(
                List<PutRecordsRequestEntry> sent, PutRecordsResponse response);
    }

    private final ElementConverter<InputT, PutRecordsRequestEntry> converter;
    private final PutRecordsSettings settings;
    private final StreamClient stream;
    private final EntryKeys keys;
    private final Resends resends;
    private final PutRecordsErrors errors;
    private final MailboxExecutor mailbox;
    private final ProcessingTimeService time;
    private final RateLimitingStrategy rateLimiting;
    private final KeyQueues<PutRecordsRequestEntry> queues = new KeyQueues<>();
    private final Counter numBytesOut;
    private final Counter numRecordsOut;
    private final Counter numRecordsOutErrors;

    private int inFlightRequests;
    private boolean timerSet;
    private long lastSendMs;
    private long lastAckMs;

    /**
     * A writer of {@code stream}, which it closes on {@link #close}; the entries of {@code
     * recoveredState} are written first, in their order.
     */
    @SuppressWarnings("deprecation")
    public KeyOrderedWriter(ElementConverter<InputT, PutRecordsRequestEntry> converter,
            Sink.InitContext context, PutRecordsSettings settings, StreamClient stream,
            EntryKeys keys, Resends resends,
            Collection<BufferedRequestState<PutRecordsRequestEntry>> recoveredState) {
        this.converter = converter;
        this.settings = settings;
        this.stream = stream;
        this.keys = keys;
        this.resends = resends;
        this.errors = new PutRecordsErrors(stream.describe(), settings.failOnError);
        this.mailbox = context.getMailboxExecutor();
        this.time = context.getProcessingTimeService();
        this.rateLimiting = settings.rateLimiting();
        SinkWriterMetricGroup metrics = context.metricGroup();
        metrics.setCurrentSendTimeGauge(() -> lastAckMs - lastSendMs);
        this.numBytesOut = metrics.getIOMetricGroup().getNumBytesOutCounter();
        this.numRecordsOut = metrics.getIOMetricGroup().getNumRecordsOutCounter();
        this.numRecordsOutErrors = metrics.getNumRecordsOutErrorsCounter();
        converter.open(context);
        for (BufferedRequestState<PutRecordsRequestEntry> state : recoveredState) {
            for (RequestEntryWrapper<PutRecordsRequestEntry> entry
                    : state.getBufferedRequestEntries()) {
                add(entry.getRequestEntry());
            }
        }
    }

    @Override
    public void write(InputT element, Context context) throws InterruptedException {
        // Added before waiting for room: a write nested in the wait (a timer of the caller's)
        // comes after it.
        add(converter.apply(element, context));
        while (queues.waiting() > settings.maxBufferedRequests) {
            if (!send()) {
                mailbox.yield();
            }
        }
        sendDue();
    }

    private void add(PutRecordsRequestEntry entry) {
        PutRecordsErrors.checkedKey(entry);
        long size = entry.data().asByteArrayUnsafe().length;
        if (size > settings.maxRecordSizeInBytes) {
            throw new IllegalArgumentException("A record of " + size + " bytes is bigger than "
                    + "maxRecordSizeInBytes (" + settings.maxRecordSizeInBytes + ")");
        }
        queues.add(entry, keys.of(entry), size, PutRecordsSettings.requestBytes(entry),
                time.getCurrentProcessingTime());
        armTimer();
    }

    /**
     * Sends the entries that can go while requests may be sent and the waiting entries would
     * fill one, or the oldest that can go has waited maxTimeInBufferMS.
     */
    private void sendDue() {
        while (queues.hasReady() && (full() || due()) && send()) {
            // one request per round
        }
        armTimer();
    }

    private boolean full() {
        return queues.waiting() >= batchLimit()
                || queues.waitingSize() >= settings.maxBatchSizeInBytes;
    }

    private boolean due() {
        return queues.oldestReady().addedMs + settings.maxTimeInBufferMS
                <= time.getCurrentProcessingTime();
    }

    private int batchLimit() {
        return Math.min(settings.maxBatchSize, rateLimiting.getMaxBatchSize());
    }

    private void armTimer() {
        if (timerSet || !queues.hasReady()) {
            return;
        }
        timerSet = true;
        time.registerTimer(queues.oldestReady().addedMs + settings.maxTimeInBufferMS, now -> {
            timerSet = false;
            sendDue();
        });
    }

    /** Sends one request of the entries that can go, if any and the rate limit allows it. */
    private boolean send() {
        if (!queues.hasReady() || rateLimiting.shouldBlock(
                new BasicRequestInfo(Math.min(batchLimit(), queues.readyCount())))) {
            return false;
        }
        List<KeyQueues.Entry<PutRecordsRequestEntry>> batch = queues.take(batchLimit(),
                settings.maxBatchSizeInBytes, PutRecordsSettings.MAX_BYTES_PER_REQUEST);
        List<PutRecordsRequestEntry> sent = new ArrayList<>(batch.size());
        long bytes = 0;
        for (KeyQueues.Entry<PutRecordsRequestEntry> entry : batch) {
            sent.add(entry.value);
            bytes += entry.size;
        }
        rateLimiting.registerInFlightRequest(new BasicRequestInfo(batch.size()));
        inFlightRequests++;
        numBytesOut.inc(bytes);
        numRecordsOut.inc(batch.size());
        long sentMs = System.currentTimeMillis();
        CompletableFuture<PutRecordsResponse> response;
        try {
            response = stream.putRecords(sent);
        } catch (RuntimeException e) {
            response = failed(e);
        }
        response.whenComplete((result, error) -> {
            if (error != null) {
                mailbox.execute(() -> onFailedRequest(batch, error, sentMs),
                        "PutRecords of %d records failed", batch.size());
                return;
            }
            CompletableFuture<Map<Integer, List<PutRecordsRequestEntry>>> replacements;
            try {
                replacements = resends.of(sent, result);
            } catch (RuntimeException e) {
                replacements = failed(e);
            }
            replacements.whenComplete((resent, checkError) -> mailbox.execute(
                    () -> onResponse(batch, result, resent, checkError, sentMs),
                    "PutRecords of %d records answered", batch.size()));
        });
        return true;
    }

    private void onFailedRequest(List<KeyQueues.Entry<PutRecordsRequestEntry>> batch,
            Throwable error, long sentMs) throws Exception {
        LOG.debug("PutRecords of {} records to the Kinesis {} failed", batch.size(),
                stream.describe(), error);
        completed(batch.size(), batch.size(), sentMs);
        numRecordsOutErrors.inc(batch.size());
        Exception fatal = errors.ofRequest(error, batch.size());
        if (fatal != null) {
            throw fatal;
        }
        for (KeyQueues.Entry<PutRecordsRequestEntry> entry : batch) {
            queues.retry(entry);
        }
        sendDue();
    }

    private void onResponse(List<KeyQueues.Entry<PutRecordsRequestEntry>> batch,
            PutRecordsResponse response, Map<Integer, List<PutRecordsRequestEntry>> resent,
            Throwable checkError, long sentMs) throws Exception {
        List<PutRecordsResultEntry> results = response.records();
        int failed = 0;
        String firstError = null;
        for (PutRecordsResultEntry result : results) {
            if (result.errorCode() != null) {
                failed++;
                firstError = firstError != null ? firstError
                        : result.errorCode() + ": " + result.errorMessage();
            }
        }
        completed(failed, batch.size(), sentMs);
        if (checkError != null) {
            throw new KinesisSinkException("Could not check the PutRecords answer of the Kinesis "
                    + stream.describe(), checkError);
        }
        if (results.size() != batch.size()) {
            throw new KinesisSinkException("PutRecords answered " + results.size()
                    + " results for " + batch.size() + " records");
        }
        if (failed > 0) {
            LOG.debug("PutRecords to the Kinesis {} failed for {} of {} records, first: {}",
                    stream.describe(), failed, batch.size(), firstError);
            numRecordsOutErrors.inc(failed);
            Exception fatal = errors.ofEntries(failed, batch.size(), firstError);
            if (fatal != null) {
                throw fatal;
            }
        }
        for (int i = 0; i < batch.size(); i++) {
            KeyQueues.Entry<PutRecordsRequestEntry> entry = batch.get(i);
            List<PutRecordsRequestEntry> instead = resent.get(i);
            if (results.get(i).errorCode() != null) {
                queues.retry(entry);
            } else if (instead != null) {
                queues.replace(entry, replacements(instead));
            } else {
                queues.acknowledge(entry);
            }
        }
        sendDue();
    }

    private List<KeyQueues.Replacement<PutRecordsRequestEntry>> replacements(
            List<PutRecordsRequestEntry> entries) {
        List<KeyQueues.Replacement<PutRecordsRequestEntry>> replacements =
                new ArrayList<>(entries.size());
        for (PutRecordsRequestEntry entry : entries) {
            replacements.add(new KeyQueues.Replacement<>(entry, keys.of(entry),
                    entry.data().asByteArrayUnsafe().length,
                    PutRecordsSettings.requestBytes(entry)));
        }
        return replacements;
    }

    private void completed(int failedEntries, int batchSize, long sentMs) {
        inFlightRequests--;
        rateLimiting.registerCompletedRequest(new BasicResultInfo(failedEntries, batchSize));
        lastSendMs = sentMs;
        lastAckMs = System.currentTimeMillis();
    }

    /**
     * Writes everything, at a checkpoint as at the end of the input: when a checkpoint
     * completes, every record the sink received before its barrier is in Kinesis. (Flink's own
     * async sinks only wait for the requests in flight and keep the rest in their state.) This
     * is what lets a reader hand out a child shard after such a checkpoint with the parent's last
     * records already written: per-key order end to end, not only inside this sink.
     */
    @Override
    public void flush(boolean endOfInput) throws InterruptedException {
        while (!queues.isEmpty()) {
            if (!send()) {
                mailbox.yield();
            }
        }
    }

    /** Every entry not yet acknowledged, oldest first (after {@link #flush}, none in flight). */
    @Override
    public List<BufferedRequestState<PutRecordsRequestEntry>> snapshotState(long checkpointId) {
        List<RequestEntryWrapper<PutRecordsRequestEntry>> entries = new ArrayList<>();
        for (KeyQueues.Entry<PutRecordsRequestEntry> entry : queues.inOrder()) {
            entries.add(new RequestEntryWrapper<>(entry.value, entry.size));
        }
        return Collections.singletonList(new BufferedRequestState<>(entries));
    }

    @Override
    public void close() {
        stream.close();
    }

    private static <T> CompletableFuture<T> failed(Throwable error) {
        CompletableFuture<T> result = new CompletableFuture<>();
        result.completeExceptionally(error);
        return result;
    }
}
