package io.pyflinkkinesis.source.reader;

import io.pyflinkkinesis.source.split.ShardSplit;
import io.pyflinkkinesis.source.split.ShardSplitSerializer;
import io.pyflinkkinesis.source.split.ShardSplitState;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsAddition;
import org.apache.flink.connector.kinesis.source.serialization.KinesisDeserializationSchema;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ShardIteratorType;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class DeaggregatingSplitReaderTest {

    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
    private static final BigInteger MAX_HASH_KEY = BigInteger.ONE.shiftLeft(128)
            .subtract(BigInteger.ONE);

    /** Renders a record as {@code <partition key>=<data>@<sequence number>}. */
    private static final KinesisDeserializationSchema<String> RENDER =
            new KinesisDeserializationSchema<String>() {
                @Override
                public void deserialize(Record record, String streamArn, String shardId,
                        Collector<String> output) {
                    output.collect(record.partitionKey() + "="
                            + record.data().asUtf8String() + "@" + record.sequenceNumber());
                }

                @Override
                public TypeInformation<String> getProducedType() {
                    return Types.STRING;
                }
            };

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static ShardSplit split(BigInteger first, BigInteger last) {
        return new ShardSplit(ARN, "shard", StartingPosition.fromStart(), Collections.emptySet(),
                first == null ? null : first.toString(), last == null ? null : last.toString());
    }

    private static ShardSplit wholeRange() {
        return split(BigInteger.ZERO, MAX_HASH_KEY);
    }

    private static DeaggregatingSplitReader reading(FakeShardReader shard, ShardSplit split) {
        DeaggregatingSplitReader reader = new DeaggregatingSplitReader(shard);
        reader.handleSplitsChanges(new SplitsAddition<>(Collections.singletonList(split)));
        return reader;
    }

    private static List<UserRecord> readAll(DeaggregatingSplitReader reader) throws Exception {
        List<UserRecord> out = new ArrayList<>();
        for (int fetch = 0; fetch < 20; fetch++) {
            RecordsWithSplitIds<UserRecord> batch = reader.fetch();
            for (String id = batch.nextSplit(); id != null; id = batch.nextSplit()) {
                for (UserRecord r = batch.nextRecordFromSplit(); r != null;
                        r = batch.nextRecordFromSplit()) {
                    out.add(r);
                }
            }
        }
        return out;
    }

    private static List<String> rendered(List<UserRecord> records) {
        List<String> out = new ArrayList<>();
        for (UserRecord record : records) {
            out.add(record.record().partitionKey() + "=" + record.record().data().asUtf8String()
                    + "@" + record);
        }
        return out;
    }

    @Test
    void anAggregateBecomesItsUserRecordsAndOtherRecordsPassWhole() throws Exception {
        FakeShardReader shard = new FakeShardReader();
        Record plain = shard.append("p", utf8("plain"));
        Record aggregate = shard.append("a", new Aggregates()
                .add("a", "one").add("b", "two").add("a", "three").encode());
        byte[] badDigest = new Aggregates().add("c", "four").add("d", "five").encode();
        badDigest[badDigest.length - 1] ^= 1;
        shard.append("x", badDigest);
        byte[] malformed = Aggregates.withDigest(new byte[] {0x1a, 5, 0x08, 0});
        shard.append("y", malformed);

        List<UserRecord> read = readAll(reading(shard, wholeRange()));

        assertEquals(Arrays.asList("p=plain@1", "a=one@2/0", "b=two@2/1", "a=three@2/2"),
                rendered(read.subList(0, 4)));
        assertEquals(plain, read.get(0).record());
        for (UserRecord userRecord : read.subList(1, 4)) {
            assertEquals(aggregate.approximateArrivalTimestamp(),
                    userRecord.record().approximateArrivalTimestamp());
        }
        assertEquals(6, read.size());
        assertArrayEquals(badDigest, read.get(4).record().data().asByteArray());
        assertEquals(ShardSplit.NO_SUB_SEQUENCE_NUMBER, read.get(4).subSequenceNumber());
        assertArrayEquals(malformed, read.get(5).record().data().asByteArray());
        assertEquals(ShardSplit.NO_SUB_SEQUENCE_NUMBER, read.get(5).subSequenceNumber());
    }

    @Test
    void anAggregateWithAUserRecordOutsideTheShardsRangeIsDroppedWhole() throws Exception {
        BigInteger a = Aggregates.hashKey("a");
        ShardSplit onlyA = split(a, a);  // a range holding the hash key of "a" only
        FakeShardReader shard = new FakeShardReader();
        shard.append("a", new Aggregates().add("a", "kept-1").add("a", "kept-2").encode());
        shard.append("a", new Aggregates().add("a", "dropped-1").add("b", "dropped-2")
                .add("a", "dropped-3").encode());
        shard.append("a", utf8("plain"));  // whole records are never checked, as in the KCL

        assertEquals(Arrays.asList("a=kept-1@1/0", "a=kept-2@1/1", "a=plain@3"),
                rendered(readAll(reading(shard, onlyA))));
        assertEquals(6, readAll(reading(shard, split(null, null))).size(),
                "a shard whose range is not known keeps every aggregate");
    }

    @Test
    void explicitHashKeysDecideTheRangeRuleWhereGiven() throws Exception {
        BigInteger a = Aggregates.hashKey("a");
        FakeShardReader shard = new FakeShardReader();
        shard.append("b", new Aggregates()
                .add("b", a.toString(), "routed-by-explicit-key").add("a", "routed-by-key")
                .encode());
        shard.append("a", new Aggregates()
                .add("a", "in").add("a", a.add(BigInteger.ONE).toString(), "out").encode());

        assertEquals(Arrays.asList("b=routed-by-explicit-key@1/0", "a=routed-by-key@1/1"),
                rendered(readAll(reading(shard, split(a, a)))));
    }

    /** Emits every record of {@code reader}, one at a time, until {@code stopAfter} emitted. */
    private static List<String> emit(DeaggregatingSplitReader reader, ShardSplitState state,
            int stopAfter) throws Exception {
        return emit(reader, state, stopAfter, null);
    }

    /** As above, de-duplicating when {@code duplicatesDropped} is not null. */
    private static List<String> emit(DeaggregatingSplitReader reader, ShardSplitState state,
            int stopAfter, Counter duplicatesDropped) throws Exception {
        ShardRecordEmitter<String> emitter = new ShardRecordEmitter<>(RENDER, duplicatesDropped);
        Collecting output = new Collecting();
        for (UserRecord record : readAll(reader)) {
            if (output.elements.size() == stopAfter) {
                break;
            }
            emitter.emitRecord(record, output, state);
        }
        return output.elements;
    }

    private static ShardSplit checkpointed(ShardSplitState state) throws Exception {
        ShardSplitSerializer serializer = ShardSplitSerializer.INSTANCE;
        return serializer.deserialize(serializer.getVersion(), serializer.serialize(state.toSplit()));
    }

    private static FakeShardReader shardWithALargeAggregate() {
        FakeShardReader shard = new FakeShardReader();
        shard.append("p", utf8("before"));
        Aggregates large = new Aggregates();
        for (int i = 0; i < 5; i++) {
            large.add("k" + i, "user-" + i);
        }
        shard.append("k0", large.encode());
        shard.append("p", utf8("after"));
        return shard;
    }

    @Test
    void aRestoreInsideAnAggregateReadsItAgainAndSkipsExactlyWhatWasEmitted() throws Exception {
        List<String> everything = emit(
                reading(shardWithALargeAggregate(), wholeRange()), new ShardSplitState(wholeRange()),
                Integer.MAX_VALUE);
        assertEquals(7, everything.size());

        for (int stopAfter = 1; stopAfter <= everything.size(); stopAfter++) {
            ShardSplitState state = new ShardSplitState(wholeRange());
            List<String> first = emit(reading(shardWithALargeAggregate(), wholeRange()), state,
                    stopAfter);
            ShardSplit restored = checkpointed(state);
            FakeShardReader shard = shardWithALargeAggregate();
            List<String> second = emit(reading(shard, restored), new ShardSplitState(restored),
                    Integer.MAX_VALUE);

            List<String> both = new ArrayList<>(first);
            both.addAll(second);
            assertEquals(everything, both, "checkpoint after " + stopAfter + " records");
            boolean insideAggregate = stopAfter >= 2 && stopAfter <= 6;
            assertEquals(insideAggregate ? stopAfter - 2 : ShardSplit.NO_SUB_SEQUENCE_NUMBER,
                    restored.getSubSequenceNumber(), "after " + stopAfter);
            assertEquals(insideAggregate ? ShardIteratorType.AT_SEQUENCE_NUMBER
                            : ShardIteratorType.AFTER_SEQUENCE_NUMBER,
                    shard.positions.get(0).getShardIteratorType(), "after " + stopAfter);
        }
    }

    @Test
    void splitsWithoutASubSequenceNumberStartWhereTheySay() throws Exception {
        FakeShardReader shard = shardWithALargeAggregate();
        ShardSplit afterFirst = wholeRange()
                .withStartingPosition(StartingPosition.continueFromSequenceNumber("1"));

        List<UserRecord> read = readAll(reading(shard, afterFirst));

        assertEquals(Collections.singletonList(afterFirst.getStartingPosition()), shard.positions);
        assertEquals(6, read.size());
    }

    private static final String W1 = "000000000000000a000000000000000b";
    private static final String W2 = "00000000000000ff00000000000000ff";

    /** A committable of W1 written twice (the second time with one record more), then more. */
    private static FakeShardReader shardWithDuplicates() {
        FakeShardReader shard = new FakeShardReader();
        shard.append("k", new Aggregates().addWithId("k", "w1-0", W1 + ":0")
                .addWithId("k", "w1-1", W1 + ":1").addWithId("j", "w2-0", W2 + ":0").encode());
        shard.append("p", utf8("plain"));
        shard.append("k", new Aggregates().addWithId("k", "w1-0", W1 + ":0")
                .addWithId("k", "w1-1", W1 + ":1").addWithId("k", "w1-2", W1 + ":2")
                .add("k", "untagged").addWithId("k", "not-an-id", "someone else's tag")
                .encode());
        shard.append("j", new Aggregates().addWithId("j", "w2-0", W2 + ":0")
                .addWithId("j", "w2-1", W2 + ":1").encode());
        return shard;
    }

    @Test
    void deduplicatingDropsUserRecordsAtOrBelowTheirWritersMarkAndCountsThem() throws Exception {
        SimpleCounter dropped = new SimpleCounter();

        List<String> emitted = emit(reading(shardWithDuplicates(), wholeRange()),
                new ShardSplitState(wholeRange()), Integer.MAX_VALUE, dropped);

        assertEquals(Arrays.asList("k=w1-0@1", "k=w1-1@1", "j=w2-0@1", "p=plain@2", "k=w1-2@3",
                "k=untagged@3", "k=not-an-id@3", "j=w2-1@4"), emitted);
        assertEquals(3, dropped.getCount());
        assertEquals(11, emit(reading(shardWithDuplicates(), wholeRange()),
                new ShardSplitState(wholeRange()), Integer.MAX_VALUE).size(),
                "without de-duplication every user record is emitted");
    }

    @Test
    void aRestoredSplitKeepsItsMarksAtEveryCheckpoint() throws Exception {
        List<String> everything = emit(reading(shardWithDuplicates(), wholeRange()),
                new ShardSplitState(wholeRange()), Integer.MAX_VALUE, new SimpleCounter());

        for (int stopAfter = 1; stopAfter <= everything.size(); stopAfter++) {
            ShardSplitState state = new ShardSplitState(wholeRange());
            List<String> both = new ArrayList<>(emit(reading(shardWithDuplicates(), wholeRange()),
                    state, stopAfter, new SimpleCounter()));
            ShardSplit restored = checkpointed(state);
            both.addAll(emit(reading(shardWithDuplicates(), restored),
                    new ShardSplitState(restored), Integer.MAX_VALUE, new SimpleCounter()));

            assertEquals(everything, both, "checkpoint after " + stopAfter + " records");
        }
    }

    /** A source output that keeps the elements. */
    private static final class Collecting implements SourceOutput<String> {
        final List<String> elements = new ArrayList<>();

        @Override
        public void collect(String element) {
            elements.add(element);
        }

        @Override
        public void collect(String element, long timestamp) {
            elements.add(element);
        }

        @Override
        public void emitWatermark(Watermark watermark) {
        }

        @Override
        public void markIdle() {
        }

        @Override
        public void markActive() {
        }
    }
}
