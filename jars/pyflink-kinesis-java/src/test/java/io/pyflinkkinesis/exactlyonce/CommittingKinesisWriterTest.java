package io.pyflinkkinesis.exactlyonce;

import io.pyflinkkinesis.aggregation.KeyedRecord;
import io.pyflinkkinesis.sink.KinesisSinkException;

import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.connector.kinesis.sink.PartitionKeyGenerator;
import org.apache.flink.metrics.SimpleCounter;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CommittingKinesisWriterTest {

    private static final SerializationSchema<String> UTF8 =
            element -> element.getBytes(StandardCharsets.UTF_8);
    private static final PartitionKeyGenerator<String> FIRST_CHAR =
            element -> element.substring(0, 1);

    private static CommittingKinesisWriter<String> writer(long maxBufferedBytes) {
        return new CommittingKinesisWriter<>(UTF8, FIRST_CHAR, maxBufferedBytes,
                new SimpleCounter(), KinesisCommitterTest.link(), System::currentTimeMillis,
                ms -> { });  // no pauses here: see the pacing test
    }

    private static void write(CommittingKinesisWriter<String> writer, String... elements)
            throws InterruptedException {
        for (String element : elements) {
            writer.write(element, null);
        }
    }

    private static KinesisCommittable only(Collection<KinesisCommittable> committables) {
        assertEquals(1, committables.size());
        return committables.iterator().next();
    }

    @Test
    void notChainedTheRecordsAndTheRestoredCommittablesTravelInTheCommittablesNotTheState()
            throws Exception {
        RecordId.WriterId old = RecordId.WriterId.random();
        KinesisCommittable restored = new KinesisCommittable(old, 5,
                Collections.singletonList(new KeyedRecord("k", new byte[] {1})));
        CommittingKinesisWriter<String> writer = new CommittingKinesisWriter<>(UTF8, FIRST_CHAR,
                1 << 20, new SimpleCounter(), KinesisCommitterTest.link(),
                KinesisWriterState.byWriter(Collections.singletonList(restored)));

        write(writer, "a1");
        List<KinesisCommittable> committables = new ArrayList<>(writer.prepareCommit());

        assertEquals(2, committables.size());
        assertEquals(restored, committables.get(0));
        assertEquals(1, committables.get(1).records().size());
        assertTrue(writer.snapshotState(1).isEmpty(), "the committer's state holds them");
    }

    @Test
    void idsAreDenseAndIncreasingPerWriterAcrossCheckpointsInArrivalOrder() throws Exception {
        CommittingKinesisWriter<String> writer = writer(1 << 20);
        List<String> ids = new ArrayList<>();
        List<String> data = new ArrayList<>();

        write(writer, "a1", "b2", "a3");
        KinesisCommittable first = only(writer.prepareCommit());
        assertTrue(writer.prepareCommit().isEmpty(), "no records, no committable");
        write(writer, "c4");
        writer.flush(true);
        KinesisCommittable last = only(writer.prepareCommit());

        for (KinesisCommittable committable : Arrays.asList(first, last)) {
            assertEquals(writer.writerId(), committable.writer());
            for (int i = 0; i < committable.records().size(); i++) {
                ids.add(committable.idOf(i).toString());
                data.add(new String(committable.records().get(i).data, StandardCharsets.UTF_8));
            }
        }
        String w = writer.writerId().toString();
        assertEquals(Arrays.asList(w + ":0", w + ":1", w + ":2", w + ":3"), ids);
        assertEquals(Arrays.asList("a1", "b2", "a3", "c4"), data);
        assertEquals("a", first.records().get(2).partitionKey);
    }

    @Test
    void everyWriterDrawsItsOwnId() {
        assertNotEquals(writer(1 << 20).writerId(), writer(1 << 20).writerId());
    }

    @Test
    void moreThanMaxBufferedBytesBetweenCheckpointsFailsAskingForMoreFrequentCheckpoints()
            throws Exception {
        CommittingKinesisWriter<String> writer = writer(17);
        write(writer, "a1234", "b1234");  // 2 * (5 data + 1 key) = 12, 18 with the next

        KinesisSinkException error = assertThrows(KinesisSinkException.class,
                () -> write(writer, "c1234"));

        assertTrue(error.getMessage().contains("Checkpoint more often"), error.getMessage());
        assertTrue(error.getMessage().contains("max-buffered-bytes (17)"), error.getMessage());
    }

    @Test
    void pastHalfTheBoundTheWriterSlowsItsInputSoAFastSourceNeverReachesIt() throws Exception {
        long[] nowMs = {0};
        List<Long> pauses = new ArrayList<>();
        CommittingKinesisWriter<String> writer = new CommittingKinesisWriter<>(UTF8, FIRST_CHAR,
                100_000, new SimpleCounter(), KinesisCommitterTest.link(), () -> nowMs[0],
                ms -> {
                    pauses.add(ms);
                    nowMs[0] += ms;
                });
        writer.prepareCommit();
        nowMs[0] += 2_000;
        writer.prepareCommit();  // checkpoints 2 s apart
        String record = "a" + new String(new char[99]).replace('\0', 'x');  // 100 bytes + key

        for (int i = 0; i < 495; i++) {  // up to 0.5 of the bound: no pause
            write(writer, record);
        }
        assertEquals(Collections.emptyList(), pauses);
        long startedMs = nowMs[0];
        for (int i = 0; i < 485; i++) {  // to 0.99 of the bound at once: about three intervals
            write(writer, record);
        }
        long toNinetyNineMs = nowMs[0] - startedMs;
        assertTrue(toNinetyNineMs > 5_000 && toNinetyNineMs < 7_000, toNinetyNineMs + " ms");
        for (int i = 0; i < 9; i++) {  // the last 1% is slower still: 9 records take over 2 s
            write(writer, record);
        }
        assertTrue(nowMs[0] - startedMs - toNinetyNineMs > 2_000,
                (nowMs[0] - startedMs - toNinetyNineMs) + " ms");

        assertEquals(989, only(writer.prepareCommit()).records().size());
        pauses.clear();
        for (int i = 0; i < 495; i++) {  // a new checkpoint: no pause again
            write(writer, record);
        }
        assertEquals(Collections.emptyList(), pauses);
    }

    @Test
    void theBoundIsPerCheckpoint() throws Exception {
        CommittingKinesisWriter<String> writer = writer(12);
        for (int checkpoint = 0; checkpoint < 5; checkpoint++) {
            write(writer, "a1234", "b1234");
            assertEquals(2, only(writer.prepareCommit()).records().size());
        }
    }

    @Test
    void aRecordTooBigForAKinesisRecordWithItsIdIsRefused() throws Exception {
        CommittingKinesisWriter<String> writer = writer(4L << 20);
        String big = "k" + xs(1024 * 1024 - 60);

        IllegalArgumentException error =
                assertThrows(IllegalArgumentException.class, () -> write(writer, big));

        assertTrue(error.getMessage().contains("too big"), error.getMessage());
        write(writer, "k" + xs(1024 * 1024 - 200));
    }

    private static String xs(int count) {
        char[] chars = new char[count];
        Arrays.fill(chars, 'x');
        return new String(chars);
    }
}
