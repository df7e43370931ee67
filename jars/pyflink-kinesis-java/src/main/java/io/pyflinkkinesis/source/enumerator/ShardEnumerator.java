package io.pyflinkkinesis.source.enumerator;

import io.pyflinkkinesis.source.event.FinishedShardsAckEvent;
import io.pyflinkkinesis.source.event.ShardsFinishedEvent;
import io.pyflinkkinesis.source.split.ShardMarks;
import io.pyflinkkinesis.source.split.ShardSplit;
import org.apache.flink.api.connector.source.ReaderInfo;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.connector.source.SplitsAssignment;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kinesis.source.config.KinesisStreamsSourceConfigConstants;
import org.apache.flink.connector.kinesis.source.config.KinesisStreamsSourceConfigConstants.InitialPosition;
import org.apache.flink.connector.kinesis.source.config.KinesisStreamsSourceConfigUtil;
import org.apache.flink.connector.kinesis.source.enumerator.KinesisShardAssigner;
import org.apache.flink.connector.kinesis.source.proxy.StreamProxy;
import org.apache.flink.connector.kinesis.source.split.KinesisShardSplit;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Shard;
import org.apache.flink.util.FlinkRuntimeException;
import org.apache.flink.util.Preconditions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * Lists the stream's shards and hands each one to a reader once its parents are done.
 *
 * <p>Rules, in order:
 *
 * <ul>
 *   <li><b>Start positions.</b> The job's first listing fixes each shard's start: TRIM_HORIZON
 *       reads every shard from its start; LATEST reads only the open shards, from the moment of
 *       the listing (closed ones count as finished, as do parents no longer listed);
 *       AT_TIMESTAMP reads every shard from the timestamp. Shards found later start at
 *       TRIM_HORIZON. Splits are handed out once every reader has registered (and then at once).
 *   <li><b>Parents first.</b> A shard is assigned only when each parent is finished: read to its
 *       end (a reader said so, {@link ShardsFinishedEvent}), skipped, or no longer listed.
 *   <li><b>End to end.</b> A finished parent's last records may still be inside the job. Once a
 *       checkpoint whose enumerator snapshot came after the finish report has completed, they
 *       are through (its barrier followed them through every operator); until then, a child is
 *       assigned only if the shard assigner puts it on the subtask that read every unflushed
 *       parent (one subtask's output keeps its order). Without periodic checkpointing, or with
 *       unaligned checkpoints (whose barriers overtake records), there is no such signal: the
 *       child goes to the subtask that read its parent (for a merge read on two subtasks, the
 *       parent with the lower id).
 *   <li><b>Marks.</b> A finished shard's report carries what its children inherit of its
 *       de-duplication marks; the enumerator keeps it (in its state) while it keeps the finish,
 *       and puts its parents' marks into a child's split when it assigns the child.
 *   <li><b>State.</b> Finished shards are acknowledged to their reader once they are in a
 *       completed checkpoint (at once without checkpointing); restored finishes and repeated
 *       reports are taken without harm; finished shards no longer listed are forgotten.
 * </ul>
 */
public final class ShardEnumerator implements SplitEnumerator<ShardSplit, EnumeratorState> {

    private static final Logger LOG = LoggerFactory.getLogger(ShardEnumerator.class);

    /**
     * Listings that may fail in a row (each after the AWS SDK's retries) before the job fails.
     * Readers go on reading meanwhile; a job being cancelled while its stream is deleted (as
     * tests do) does not fail over from its enumerator, which Flink may turn into a fatal exit.
     */
    static final int MAX_LISTING_FAILURES = 10;

    /** A finished shard: who read it to its end, and whether its records are through the job. */
    private static final class Finish {
        /** The reporting subtask, or -1 when restored or never read. */
        final int reader;
        /** In a completed checkpoint of the enumerator (or restored): acknowledged to readers. */
        boolean flushed;
        /** Its records are through every operator: a child may go to any subtask. */
        boolean through;
        /** The first checkpoint whose enumerator snapshot came after the report, or -1. */
        long gateCheckpointId = -1;
        /** What the shard's children inherit of its de-duplication marks. */
        ShardMarks inheritance;

        Finish(int reader, boolean restored, ShardMarks inheritance) {
            this.reader = reader;
            this.flushed = restored;
            this.through = restored;
            this.inheritance = inheritance;
        }
    }

    private final SplitEnumeratorContext<ShardSplit> context;
    private final String streamArn;
    private final Configuration config;
    private final StreamProxy kinesis;
    private final KinesisShardAssigner assigner;
    private final Supplier<CheckpointMode> checkpointModeProbe;
    private final Supplier<Instant> clock;

    private final Map<String, ShardSplit> unassigned = new TreeMap<>();
    /** Assigned shards not finished, to the subtask they went to (-1 when restored). */
    private final Map<String, Integer> assigned = new TreeMap<>();
    private final Map<String, Finish> finished = new TreeMap<>();
    private boolean listed;
    private CheckpointMode checkpointMode = CheckpointMode.NONE;
    private boolean readersRegistered;
    private int listingFailures;

    public ShardEnumerator(
            SplitEnumeratorContext<ShardSplit> context,
            String streamArn,
            Configuration config,
            StreamProxy kinesis,
            KinesisShardAssigner assigner,
            Supplier<CheckpointMode> checkpointModeProbe,
            Supplier<Instant> clock,
            EnumeratorState state) {
        this.context = Preconditions.checkNotNull(context, "context");
        this.streamArn = Preconditions.checkNotNull(streamArn, "streamArn");
        this.config = Preconditions.checkNotNull(config, "config");
        this.kinesis = Preconditions.checkNotNull(kinesis, "kinesis");
        this.assigner = Preconditions.checkNotNull(assigner, "assigner");
        this.checkpointModeProbe = Preconditions.checkNotNull(checkpointModeProbe, "probe");
        this.clock = Preconditions.checkNotNull(clock, "clock");
        this.listed = state.isListed();
        for (ShardSplit split : state.getUnassigned()) {
            unassigned.put(split.splitId(), split);
        }
        for (String id : state.getAssigned()) {
            assigned.put(id, -1);
        }
        state.getFinishedMarks().forEach(
                (id, inheritance) -> finished.put(id, new Finish(-1, true, inheritance)));
    }

    @Override
    public void start() {
        checkpointMode = checkpointModeProbe.get();
        long interval = config.get(
                KinesisStreamsSourceConfigConstants.SHARD_DISCOVERY_INTERVAL_MILLIS);
        LOG.info("Listing the shards of {} every {} ms; checkpoints: {}",
                streamArn, interval, checkpointMode);
        context.callAsync(() -> kinesis.listShards(streamArn, null), this::onListing, 0, interval);
    }

    /** Takes in a listing of every shard of the stream, then assigns what is ready. */
    void onListing(List<Shard> shards, Throwable error) {
        if (error != null) {
            listingFailures++;
            if (listingFailures >= MAX_LISTING_FAILURES) {
                throw new FlinkRuntimeException("Could not list the shards of " + streamArn + " "
                        + listingFailures + " times in a row; check that the stream exists and "
                        + "that the credentials allow kinesis:ListShards", error);
            }
            LOG.warn("Could not list the shards of {} ({} of {} failures in a row allowed); "
                    + "trying again at the next discovery", streamArn, listingFailures,
                    MAX_LISTING_FAILURES, error);
            return;
        }
        listingFailures = 0;
        Set<String> listedIds = new HashSet<>();
        Instant now = clock.get();
        for (Shard shard : shards) {
            String id = shard.shardId();
            listedIds.add(id);
            if (isKnown(id)) {
                continue;
            }
            StartingPosition position =
                    listed ? StartingPosition.fromStart() : firstStart(shard, now);
            if (position == null) {
                finished.put(id, new Finish(-1, true, new ShardMarks()));
            } else {
                unassigned.put(id, split(shard, position));
            }
        }
        listed = true;
        finished.entrySet().removeIf(
                entry -> entry.getValue().flushed && !listedIds.contains(entry.getKey()));
        assignReadyShards();
    }

    /** Where a shard of the first listing starts; null for one not to read (closed, LATEST). */
    private StartingPosition firstStart(Shard shard, Instant listingTime) {
        InitialPosition position =
                config.get(KinesisStreamsSourceConfigConstants.STREAM_INITIAL_POSITION);
        switch (position) {
            case TRIM_HORIZON:
                return StartingPosition.fromStart();
            case AT_TIMESTAMP:
                return StartingPosition.fromTimestamp(KinesisStreamsSourceConfigUtil
                        .parseStreamTimestampStartingPosition(config).toInstant());
            case LATEST:
                boolean closed = shard.sequenceNumberRange() != null
                        && shard.sequenceNumberRange().endingSequenceNumber() != null;
                return closed ? null : StartingPosition.fromTimestamp(listingTime);
            default:
                throw new IllegalArgumentException("Unknown initial position " + position);
        }
    }

    private ShardSplit split(Shard shard, StartingPosition position) {
        Set<String> parents = new TreeSet<>();
        if (shard.parentShardId() != null) {
            parents.add(shard.parentShardId());
        }
        if (shard.adjacentParentShardId() != null) {
            parents.add(shard.adjacentParentShardId());
        }
        String from = shard.hashKeyRange() == null ? null : shard.hashKeyRange().startingHashKey();
        String to = shard.hashKeyRange() == null ? null : shard.hashKeyRange().endingHashKey();
        return new ShardSplit(streamArn, shard.shardId(), position, parents, from, to);
    }

    private boolean isKnown(String id) {
        return unassigned.containsKey(id) || assigned.containsKey(id) || finished.containsKey(id);
    }

    @Override
    public void handleSplitRequest(int subtaskId, String requesterHostname) {
        // Splits are pushed to readers as they become ready.
    }

    @Override
    public void addSplitsBack(List<ShardSplit> splits, int subtaskId) {
        for (ShardSplit split : splits) {
            // Assigned after the reader's last checkpoint: read again, whatever it reported.
            assigned.remove(split.splitId());
            finished.remove(split.splitId());
            unassigned.put(split.splitId(), split);
        }
        assignReadyShards();
    }

    /**
     * A reader registers at start, and again after its subtask failed over alone (the
     * enumerator keeps running). It then restarted from its last completed checkpoint, which
     * still holds as shards to read those it reported finished since (not yet flushed): they
     * count as assigned to it again, and their children wait until it reports them again.
     */
    @Override
    public void addReader(int subtaskId) {
        Set<String> readAgain = new TreeSet<>();
        finished.entrySet().removeIf(entry -> {
            Finish finish = entry.getValue();
            boolean undone = finish.reader == subtaskId && !finish.flushed;
            if (undone) {
                assigned.put(entry.getKey(), subtaskId);
                readAgain.add(entry.getKey());
            }
            return undone;
        });
        if (!readAgain.isEmpty()) {
            LOG.info("Subtask {} restarted: it reads shards {} again", subtaskId, readAgain);
        }
        assignReadyShards();
    }

    @Override
    public void handleSourceEvent(int subtaskId, SourceEvent event) {
        if (!(event instanceof ShardsFinishedEvent)) {
            LOG.warn("Ignoring an unknown event from subtask {}: {}", subtaskId, event);
            return;
        }
        ShardsFinishedEvent report = (ShardsFinishedEvent) event;
        Set<String> acknowledged = new TreeSet<>();
        for (String id : report.getShardIds()) {
            assigned.remove(id);
            unassigned.remove(id);
            Finish finish = finished.get(id);
            ShardMarks inheritance = report.getInheritance(id);
            if (report.isRestored()) {
                // In the reader's state of a completed checkpoint: through the job.
                finish = finish == null ? new Finish(-1, true, inheritance) : finish;
                finish.flushed = true;
                finish.through = true;
                finish.inheritance = inheritance;
            } else if (finish == null || !finish.flushed) {
                // A first report, or a shard read again after its reader failed.
                finish = new Finish(subtaskId, false, inheritance);
            }
            finished.put(id, finish);
            if (finish.flushed || checkpointMode == CheckpointMode.NONE) {
                acknowledged.add(id);
            }
        }
        LOG.info("Subtask {} finished shards {}{}", subtaskId, report.getShardIds(),
                report.isRestored() ? " (restored)" : "");
        acknowledge(subtaskId, acknowledged);
        assignReadyShards();
    }

    @Override
    public EnumeratorState snapshotState(long checkpointId) {
        for (Finish finish : finished.values()) {
            if (!finish.flushed && finish.gateCheckpointId < 0) {
                finish.gateCheckpointId = checkpointId;
            }
        }
        Map<String, ShardMarks> inheritances = new TreeMap<>();
        finished.forEach((id, finish) -> inheritances.put(id, finish.inheritance));
        return new EnumeratorState(listed, new ArrayList<>(unassigned.values()),
                assigned.keySet(), inheritances);
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        Map<Integer, Set<String>> flushedByReader = new HashMap<>();
        for (Map.Entry<String, Finish> entry : finished.entrySet()) {
            Finish finish = entry.getValue();
            if (!finish.flushed && finish.gateCheckpointId >= 0
                    && finish.gateCheckpointId <= checkpointId) {
                finish.flushed = true;
                finish.through = checkpointMode == CheckpointMode.ALIGNED;
                flushedByReader.computeIfAbsent(finish.reader, r -> new TreeSet<>())
                        .add(entry.getKey());
            }
        }
        flushedByReader.forEach(this::acknowledge);
        assignReadyShards();
    }

    private void acknowledge(int subtaskId, Set<String> shardIds) {
        if (!shardIds.isEmpty() && context.registeredReaders().containsKey(subtaskId)) {
            context.sendEventToSourceReader(subtaskId, new FinishedShardsAckEvent(shardIds));
        }
    }

    /** Assigns every unassigned shard whose parents allow it (see the class comment). */
    private void assignReadyShards() {
        Map<Integer, ReaderInfo> readers = context.registeredReaders();
        if (!readersRegistered) {
            if (readers.size() < context.currentParallelism()) {
                return;
            }
            readersRegistered = true;
        }
        if (readers.isEmpty()) {
            return;
        }
        Map<Integer, List<ShardSplit>> assignment = new TreeMap<>();
        for (ShardSplit split : new ArrayList<>(unassigned.values())) {
            Integer subtask = subtaskFor(split, assignment, readers);
            if (subtask != null) {
                assignment.computeIfAbsent(subtask, s -> new ArrayList<>())
                        .add(withParentsMarks(split));
                unassigned.remove(split.splitId());
                assigned.put(split.splitId(), subtask);
            }
        }
        if (!assignment.isEmpty()) {
            LOG.info("Assigning {}", assignment);
            context.assignSplits(new SplitsAssignment<>(assignment));
        }
    }

    /** {@code split} with the marks its finished parents left added to its own. */
    private ShardSplit withParentsMarks(ShardSplit split) {
        ShardMarks marks = split.getMarks();
        for (String parent : split.getParentShardIds()) {
            Finish finish = finished.get(parent);
            if (finish != null) {
                marks.inherit(finish.inheritance);
            }
        }
        return marks.isEmpty() ? split : split.withMarks(marks);
    }

    /** The subtask to read {@code split} now, or null when it has to wait. */
    private Integer subtaskFor(
            ShardSplit split, Map<Integer, List<ShardSplit>> pending,
            Map<Integer, ReaderInfo> readers) {
        Set<Integer> parentReaders = new TreeSet<>();
        String firstParentInFlight = null;
        for (String parent : split.getParentShardIds()) {
            if (unassigned.containsKey(parent) || assigned.containsKey(parent)) {
                return null;
            }
            Finish finish = finished.get(parent);
            if (finish != null && !finish.through) {
                parentReaders.add(finish.reader);
                if (firstParentInFlight == null) {
                    firstParentInFlight = parent;
                }
            }
        }
        Integer subtask;
        if (parentReaders.isEmpty() || checkpointMode == CheckpointMode.ALIGNED) {
            subtask = assigner.assign(
                    split.toKinesisShardSplit(), assignerContext(pending, readers));
            boolean sameReader = parentReaders.equals(Collections.singleton(subtask));
            if (!parentReaders.isEmpty() && !sameReader) {
                return null;
            }
        } else {
            subtask = finished.get(firstParentInFlight).reader;
        }
        return readers.containsKey(subtask) ? subtask : null;
    }

    private KinesisShardAssigner.Context assignerContext(
            Map<Integer, List<ShardSplit>> pending, Map<Integer, ReaderInfo> readers) {
        Map<Integer, Set<KinesisShardSplit>> current = new HashMap<>();
        Set<String> pendingIds = new HashSet<>();
        pending.values().forEach(splits -> splits.forEach(s -> pendingIds.add(s.splitId())));
        assigned.forEach((id, subtask) -> {
            if (subtask >= 0 && !pendingIds.contains(id)) {
                current.computeIfAbsent(subtask, s -> new HashSet<>())
                        .add(new KinesisShardSplit(streamArn, id, StartingPosition.fromStart()));
            }
        });
        Map<Integer, List<KinesisShardSplit>> pendingSplits = new HashMap<>();
        pending.forEach((subtask, splits) -> {
            List<KinesisShardSplit> converted = new ArrayList<>();
            for (ShardSplit split : splits) {
                converted.add(split.toKinesisShardSplit());
            }
            pendingSplits.put(subtask, converted);
        });
        return new KinesisShardAssigner.Context() {
            @Override
            public Map<Integer, Set<KinesisShardSplit>> getCurrentSplitAssignment() {
                return current;
            }

            @Override
            public Map<Integer, List<KinesisShardSplit>> getPendingSplitAssignments() {
                return pendingSplits;
            }

            @Override
            public Map<Integer, ReaderInfo> getRegisteredReaders() {
                return readers;
            }
        };
    }

    @Override
    public void close() throws IOException {
        kinesis.close();
    }
}
