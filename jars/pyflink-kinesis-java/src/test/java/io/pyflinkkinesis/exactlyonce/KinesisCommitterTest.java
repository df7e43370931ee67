package io.pyflinkkinesis.exactlyonce;

import io.pyflinkkinesis.aggregation.FakeStream;
import io.pyflinkkinesis.aggregation.KeyedRecord;
import io.pyflinkkinesis.aggregation.KplFormat;
import io.pyflinkkinesis.aggregation.TaggedRecord;
import io.pyflinkkinesis.sink.KinesisSinkException;
import io.pyflinkkinesis.sink.StreamClient;
import io.pyflinkkinesis.source.split.ShardMarks;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.connector.sink2.Committer.CommitRequest;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.kinesis.shaded.com.amazonaws.services.kinesis.clientlibrary.types.Messages;
import org.apache.flink.kinesis.shaded.com.amazonaws.services.kinesis.clientlibrary.types.UserRecord;
import org.apache.flink.kinesis.shaded.com.amazonaws.services.kinesis.model.Record;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsResultEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.exception.SdkClientException;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.AccessDeniedException;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ResourceNotFoundException;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Shard;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.UUID;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The committer against {@link FakeStream} (routes by explicit hash key as Kinesis does, can be
 * resharded), wrapped to fail chosen requests and entries and to log, per shard, every aggregate
 * sent and whether it landed.
 */
class KinesisCommitterTest {

    private static final BigInteger MAX_HASH_KEY =
            BigInteger.ONE.shiftLeft(128).subtract(BigInteger.ONE);

    /** A stream that fails what {@link #entryErrors} and {@link #requestErrors} say. */
    private static final class FaultyStream implements StreamClient {
        final FakeStream stream;
        /** The error code for the n-th entry sent (from 0), or null to write it. */
        Function<Integer, String> entryErrors = n -> null;
        /** The error code for an entry by its content, when {@link #entryErrors} gives none. */
        Function<PutRecordsRequestEntry, String> contentErrors = entry -> null;
        /** The error for the n-th request (from 0), or null to send it. */
        Function<Integer, RuntimeException> requestErrors = n -> null;
        /** Requests are answered (and their entries written) once this completes. */
        volatile CompletableFuture<Void> answers = CompletableFuture.completedFuture(null);
        /** Every aggregate sent, in order: its shard (by its explicit hash key) and outcome. */
        final List<Sent> sent = new ArrayList<>();
        int entries;
        int requests;

        FaultyStream(FakeStream stream) {
            this.stream = stream;
        }

        @Override
        public String describe() {
            return stream.describe();
        }

        @Override
        public CompletableFuture<PutRecordsResponse> putRecords(
                List<PutRecordsRequestEntry> batch) {
            stream.requests.add(new ArrayList<>(batch));
            RuntimeException requestError = requestErrors.apply(requests++);
            if (requestError != null) {
                for (PutRecordsRequestEntry entry : batch) {
                    sent.add(new Sent(entry, null));
                }
                CompletableFuture<PutRecordsResponse> failed = new CompletableFuture<>();
                failed.completeExceptionally(requestError);
                return failed;
            }
            return answers.thenApply(answered -> answer(batch));
        }

        private synchronized PutRecordsResponse answer(List<PutRecordsRequestEntry> batch) {
            List<PutRecordsResultEntry> results = new ArrayList<>();
            for (PutRecordsRequestEntry entry : batch) {
                String error = entryErrors.apply(entries++);
                if (error == null) {
                    error = contentErrors.apply(entry);
                }
                PutRecordsResultEntry result = error == null
                        ? stream.write(entry) : FakeStream.failure(error, "injected");
                results.add(result);
                sent.add(new Sent(entry, result.shardId()));
            }
            return PutRecordsResponse.builder().records(results).build();
        }

        @Override
        public CompletableFuture<List<Shard>> listShards() {
            return stream.listShards();
        }

        @Override
        public void close() {
            stream.close();
        }
    }

    /** An aggregate sent: its explicit hash key, its records' ids and the shard it landed in. */
    private static final class Sent {
        final BigInteger explicitHashKey;
        final List<RecordId> ids;
        final String landedIn;

        Sent(PutRecordsRequestEntry entry, String landedIn) {
            this.explicitHashKey = new BigInteger(entry.explicitHashKey());
            this.ids = idsOf(entry);
            this.landedIn = landedIn;
        }
    }

    private static final class Request implements CommitRequest<KinesisCommittable> {
        final KinesisCommittable committable;
        Throwable failed;
        int retries;

        Request(KinesisCommittable committable) {
            this.committable = committable;
        }

        @Override
        public KinesisCommittable getCommittable() {
            return committable;
        }

        @Override
        public int getNumberOfRetries() {
            return retries;
        }

        @Override
        public void signalFailedWithKnownReason(Throwable t) {
            throw new AssertionError("a known reason drops the committable silently", t);
        }

        @Override
        public void signalFailedWithUnknownReason(Throwable t) {
            failed = t;
        }

        @Override
        public void retryLater() {
            retries++;
        }

        @Override
        public void updateAndRetryLater(KinesisCommittable committable) {
            throw new AssertionError("not used");
        }

        @Override
        public void signalAlreadyCommitted() {
            throw new AssertionError("not used");
        }
    }

    /** The ids of an aggregate's records, read by the KPL's own protobuf classes. */
    static List<RecordId> idsOf(PutRecordsRequestEntry entry) {
        byte[] data = entry.data().asByteArray();
        try {
            Messages.AggregatedRecord aggregate = Messages.AggregatedRecord.parseFrom(
                    Arrays.copyOfRange(data, 4, data.length - 16));
            List<RecordId> ids = new ArrayList<>();
            for (Messages.Record record : aggregate.getRecordsList()) {
                assertEquals(1, record.getTagsCount(), "one tag per record");
                assertEquals(RecordId.TAG_KEY, record.getTags(0).getKey());
                ids.add(RecordId.fromTagValue(record.getTags(0).getValue()));
            }
            return ids;
        } catch (Exception e) {
            throw new AssertionError("not a KPL aggregate", e);
        }
    }

    /** {@code count} records over 60 keys, of {@code bytes} bytes each. */
    private static KinesisCommittable committable(RecordId.WriterId writer, long first, int count,
            int bytes) {
        List<KeyedRecord> records = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] data = new byte[bytes];
            byte[] text = ("record " + (first + i)).getBytes(StandardCharsets.UTF_8);
            System.arraycopy(text, 0, data, 0, Math.min(text.length, bytes));
            records.add(new KeyedRecord("key-" + (i % 60), data));
        }
        return new KinesisCommittable(writer, first, records);
    }

    private static KinesisCommitter committer(StreamClient stream, long timeoutMs) {
        return committer(stream, timeoutMs, link());
    }

    private static KinesisCommitter committer(StreamClient stream, long timeoutMs,
            CommitLink link) {
        return new KinesisCommitter(stream, System::currentTimeMillis, Thread::sleep, timeoutMs,
                1, 4, 2, link);
    }

    /** A link of its own, as a subtask's writer and committer share. */
    static CommitLink link() {
        return CommitLink.of(UUID.randomUUID().toString(), new JobID(), 0, 0);
    }

    private static Request commit(KinesisCommitter committer, KinesisCommittable committable)
            throws InterruptedException {
        Request request = new Request(committable);
        committer.commit(Collections.singletonList(request));
        return request;
    }

    /** The shard each of the committables' records must land in, by id, per the stream now. */
    private static Map<String, List<RecordId>> idsByShard(FakeStream stream,
            KinesisCommittable... committables) {
        Map<String, List<RecordId>> byShard = new LinkedHashMap<>();
        for (KinesisCommittable committable : committables) {
            for (int i = 0; i < committable.records().size(); i++) {
                String shard = stream.openShardOf(committable.records().get(i).hashKey);
                byShard.computeIfAbsent(shard, id -> new ArrayList<>()).add(committable.idOf(i));
            }
        }
        return byShard;
    }

    /**
     * Checks the order rule: per shard, each aggregate sent starts right after what already
     * landed there, so what landed is a prefix, in id order, of what was meant for the shard;
     * and at the end exactly all of it landed. Aggregates are attributed to shards by their
     * explicit hash key (the shard's starting hash key).
     */
    private static void assertLandedInOrder(FaultyStream stream, Map<String, List<RecordId>> meant) {
        Map<String, Integer> landed = new HashMap<>();
        for (Sent sent : stream.sent) {
            String shard = stream.stream.openShardOf(sent.explicitHashKey);
            List<RecordId> ids = meant.get(shard);
            int next = landed.getOrDefault(shard, 0);
            assertEquals(ids.subList(next, next + sent.ids.size()), sent.ids,
                    "an aggregate for " + shard + " that does not follow what landed there");
            if (sent.landedIn != null) {
                assertEquals(shard, sent.landedIn);
                landed.put(shard, next + sent.ids.size());
            }
        }
        for (Map.Entry<String, List<RecordId>> shard : meant.entrySet()) {
            assertEquals(shard.getValue().size(), (int) landed.get(shard.getKey()),
                    "not all of " + shard.getKey() + "'s records landed");
        }
    }

    /** What a KCL consumer reads, with each shard's range: every record, with its key. */
    private static void assertConsumedOnce(FakeStream stream, KinesisCommittable committable) {
        List<String> expected = new ArrayList<>();
        for (KeyedRecord record : committable.records()) {
            expected.add(record.partitionKey + "=" + new String(record.data, StandardCharsets.UTF_8));
        }
        List<String> consumed = stream.consumed();
        Collections.sort(expected);
        Collections.sort(consumed);
        assertEquals(expected, consumed);
    }

    @Test
    void writesEachRecordOnceWithItsIdOneAggregatePerRequest() throws Exception {
        FaultyStream stream = new FaultyStream(FakeStream.withEvenShards(4));
        KinesisCommittable committable = committable(RecordId.WriterId.random(), 0, 3000, 1500);

        Request request = commit(committer(stream, 10_000), committable);

        assertNull(request.failed);
        assertEquals(0, request.retries);
        assertLandedInOrder(stream, idsByShard(stream.stream, committable));
        for (List<PutRecordsRequestEntry> sent : stream.stream.requests) {
            assertEquals(1, sent.size(), "a request of several aggregates");
        }
        assertTrue(stream.stream.requests.size() > 1, "records for several aggregates per shard");
        assertConsumedOnce(stream.stream, committable);
        // De-aggregated as the KCL does, each id's record has the key and data written.
        Map<RecordId, UserRecord> byId = new HashMap<>();
        for (List<PutRecordsRequestEntry> shard : stream.stream.landed.values()) {
            for (PutRecordsRequestEntry entry : shard) {
                List<UserRecord> records = UserRecord.deaggregate(Collections.singletonList(
                        new Record().withData(ByteBuffer.wrap(entry.data().asByteArray()))
                                .withPartitionKey(entry.partitionKey()).withSequenceNumber("1")));
                List<RecordId> ids = idsOf(entry);
                assertEquals(ids.size(), records.size());
                for (int i = 0; i < records.size(); i++) {
                    assertNull(byId.put(ids.get(i), records.get(i)), "an id landed twice");
                }
            }
        }
        for (int i = 0; i < committable.records().size(); i++) {
            UserRecord written = byId.get(committable.idOf(i));
            assertEquals(committable.records().get(i).partitionKey, written.getPartitionKey());
            ByteBuffer data = written.getData();
            byte[] bytes = new byte[data.remaining()];
            data.get(bytes);
            assertArrayEquals(committable.records().get(i).data, bytes);
        }
    }

    @Test
    void throttledAndFailedAggregatesAreSentAgainBeforeAnythingLaterOfTheirShard()
            throws Exception {
        FaultyStream stream = new FaultyStream(FakeStream.withEvenShards(4));
        stream.entryErrors = n -> n % 3 == 1 ? "ProvisionedThroughputExceededException"
                : n % 7 == 2 ? "InternalFailure" : null;
        stream.requestErrors = n -> n == 2 ? new IllegalStateException("connection reset") : null;
        RecordId.WriterId writer = RecordId.WriterId.random();
        KinesisCommittable first = committable(writer, 0, 2000, 1500);
        KinesisCommittable second = committable(writer, 2000, 500, 300);
        KinesisCommitter committer = committer(stream, 10_000);

        Request firstRequest = commit(committer, first);
        Request secondRequest = commit(committer, second);

        assertNull(firstRequest.failed);
        assertNull(secondRequest.failed);
        assertTrue(stream.sent.stream().anyMatch(sent -> sent.landedIn == null));
        assertLandedInOrder(stream, idsByShard(stream.stream, first, second));
    }

    @Test
    void aCommittableCommittedAgainWritesTheSameIdsInTheSameOrder() throws Exception {
        KinesisCommittable committable = committable(RecordId.WriterId.random(), 40, 1000, 2000);
        FaultyStream once = new FaultyStream(FakeStream.withEvenShards(3));
        commit(committer(once, 10_000), committable);
        FaultyStream twice = new FaultyStream(FakeStream.withEvenShards(3));
        commit(committer(twice, 10_000), committable);
        // after a restore: a new committer, the same committable from checkpoint state
        commit(committer(twice, 10_000), committable);

        for (Map.Entry<String, List<PutRecordsRequestEntry>> shard
                : once.stream.landed.entrySet()) {
            List<RecordId> first = new ArrayList<>();
            for (PutRecordsRequestEntry entry : shard.getValue()) {
                first.addAll(idsOf(entry));
            }
            List<RecordId> again = new ArrayList<>();
            for (PutRecordsRequestEntry entry : twice.stream.landed.get(shard.getKey())) {
                again.addAll(idsOf(entry));
            }
            List<RecordId> expected = new ArrayList<>(first);
            expected.addAll(first);
            assertEquals(expected, again);
        }
    }

    @Test
    void anAggregateThatLandedInAShardNotHoldingItsRangeIsSentAgainByTheNewMap()
            throws Exception {
        FaultyStream stream = new FaultyStream(FakeStream.withEvenShards(2));
        RecordId.WriterId writer = RecordId.WriterId.random();
        KinesisCommittable before = committable(writer, 0, 100, 100);
        KinesisCommittable after = committable(writer, 100, 600, 100);
        KinesisCommitter committer = committer(stream, 10_000);
        commit(committer, before);  // the committer lists the shards
        BigInteger middleOfShard0 = MAX_HASH_KEY.shiftRight(2);
        stream.stream.split("shard-0", middleOfShard0);

        Request request = commit(committer, after);

        assertNull(request.failed);
        // the first aggregate for shard-0 landed in shard-0a, whose readers drop it: sent again
        Sent misplaced = stream.sent.stream().filter(sent -> "shard-0a".equals(sent.landedIn))
                .findFirst().get();
        assertTrue(misplaced.ids.get(0).sequenceNumber() >= 100);
        // per shard, the aggregates readers keep hold each id once, in order
        Map<String, List<RecordId>> readable = new LinkedHashMap<>();
        for (Map.Entry<String, List<PutRecordsRequestEntry>> shard
                : stream.stream.landed.entrySet()) {
            for (PutRecordsRequestEntry entry : shard.getValue()) {
                if (stream.stream.holdsAll(shard.getKey(), entry)) {
                    readable.computeIfAbsent(shard.getKey(), id -> new ArrayList<>())
                            .addAll(idsOf(entry));
                }
            }
        }
        Set<RecordId> all = new HashSet<>();
        for (List<RecordId> ids : readable.values()) {
            for (int i = 1; i < ids.size(); i++) {
                assertTrue(ids.get(i - 1).sequenceNumber() < ids.get(i).sequenceNumber());
            }
            for (RecordId id : ids) {
                assertTrue(all.add(id), id + " readable twice");
            }
        }
        assertEquals(700, all.size());
        assertTrue(readable.containsKey("shard-0a") && readable.containsKey("shard-0b"));
    }

    /**
     * Reads a shard's aggregates from {@code from} on as the de-duplicating source does: drops an
     * aggregate that holds a key outside the shard (the range rule), then admits each user record
     * by {@code marks} with the intended range its aggregate's key names; the ids emitted.
     */
    private static List<RecordId> readDeduplicated(FakeStream stream, String shardId, int from,
            ShardMarks marks) {
        List<RecordId> emitted = new ArrayList<>();
        List<PutRecordsRequestEntry> landed =
                stream.landed.getOrDefault(shardId, Collections.emptyList());
        for (PutRecordsRequestEntry entry : landed.subList(from, landed.size())) {
            if (!stream.holdsAll(shardId, entry)) {
                continue;
            }
            HashKeyRange intended = HashKeyRange.fromPartitionKey(entry.partitionKey());
            for (TaggedRecord record : KplFormat.unpack(entry.data().asByteArray())) {
                RecordId id = RecordId.fromTagValue(record.tagValue(RecordId.TAG_KEY));
                if (marks.admit(id, record.record.hashKey, intended, 0)) {
                    emitted.add(id);
                }
            }
        }
        return emitted;
    }

    /** The ids in {@code landed} aggregates, in the order they landed. */
    private static List<RecordId> idsIn(List<PutRecordsRequestEntry> landed) {
        List<RecordId> ids = new ArrayList<>();
        for (PutRecordsRequestEntry entry : landed) {
            ids.addAll(idsOf(entry));
        }
        return ids;
    }

    private static List<RecordId> idsOf(KinesisCommittable committable) {
        List<RecordId> ids = new ArrayList<>();
        for (int i = 0; i < committable.records().size(); i++) {
            ids.add(committable.idOf(i));
        }
        return ids;
    }

    private static List<RecordId> sorted(List<RecordId> ids) {
        List<RecordId> sorted = new ArrayList<>(ids);
        sorted.sort(Comparator.comparingLong(RecordId::sequenceNumber));
        return sorted;
    }

    @Test
    void aMergeDuringACommitInterleavesTheParentsRunsAndTheSourceReadsEachRecordOnce()
            throws Exception {
        FaultyStream stream = new FaultyStream(FakeStream.withEvenShards(2));
        RecordId.WriterId writer = RecordId.WriterId.random();
        KinesisCommittable before = committable(writer, 0, 100, 100);
        // Two aggregates of about 1 MB per parent: they land in the child interleaved.
        KinesisCommittable during = committable(writer, 100, 1200, 3000);
        KinesisCommitter committer = committer(stream, 50);
        commit(committer, before);  // the committer lists shard-0 and shard-1
        Map<String, ShardMarks> parents = new HashMap<>();
        for (Shard shard : stream.stream.listShards().get()) {
            ShardMarks marks = new ShardMarks();
            readDeduplicated(stream.stream, shard.shardId(), 0, marks);
            parents.put(shard.shardId(), marks.inheritance(
                    new BigInteger(shard.hashKeyRange().startingHashKey()),
                    new BigInteger(shard.hashKeyRange().endingHashKey())));
        }
        stream.stream.merge("shard-0", "shard-1", "shard-m");
        ShardMarks child = new ShardMarks();
        parents.values().forEach(child::inherit);
        // The first attempt: both parents' first aggregates and shard-0's second one land, then
        // throttling outlasts the commit timeout (the job fails; the committable is restored).
        int sentBefore = stream.entries;
        stream.entryErrors =
                n -> n >= sentBefore + 3 ? "ProvisionedThroughputExceededException" : null;

        assertEquals(1, commit(committer, during).retries);

        List<RecordId> landed = idsIn(stream.stream.landed.get("shard-m"));
        assertFalse(landed.equals(sorted(landed)),
                "one writer's ids in the child out of order: " + landed.size() + " records");
        List<RecordId> emitted = readDeduplicated(stream.stream, "shard-m", 0, child);
        assertEquals(landed, emitted, "every record that landed once, none dropped");

        // Re-committed after the restore by a new committer, whose fresh map aims all at the
        // child, then again by one that still aims at the parents: only what never landed.
        stream.entryErrors = n -> null;
        int firstAttempt = stream.stream.landed.get("shard-m").size();
        assertNull(commit(committer(stream, 10_000), during).failed);
        assertNull(commit(committer, during).failed);
        emitted.addAll(readDeduplicated(stream.stream, "shard-m", firstAttempt, child));

        assertEquals(idsOf(during), sorted(emitted), "each record of the committable once");
    }

    @Test
    void aStreamThatIsGoneFailsTheCommitAndSoTheJob() throws Exception {
        FaultyStream stream = new FaultyStream(FakeStream.withEvenShards(2));
        stream.requestErrors = n -> ResourceNotFoundException.builder()
                .message("Stream fake not found").build();

        Request request = commit(committer(stream, 10_000),
                committable(RecordId.WriterId.random(), 0, 10, 10));

        assertTrue(request.failed.getMessage().contains("was not found"),
                request.failed.getMessage());
        assertEquals(2, stream.requests, "one request per shard, then not retried");
    }

    @Test
    void aLostConnectionIsSentAgainAnUnknownHostFailsTheCommit() throws Exception {
        FaultyStream stream = new FaultyStream(FakeStream.withEvenShards(2));
        stream.requestErrors = n -> n < 3 ? SdkClientException.create(
                "Unable to execute HTTP request: Connection reset",
                new SocketException("Connection reset")) : null;
        KinesisCommittable committable = committable(RecordId.WriterId.random(), 0, 10, 10);

        Request request = commit(committer(stream, 10_000), committable);

        assertNull(request.failed);
        assertEquals(0, request.retries);
        assertConsumedOnce(stream.stream, committable);

        FaultyStream unknown = new FaultyStream(FakeStream.withEvenShards(2));
        unknown.requestErrors = n -> SdkClientException.create(
                "Unable to execute HTTP request: kinesis.example: Name or service not known",
                new UnknownHostException("kinesis.example"));

        Request failing = commit(committer(unknown, 10_000), committable);

        assertTrue(failing.failed.getMessage().contains("Name or service not known"),
                String.valueOf(failing.failed));
        assertEquals(2, unknown.requests, "one request per shard, then not retried");
    }

    @Test
    void aDeniedCallFailsTheCommitAtOnceNamingThePermissions() throws Exception {
        FaultyStream stream = new FaultyStream(FakeStream.withEvenShards(2));
        stream.requestErrors = n -> AccessDeniedException.builder().message("User: arn:aws:iam:"
                + ":000000000000:user/u is not authorized to perform: kinesis:PutRecords").build();

        Request request = commit(committer(stream, 10_000),
                committable(RecordId.WriterId.random(), 0, 10, 10));

        assertTrue(request.failed.getMessage().contains("not authorized to perform: "
                + "kinesis:PutRecords"), request.failed.getMessage());
        assertTrue(request.failed.getMessage().contains("kinesis:ListShards"),
                request.failed.getMessage());
        assertEquals(2, stream.requests, "one request per shard, then not retried");
    }

    /**
     * A committer whose pauses move the clock {@code nowMs} and are listed in {@code pauses}:
     * retries after throttling 25 ms, after other failures from 10 ms doubling to 40 ms.
     */
    private static KinesisCommitter onTestClock(StreamClient stream, long[] nowMs,
            List<Long> pauses) {
        return new KinesisCommitter(stream, () -> nowMs[0], ms -> {
            pauses.add(ms);
            nowMs[0] += ms;
        }, 60_000, 10, 40, 25, link());
    }

    @Test
    void throttledWritesAreSentAgainAfterAFixedPauseOtherFailuresAfterADoublingOne()
            throws Exception {
        FaultyStream stream = new FaultyStream(FakeStream.withEvenShards(1));
        // One aggregate: sends 0-2 are throttled, 3 fails, 4 is throttled (the doubling pause
        // goes on where it was), 5-7 fail, then it lands.
        stream.entryErrors = n -> n < 3 || n == 4 ? "ProvisionedThroughputExceededException"
                : n < 8 ? "InternalFailure" : null;

        List<Long> pauses = pausesCommitting(stream,
                committable(RecordId.WriterId.random(), 0, 20, 10));

        assertEquals(Arrays.asList(25L, 25L, 25L, 10L, 25L, 20L, 40L, 40L), pauses);
    }

    @Test
    void theDoublingPauseStartsOverOnceAnAggregateLanded() throws Exception {
        FaultyStream stream = new FaultyStream(FakeStream.withEvenShards(1));
        // Three aggregates on one shard: sends 0-1 fail, 2 lands (the first aggregate), 3 fails,
        // then the rest land.
        stream.entryErrors = n -> n < 2 || n == 3 ? "InternalFailure" : null;

        List<Long> pauses = pausesCommitting(stream,
                committable(RecordId.WriterId.random(), 0, 1500, 1500));

        assertEquals(Arrays.asList(10L, 20L, 10L), pauses);
    }

    /**
     * The pauses a committer on a test clock ({@link #onTestClock}) takes to commit {@code
     * committable}, after checking that it wrote every record once and asked Flink for no retry.
     */
    private static List<Long> pausesCommitting(FaultyStream stream,
            KinesisCommittable committable) throws Exception {
        long[] nowMs = {0};
        List<Long> pauses = new ArrayList<>();
        Request request = commit(onTestClock(stream, nowMs, pauses), committable);
        assertNull(request.failed);
        assertEquals(0, request.retries);
        assertConsumedOnce(stream.stream, committable);
        return pauses;
    }

    @Test
    void aThrottledShardHoldsUpNoOtherShard() throws Exception {
        FaultyStream stream = new FaultyStream(FakeStream.withEvenShards(2));
        long[] nowMs = {0};
        int[] firstShardSends = {0};
        List<Long> secondShardSentAtMs = new ArrayList<>();
        stream.contentErrors = entry -> {
            if (new BigInteger(entry.explicitHashKey()).signum() == 0) {
                return firstShardSends[0]++ < 5 ? "ProvisionedThroughputExceededException" : null;
            }
            secondShardSentAtMs.add(nowMs[0]);
            return null;
        };
        List<Long> pauses = new ArrayList<>();
        KinesisCommitter committer = onTestClock(stream, nowMs, pauses);
        KinesisCommittable committable = committable(RecordId.WriterId.random(), 0, 3000, 1500);

        Request request = commit(committer, committable);

        assertNull(request.failed);
        assertEquals(Arrays.asList(25L, 25L, 25L, 25L, 25L), pauses);
        assertTrue(secondShardSentAtMs.size() > 1, "several aggregates for the second shard");
        assertEquals(Collections.nCopies(secondShardSentAtMs.size(), 0L), secondShardSentAtMs,
                "the second shard's aggregates waited for the first shard's retries");
        assertLandedInOrder(stream, idsByShard(stream.stream, committable));
        assertConsumedOnce(stream.stream, committable);
    }

    @Test
    void throttlingThatOutlastsTheCommitTimeoutAsksFlinkToRetry() throws Exception {
        FaultyStream stream = new FaultyStream(FakeStream.withEvenShards(2));
        stream.entryErrors = n -> "ProvisionedThroughputExceededException";

        Request request = commit(committer(stream, 50),
                committable(RecordId.WriterId.random(), 0, 10, 10));

        assertNull(request.failed);
        assertEquals(1, request.retries);
        assertFalse(stream.sent.isEmpty());
        assertTrue(stream.stream.landed.isEmpty());
    }

    // In the background, chained with the writer of the same subtask (CommitLink).

    private static CommittingKinesisWriter<String> writerOn(CommitLink link) {
        return new CommittingKinesisWriter<>(text -> text.getBytes(StandardCharsets.UTF_8),
                text -> text, 1 << 20, new SimpleCounter(), link);
    }

    /** A subtask's writer and committer chained (one link, one thread), on a faulty stream. */
    private static final class Chained {
        final FaultyStream stream = new FaultyStream(FakeStream.withEvenShards(2));
        final KinesisCommitter committer;
        final CommittingKinesisWriter<String> writer;

        Chained(long commitTimeoutMs) {
            CommitLink link = link();
            committer = committer(stream, commitTimeoutMs, link);
            writer = writerOn(link);
        }
    }

    /** Answers the stream's held requests from another thread after a while, then says so. */
    private static AtomicBoolean answerLater(FaultyStream stream) {
        AtomicBoolean answered = new AtomicBoolean();
        Thread answer = new Thread(() -> {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            answered.set(true);
            stream.answers.complete(null);
        });
        answer.start();
        return answered;
    }

    @Test
    void chainedWithItsWriterACommitReturnsAtOnceAndTheWritersNextCheckpointWaitsForTheWrites()
            throws Exception {
        Chained chained = new Chained(10_000);
        chained.stream.answers = new CompletableFuture<>();
        KinesisCommittable committable = committable(RecordId.WriterId.random(), 0, 10, 10);

        Request request = commit(chained.committer, committable);

        assertNull(request.failed);
        assertEquals(0, request.retries);
        assertTrue(chained.stream.stream.landed.isEmpty(), "written before the answers came");
        AtomicBoolean answered = answerLater(chained.stream);
        chained.writer.write("a", null);
        chained.writer.prepareCommit();
        assertTrue(answered.get(), "the writer's checkpoint did not wait for the writes");
        assertConsumedOnce(chained.stream.stream, committable);
    }

    @Test
    void chainedTheWriterHandsOverAReceiptAndKeepsTheRecordsInItsStateUntilTheyAreWritten()
            throws Exception {
        Chained chained = new Chained(10_000);
        chained.stream.answers = new CompletableFuture<>();
        for (String text : new String[] {"a", "b", "c"}) {
            chained.writer.write(text, null);
        }

        KinesisCommittable receipt = only(chained.writer.prepareCommit());
        List<KinesisWriterState> state = chained.writer.snapshotState(1);

        assertTrue(receipt.isReceipt(), "the committer's state would copy the records");
        assertEquals(1, state.size());
        KinesisCommittable held = only(state.get(0).committables());
        assertTrue(held.sameIds(receipt));
        assertEquals(3, held.records().size());
        commit(chained.committer, receipt);
        assertEquals(state, chained.writer.snapshotState(2),
                "dropped from the state before written");
        AtomicBoolean answered = answerLater(chained.stream);
        assertTrue(chained.writer.prepareCommit().isEmpty());
        assertTrue(answered.get(), "the writer's checkpoint did not wait for the writes");
        assertConsumedOnce(chained.stream.stream, held);
        assertTrue(chained.writer.snapshotState(3).isEmpty(),
                "written, yet still in the writer's state");
    }

    @Test
    void aRestoredWriterHandsOverItsStatesCommittablesFirstAndTheCommitterSkipsRestoredReceipts()
            throws Exception {
        FaultyStream stream = new FaultyStream(FakeStream.withEvenShards(2));
        CommitLink link = link();
        KinesisCommitter committer = committer(stream, 10_000, link);
        RecordId.WriterId old = RecordId.WriterId.random();
        KinesisCommittable first = committable(old, 0, 10, 10);
        KinesisCommittable second = committable(old, 10, 5, 10);
        List<KinesisWriterState> restored =
                KinesisWriterState.byWriter(Arrays.asList(first, second));

        // Flink commits the committer's restored state before the writer opens.
        Request restoredReceipt = commit(committer, second.receipt());
        CommittingKinesisWriter<String> writer = new CommittingKinesisWriter<>(
                text -> text.getBytes(StandardCharsets.UTF_8), text -> text, 1 << 20,
                new SimpleCounter(), link, restored);
        List<KinesisWriterState> beforeHandedOver = writer.snapshotState(1);
        writer.write("z", null);
        List<KinesisCommittable> receipts = new ArrayList<>(writer.prepareCommit());

        assertNull(restoredReceipt.failed);
        assertTrue(stream.stream.landed.isEmpty(), "a restored receipt was written");
        assertEquals(restored, beforeHandedOver);
        assertEquals(3, receipts.size());
        assertTrue(receipts.get(0).sameIds(first) && receipts.get(0).isReceipt());
        assertTrue(receipts.get(1).sameIds(second) && receipts.get(1).isReceipt());
        assertEquals(writer.writerId(), receipts.get(2).writer());
        for (KinesisCommittable receipt : receipts) {
            commit(committer, receipt);
        }
        writer.prepareCommit();
        assertEquals(16, stream.stream.consumed().size());
        assertTrue(stream.stream.consumed().contains("z=z"));
        assertTrue(writer.snapshotState(2).isEmpty());
    }

    @Test
    void aReceiptOfItsOwnWriterThatTheWriterDoesNotHoldFailsTheCommit() throws Exception {
        Chained chained = new Chained(10_000);
        KinesisCommittable stray = committable(chained.writer.writerId(), 0, 1, 10).receipt();

        IllegalStateException error =
                assertThrows(IllegalStateException.class, () -> commit(chained.committer, stray));

        assertTrue(error.getMessage().contains("does not hold it"), error.getMessage());
        assertTrue(chained.stream.stream.landed.isEmpty());
    }

    private static KinesisCommittable only(Collection<KinesisCommittable> committables) {
        assertEquals(1, committables.size());
        return committables.iterator().next();
    }

    @Test
    void notChainedOrAfterTheEndOfInputACommitWritesBeforeItReturns() throws Exception {
        Chained chained = new Chained(10_000);
        RecordId.WriterId writerId = RecordId.WriterId.random();
        KinesisCommittable first = committable(writerId, 0, 10, 10);
        KinesisCommittable second = committable(writerId, 10, 10, 10);
        ExecutorService otherTask = Executors.newSingleThreadExecutor();

        chained.stream.answers = new CompletableFuture<>();
        AtomicBoolean answered = answerLater(chained.stream);
        otherTask.submit(() -> commit(chained.committer, first)).get();
        assertTrue(answered.get(), "a commit on another thread returned before its writes");
        assertConsumedOnce(chained.stream.stream, first);

        chained.writer.flush(true);
        chained.stream.answers = new CompletableFuture<>();
        answered = answerLater(chained.stream);
        commit(chained.committer, second);
        assertTrue(answered.get(), "a commit after the end of input returned before its writes");
        assertEquals(20, chained.stream.stream.consumed().size());
        otherTask.shutdown();
    }

    @Test
    void aFailedBackgroundWriteFailsTheWriterAndNothingLaterIsWritten() throws Exception {
        Chained chained = new Chained(10_000);
        chained.stream.requestErrors = n -> n == 0 ? ResourceNotFoundException.builder()
                .message("Stream fake not found").build() : null;
        RecordId.WriterId writerId = RecordId.WriterId.random();

        commit(chained.committer, committable(writerId, 0, 10, 10));
        commit(chained.committer, committable(writerId, 10, 10, 10));

        KinesisSinkException error =
                assertThrows(KinesisSinkException.class, chained.writer::prepareCommit);
        assertTrue(error.getMessage().contains("was not found"), error.getMessage());
        assertThrows(KinesisSinkException.class, () -> chained.writer.write("a", null));
        assertEquals(2, chained.stream.requests, "a later committable was written after a "
                + "failed one (one request per shard for the first)");
    }

    @Test
    void aBackgroundWriteOutlastingTheCommitTimeoutFailsTheWriter() throws Exception {
        Chained chained = new Chained(50);
        chained.stream.entryErrors = n -> "ProvisionedThroughputExceededException";

        commit(chained.committer, committable(RecordId.WriterId.random(), 0, 10, 10));

        KinesisSinkException error =
                assertThrows(KinesisSinkException.class, chained.writer::prepareCommit);
        assertTrue(error.getMessage().contains("in 50 ms (the commit timeout)"),
                error.getMessage());
        assertTrue(chained.stream.stream.landed.isEmpty());
    }

    @Test
    void closingTheCommitterWaitsForItsBackgroundWritesAndClosingBothReleasesTheLink()
            throws Exception {
        FaultyStream stream = new FaultyStream(FakeStream.withEvenShards(2));
        stream.answers = new CompletableFuture<>();
        String sinkId = UUID.randomUUID().toString();
        JobID job = new JobID();
        CommitLink link = CommitLink.of(sinkId, job, 3, 1);
        KinesisCommitter committer = committer(stream, 10_000, link);
        CommittingKinesisWriter<String> writer = writerOn(link);
        KinesisCommittable committable = committable(RecordId.WriterId.random(), 0, 10, 10);
        commit(committer, committable);

        writer.close();
        AtomicBoolean answered = answerLater(stream);
        committer.close();

        assertTrue(answered.get(), "close returned before the background writes");
        assertConsumedOnce(stream.stream, committable);
        assertNotSame(link, CommitLink.of(sinkId, job, 3, 1), "the closed link stayed");
    }
}
