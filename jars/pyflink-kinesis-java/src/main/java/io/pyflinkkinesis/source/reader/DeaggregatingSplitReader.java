package io.pyflinkkinesis.source.reader;

import io.pyflinkkinesis.aggregation.KeyedRecord;
import io.pyflinkkinesis.aggregation.KplFormat;
import io.pyflinkkinesis.aggregation.TaggedRecord;
import io.pyflinkkinesis.exactlyonce.HashKeyRange;
import io.pyflinkkinesis.exactlyonce.RecordId;
import io.pyflinkkinesis.source.split.ShardSplit;
import org.apache.flink.connector.base.source.reader.RecordsBySplits;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsAddition;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsChange;
import org.apache.flink.connector.kinesis.source.split.StartingPositions;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.SdkBytes;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.util.Preconditions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Takes KPL aggregates apart: wraps a shard reader (polling or fan-out) and hands over each
 * aggregate's user records, one element each, so a checkpoint can fall between two of them.
 *
 * <p>As the KCL's de-aggregator ({@code UserRecord.deaggregate(records, start, end)}, which
 * {@code FlinkKinesisConsumer} uses):
 *
 * <ul>
 *   <li>A record that is no aggregate (no magic bytes, or a digest that does not match) is
 *       handed over whole; so is one with the magic and digest whose protobuf is malformed
 *       (logged).
 *   <li>A user record gets its own partition key and data, the aggregate's sequence number and
 *       arrival time, and its index in the aggregate as sub-sequence number.
 *   <li>The range rule: when one user record's hash key (its explicit hash key, else the MD5 of
 *       its partition key) is outside the shard's hash key range, the whole aggregate is dropped
 *       (logged). Such an aggregate landed in a shard other than the one its producer meant after
 *       a reshard; our aggregating sink sends all its user records again, plain (the KPL only
 *       those outside the shard it landed in). A split without a known range keeps every
 *       aggregate.
 *   <li>A user record with a {@value RecordId#TAG_KEY} tag that holds an id (written by the
 *       committing sink) carries it ({@link UserRecord#id()}), for de-duplication; a tag of that
 *       key that holds no id is ignored. So does the range of the shard the committing sink
 *       meant the aggregate for, named by the aggregate's own partition key ({@link
 *       UserRecord#intended()}).
 * </ul>
 *
 * <p>A split restored after user record {@code k} of the aggregate at sequence number {@code S}
 * ({@link ShardSplit#getSubSequenceNumber()}) is read from {@code AT_SEQUENCE_NUMBER S}, and the
 * aggregate's user records up to {@code k} are skipped: nothing emitted before the checkpoint is
 * emitted again, nothing after it is skipped. Records of one shard keep their order.
 */
public final class DeaggregatingSplitReader implements SplitReader<UserRecord, ShardSplit> {

    private static final Logger LOG = LoggerFactory.getLogger(DeaggregatingSplitReader.class);

    /** Where a restored split goes on: after user record {@code subSequenceNumber} of one. */
    private static final class Resume {
        final String sequenceNumber;
        final long subSequenceNumber;

        Resume(String sequenceNumber, long subSequenceNumber) {
            this.sequenceNumber = sequenceNumber;
            this.subSequenceNumber = subSequenceNumber;
        }
    }

    private final SplitReader<Record, ShardSplit> records;
    /** Hash key ranges {first, last} of the splits read, by split id; absent when unknown. */
    private final Map<String, BigInteger[]> ranges = new HashMap<>();
    /** Splits restored after a user record of an aggregate, until their first record is read. */
    private final Map<String, Resume> resumes = new HashMap<>();

    public DeaggregatingSplitReader(SplitReader<Record, ShardSplit> records) {
        this.records = Preconditions.checkNotNull(records, "records");
    }

    @Override
    public RecordsWithSplitIds<UserRecord> fetch() throws IOException {
        RecordsWithSplitIds<Record> batch = records.fetch();
        RecordsBySplits.Builder<UserRecord> userRecords = new RecordsBySplits.Builder<>();
        try {
            for (String split = batch.nextSplit(); split != null; split = batch.nextSplit()) {
                List<UserRecord> out = new ArrayList<>();
                for (Record r = batch.nextRecordFromSplit(); r != null;
                        r = batch.nextRecordFromSplit()) {
                    addUserRecords(split, r, out);
                }
                if (!out.isEmpty()) {
                    userRecords.addAll(split, out);
                }
            }
            Set<String> finished = batch.finishedSplits();
            userRecords.addFinishedSplits(finished);
            ranges.keySet().removeAll(finished);
            resumes.keySet().removeAll(finished);
        } finally {
            batch.recycle();
        }
        return userRecords.build();
    }

    private void addUserRecords(String split, Record record, List<UserRecord> out) {
        List<TaggedRecord> unpacked = unpack(split, record);
        long skipThrough = skipThrough(split, record, unpacked);
        if (unpacked == null) {
            if (skipThrough == ShardSplit.NO_SUB_SEQUENCE_NUMBER) {
                out.add(UserRecord.whole(record));
            }
            return;
        }
        BigInteger[] range = ranges.get(split);
        if (range != null && !allInRange(unpacked, range)) {
            LOG.info("Shard {}: dropped the KPL aggregate {} ({} user records): a user record's "
                    + "hash key is outside the shard's range (the KCL's rule, which "
                    + "FlinkKinesisConsumer applies too)",
                    split, record.sequenceNumber(), unpacked.size());
            return;
        }
        HashKeyRange intended = HashKeyRange.fromPartitionKey(record.partitionKey());
        for (int i = (int) skipThrough + 1; i < unpacked.size(); i++) {
            TaggedRecord tagged = unpacked.get(i);
            out.add(UserRecord.ofAggregate(userRecord(record, tagged.record), i,
                    tagged.record.hashKey,
                    RecordId.fromTagValue(tagged.tagValue(RecordId.TAG_KEY)), intended));
        }
    }

    /** The user records of {@code record}, or null when it is no aggregate (or malformed). */
    private static List<TaggedRecord> unpack(String split, Record record) {
        try {
            return KplFormat.unpack(record.data().asByteArrayUnsafe());
        } catch (IllegalArgumentException e) {
            LOG.warn("Shard {}: record {} has the magic bytes and digest of a KPL aggregate but "
                    + "cannot be read as one ({}); handed over whole",
                    split, record.sequenceNumber(), e.getMessage());
            return null;
        }
    }

    /**
     * For the first record of a split restored after user record {@code k} of an aggregate: the
     * sub-sequence number up to which this record's user records were emitted already ({@code
     * k}, or 0 for a whole record: all of it). {@link ShardSplit#NO_SUB_SEQUENCE_NUMBER} when
     * nothing is to be skipped.
     */
    private long skipThrough(String split, Record record, List<TaggedRecord> unpacked) {
        Resume resume = resumes.remove(split);
        if (resume == null) {
            return ShardSplit.NO_SUB_SEQUENCE_NUMBER;
        }
        if (!resume.sequenceNumber.equals(record.sequenceNumber())) {
            LOG.warn("Shard {} was restored after user record {} of the KPL aggregate {}, but "
                    + "its first record read is {} (the aggregate is past the stream's "
                    + "retention?); reading on from there", split, resume.subSequenceNumber,
                    resume.sequenceNumber, record.sequenceNumber());
            return ShardSplit.NO_SUB_SEQUENCE_NUMBER;
        }
        if (unpacked == null) {
            return 0;
        }
        long skipped = Math.min(resume.subSequenceNumber + 1, unpacked.size());
        LOG.info("Shard {} resumes inside the KPL aggregate {}: skipped its first {} user "
                + "records, emitted before the restore; {} follow", split, record.sequenceNumber(),
                skipped, unpacked.size() - skipped);
        return resume.subSequenceNumber;
    }

    private static boolean allInRange(List<TaggedRecord> userRecords, BigInteger[] range) {
        for (TaggedRecord userRecord : userRecords) {
            BigInteger hashKey = userRecord.record.hashKey;
            if (hashKey.compareTo(range[0]) < 0 || hashKey.compareTo(range[1]) > 0) {
                return false;
            }
        }
        return true;
    }

    /** What the schema gets for a user record: its key and data, the aggregate's position. */
    private static Record userRecord(Record aggregate, KeyedRecord userRecord) {
        return aggregate.toBuilder()
                .partitionKey(userRecord.partitionKey)
                .data(SdkBytes.fromByteArrayUnsafe(userRecord.data))
                .build();
    }

    @Override
    public void handleSplitsChanges(SplitsChange<ShardSplit> splitsChanges) {
        if (!(splitsChanges instanceof SplitsAddition)) {
            records.handleSplitsChanges(splitsChanges);
            return;
        }
        List<ShardSplit> toRead = new ArrayList<>();
        for (ShardSplit split : splitsChanges.splits()) {
            if (split.getStartingHashKey() != null && split.getEndingHashKey() != null) {
                ranges.put(split.splitId(), new BigInteger[] {
                    new BigInteger(split.getStartingHashKey()),
                    new BigInteger(split.getEndingHashKey())});
            }
            long subSequenceNumber = split.getSubSequenceNumber();
            if (subSequenceNumber == ShardSplit.NO_SUB_SEQUENCE_NUMBER) {
                toRead.add(split);
                continue;
            }
            String sequenceNumber = (String) split.getStartingPosition().getStartingMarker();
            LOG.info("Shard {} restored after user record {} of the KPL aggregate {}: reading "
                    + "that aggregate again, skipping what was emitted", split.splitId(),
                    subSequenceNumber, sequenceNumber);
            resumes.put(split.splitId(), new Resume(sequenceNumber, subSequenceNumber));
            toRead.add(split.withStartingPosition(
                    StartingPositions.atSequenceNumber(sequenceNumber)));
        }
        records.handleSplitsChanges(new SplitsAddition<>(toRead));
    }

    @Override
    public void pauseOrResumeSplits(
            Collection<ShardSplit> splitsToPause, Collection<ShardSplit> splitsToResume) {
        records.pauseOrResumeSplits(splitsToPause, splitsToResume);
    }

    @Override
    public void wakeUp() {
        records.wakeUp();
    }

    @Override
    public void close() throws Exception {
        records.close();
    }
}
