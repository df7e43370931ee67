package io.pyflinkkinesis;

import org.apache.flink.api.common.eventtime.TimestampAssigner;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.types.Row;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Collections;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WatermarksTest {

    private static Row withArrival(long arrival) {
        Row row = Row.withNames();
        row.setField("payload", "x");
        row.setField("approximate_arrival_timestamp", arrival);
        return row;
    }

    @Test
    void arrivalTimeComesFromTheMetadataRowAndTheWatermarkTrailsByTheBound() {
        ArrivalTimeWatermarks<Row> assigner = new ArrivalTimeWatermarks<>(500);

        // The connector passes the previous record's timestamp: it must be ignored.
        assertEquals(10_000L, assigner.extractTimestamp(withArrival(10_000L), Long.MIN_VALUE));
        assertEquals(9_000L, assigner.extractTimestamp(withArrival(9_000L), 10_000L));

        assertEquals(10_000L - 500 - 1, assigner.getCurrentWatermark().getTimestamp());
    }

    @Test
    void arrivalTimeWithoutMetadataFailsSayingWhatToUse() {
        ArrivalTimeWatermarks<Object> assigner = new ArrivalTimeWatermarks<>(0);

        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> assigner.extractTimestamp("plain text", 5L)).getMessage()
                .contains("with_metadata"));
    }

    @Test
    void arrivalTimeReadsTheRowsOfKinesisRecordWithMetadata() throws Exception {
        Row row = new KinesisRecordWithMetadata<>(new SimpleStringSchema()).deserialize(
                "x".getBytes(StandardCharsets.UTF_8), "k", "1", 1234L, "s", "shard");

        assertEquals(1234L, new ArrivalTimeWatermarks<Row>(0).extractTimestamp(row, 0L));
    }

    @Test
    void noRecordsMeansNoProgress() {
        assertEquals(Long.MIN_VALUE,
                new ArrivalTimeWatermarks<Row>(500).getCurrentWatermark().getTimestamp());
    }

    @Test
    void negativeBoundIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> new ArrivalTimeWatermarks<>(-1));
    }

    @Test
    void jsonTextWithEpochMillis() {
        JsonFieldWatermarks<String> assigner = new JsonFieldWatermarks<>("ts", 100, "millis");

        assertEquals(1_700_000_000_123L,
                assigner.extractTimestamp("{\"ts\": 1700000000123, \"v\": 1}", 5L));
        assertEquals(1_700_000_000_123L - 101, assigner.getCurrentWatermark().getTimestamp());
    }

    @Test
    void jsonBytesWithFractionalEpochSecondsAndNestedPath() {
        JsonFieldWatermarks<byte[]> assigner =
                new JsonFieldWatermarks<>("meta.at", 0, "seconds");
        byte[] json = "{\"meta\": {\"at\": 1459799926.480}}".getBytes(StandardCharsets.UTF_8);

        assertEquals(1_459_799_926_480L, assigner.extractTimestamp(json, 5L));
    }

    @Test
    void isoStringsWithAndWithoutOffset() {
        JsonFieldWatermarks<String> assigner = new JsonFieldWatermarks<>("ts", 0, "millis");

        assertEquals(1_714_564_800_250L,
                assigner.extractTimestamp("{\"ts\": \"2024-05-01T12:00:00.250Z\"}", 0L));
        assertEquals(1_714_564_800_250L,
                assigner.extractTimestamp("{\"ts\": \"2024-05-01T14:00:00.250+02:00\"}", 0L));
        assertEquals(1_714_564_800_000L,
                assigner.extractTimestamp("{\"ts\": \"2024-05-01T12:00:00\"}", 0L));
    }

    @Test
    void namedRowsAndMaps() {
        JsonFieldWatermarks<Object> assigner = new JsonFieldWatermarks<>("ts", 0, "millis");
        Row row = Row.withNames();
        row.setField("ts", 42L);

        assertEquals(42L, assigner.extractTimestamp(row, 0L));
        assertEquals(43L, assigner.extractTimestamp(Collections.singletonMap("ts", 43), 0L));
    }

    @Test
    void missingFieldFailsNamingTheField() {
        JsonFieldWatermarks<String> assigner = new JsonFieldWatermarks<>("ts", 0, "millis");

        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> assigner.extractTimestamp("{\"other\": 1}", 0L));
        assertTrue(error.getMessage().contains("'ts'"), error.getMessage());
    }

    @Test
    void invalidJsonAndUnreadableDatesFailClearly() {
        JsonFieldWatermarks<String> assigner = new JsonFieldWatermarks<>("ts", 0, "millis");

        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> assigner.extractTimestamp("not json", 0L)).getMessage()
                .contains("not valid JSON"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> assigner.extractTimestamp("{\"ts\": \"yesterday\"}", 0L)).getMessage()
                .contains("ISO-8601"));
    }

    @Test
    void badArgumentsAreRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> new JsonFieldWatermarks<>("", 0, "millis"));
        assertThrows(IllegalArgumentException.class,
                () -> new JsonFieldWatermarks<>("ts", 0, "hours"));
    }

    @Test
    void survivesJavaSerialization() throws Exception {
        JsonFieldWatermarks<String> copy =
                InstantiationUtil.clone(new JsonFieldWatermarks<String>("ts", 7, "millis"));

        assertEquals(9L, copy.extractTimestamp("{\"ts\": 9}", 0L));
        assertEquals(1L, copy.getCurrentWatermark().getTimestamp());
    }

    @Test
    void fieldTimestampAssignerReplacesTheSourceTimestampInAWatermarkStrategy() throws Exception {
        WatermarkStrategy<String> strategy = WatermarkStrategy.<String>forMonotonousTimestamps()
                .withTimestampAssigner(new FieldTimestampAssigner<String>("meta.at", "seconds"));
        TimestampAssigner<String> assigner =
                InstantiationUtil.clone(strategy).createTimestampAssigner(null);

        // The source's own timestamp (Kinesis' arrival time) is ignored.
        assertEquals(1_459_799_926_480L,
                assigner.extractTimestamp("{\"meta\": {\"at\": 1459799926.480}}", 99L));
    }

    @Test
    void fieldTimestampAssignerFailsNamingTheFieldAndRejectsBadUnits() {
        FieldTimestampAssigner<String> assigner = new FieldTimestampAssigner<>("ts", "millis");

        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> assigner.extractTimestamp("{\"other\": 1}", 5L)).getMessage()
                .contains("'ts'"));
        assertThrows(IllegalArgumentException.class,
                () -> new FieldTimestampAssigner<>("ts", "hours"));
    }
}
