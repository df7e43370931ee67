import io.pyflinkkinesis.exactlyonce.HashKeyRange;
import io.pyflinkkinesis.exactlyonce.RecordId;
import io.pyflinkkinesis.source.split.ShardMarks;
import io.pyflinkkinesis.source.split.ShardSplit;
import io.pyflinkkinesis.source.split.ShardSplitSerializer;
import io.pyflinkkinesis.source.split.ShardSplitState;

import org.apache.flink.connector.kinesis.source.split.StartingPosition;

import java.math.BigInteger;
import java.util.Collections;
import java.util.Random;

/**
 * The de-duplicating reader's split state after RECORDS user records from WRITERS
 * committing-sink writers over SHARDS shards, the writers replaced GENERATIONS - 1 times on the
 * way (a restart gives every writer a new id): each record, in id order per writer, admitted into
 * the marks of the shard its hash key falls in (the shard it was meant for, no resharding), as
 * the reader's emitter does; then every split serialized by ShardSplitSerializer (what a
 * checkpoint holds of it). Prints one line of JSON.
 *
 * <p>Usage: java -cp CLASSPATH bench/java/DedupStateSize.java RECORDS WRITERS SHARDS GENERATIONS
 */
public final class DedupStateSize {

    public static void main(String[] args) throws Exception {
        long records = Long.parseLong(args[0]);
        int writers = Integer.parseInt(args[1]);
        int shards = Integer.parseInt(args[2]);
        int generations = Integer.parseInt(args[3]);
        BigInteger keys = BigInteger.ONE.shiftLeft(128);
        BigInteger width = keys.divide(BigInteger.valueOf(shards));
        String arn = "arn:aws:kinesis:us-east-1:000000000000:stream/dedup-state";
        String sequenceNumber = "49655404719290469537391883219327398468413627384529436674";
        ShardSplitState[] states = new ShardSplitState[shards];
        HashKeyRange[] ranges = new HashKeyRange[shards];
        for (int s = 0; s < shards; s++) {
            BigInteger first = width.multiply(BigInteger.valueOf(s));
            BigInteger last = s == shards - 1 ? keys.subtract(BigInteger.ONE)
                    : first.add(width).subtract(BigInteger.ONE);
            ranges[s] = new HashKeyRange(first, last);
            ShardSplit split = new ShardSplit(arn, String.format("shardId-%012d", s),
                    StartingPosition.fromStart(), Collections.emptySet(), first.toString(),
                    last.toString());
            states[s] = new ShardSplitState(split);
        }
        RecordId.WriterId[] writerIds = new RecordId.WriterId[writers];
        long perGeneration = (records + generations - 1) / generations;
        Random random = new Random(42);
        long dropped = 0;
        for (long i = 0; i < records; i++) {
            if (i % perGeneration == 0) {
                for (int w = 0; w < writers; w++) {
                    writerIds[w] = RecordId.WriterId.random();
                }
            }
            BigInteger hashKey = new BigInteger(128, random);
            int shard = hashKey.divide(width).min(BigInteger.valueOf(shards - 1)).intValue();
            RecordId id = new RecordId(writerIds[(int) (i % writers)],
                    (i % perGeneration) / writers);
            if (!states[shard].getMarks().admit(id, hashKey, ranges[shard], 1_700_000_000_000L
                    + i / 1000)) {
                dropped++;
            }
            states[shard].setNextStartingPosition(
                    StartingPosition.continueFromSequenceNumber(sequenceNumber));
        }
        long bytes = 0;
        long withoutMarks = 0;
        for (ShardSplitState state : states) {
            ShardSplit split = state.toSplit();
            bytes += ShardSplitSerializer.INSTANCE.serialize(split).length;
            withoutMarks += ShardSplitSerializer.INSTANCE.serialize(
                    split.withMarks(new ShardMarks())).length;
        }
        System.out.printf("{\"records\": %d, \"writers\": %d, \"shards\": %d, "
                + "\"generations\": %d, \"split_state_bytes\": %d, "
                + "\"split_state_bytes_without_marks\": %d, \"dropped\": %d}%n", records,
                writers, shards, generations, bytes, withoutMarks, dropped);
    }
}
