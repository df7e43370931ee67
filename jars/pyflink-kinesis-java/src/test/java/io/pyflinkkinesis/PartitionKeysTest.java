package io.pyflinkkinesis;

import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.connector.kinesis.sink.PartitionKeyGenerator;
import org.apache.flink.connector.kinesis.table.FixedKinesisPartitionKeyGenerator;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.types.Row;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PartitionKeysTest {

    private static Row named(Object customer) {
        Row row = Row.withNames();
        row.setField("customer", customer);
        row.setField("amount", 5);
        return row;
    }

    private static String failure(PartitionKeyGenerator<Object> keys, Object record) {
        return assertThrows(IllegalArgumentException.class, () -> keys.apply(record))
                .getMessage();
    }

    @Test
    void rowFieldsByNameAndPositionBecomeTheirStringForm() {
        PartitionKeyGenerator<Row> byName = FieldPartitionKeyGenerator.rowField("customer", null,
                false);
        PartitionKeyGenerator<Row> byPosition = FieldPartitionKeyGenerator.rowPosition(0, null,
                false);

        assertEquals("c-1", byName.apply(named("c-1")));
        assertEquals("42", byName.apply(named(42L)));
        assertEquals("2.5", byName.apply(named(2.5)));
        assertEquals("true", byName.apply(named(true)));
        assertEquals("00ff", byName.apply(named(new byte[] {0, (byte) 255})));
        assertEquals("[a, [1, 2]]", byName.apply(named(new Object[] {"a", new Integer[] {1, 2}})));
        assertEquals("c-2", byPosition.apply(Row.of("c-2", 7)));
    }

    @Test
    void jsonPathsReadTextBytesNestedFieldsAndAnyJsonValue() {
        PartitionKeyGenerator<Object> keys = FieldPartitionKeyGenerator.jsonPath("user.id", null,
                false);

        assertEquals("u7", keys.apply("{\"user\": {\"id\": \"u7\"}, \"v\": 1}"));
        assertEquals("17", keys.apply("{\"user\": {\"id\": 17}}".getBytes(StandardCharsets.UTF_8)));
        assertEquals("1.5", keys.apply("{\"user\": {\"id\": 1.5}}"));
        assertEquals("false", keys.apply("{\"user\": {\"id\": false}}"));
        assertEquals("{\"a\":[1,2]}", keys.apply("{\"user\": {\"id\": {\"a\": [1, 2]}}}"));
        Map<String, Object> user = new HashMap<>();
        user.put("id", "m1");
        assertEquals("m1", keys.apply(Collections.singletonMap("user", user)));
    }

    @Test
    void jsonIsReadOnlyAsFarAsTheFieldSkippingWhatIsNotOnItsPath() {
        PartitionKeyGenerator<Object> top = FieldPartitionKeyGenerator.jsonPath("id", null, false);
        PartitionKeyGenerator<Object> nested = FieldPartitionKeyGenerator.jsonPath("a.id", null,
                false);
        String record = "{\"x\": {\"id\": \"inner\", \"l\": [{\"id\": 1}]}, \"l\": [[\"id\"]], "
                + "\"a\": {\"b\": {\"id\": 3}, \"id\": \"a-id\"}, \"id\": \"top\"}";

        assertEquals("top", top.apply(record));
        assertEquals("a-id", nested.apply(record));
        assertEquals("first", top.apply("{\"id\": \"first\", \"id\": \"second\"}"));
        assertEquals("[1,{\"b\":null}]", top.apply("{\"id\": [1, {\"b\": null}]}"));
        assertEquals("early", top.apply("{\"id\": \"early\", \"rest\": tru"));  // not read
        assertTrue(failure(nested, "{\"a\": 5}").contains("JSON number, not an object"));
        assertTrue(failure(top, "").contains("the record is empty"));
        assertTrue(failure(top, "{\"x\": 1, broken").contains("not valid JSON"));
    }

    @Test
    void aRecordWithoutTheKeyFailsNamingFieldRecordAndSubtask() {
        FieldPartitionKeyGenerator<Object> keys = FieldPartitionKeyGenerator.jsonPath("user.id",
                null, false);
        keys.open(1, 3, new UnregisteredMetricsGroup());

        assertEquals("a", keys.apply("{\"user\": {\"id\": \"a\"}}"));
        String missing = failure(keys, "{\"user\": {}}");
        assertTrue(missing.startsWith("json_field('user.id') has no partition key for record 2 "
                + "of sink subtask 2 of 3"), missing);
        assertTrue(missing.contains("no field 'user.id' or it is null"), missing);
        assertTrue(missing.contains("default_key"), missing);
        assertTrue(failure(keys, "{\"user\": {\"id\": null}}").contains("record 3 "));
        assertTrue(failure(keys, "not json").contains("not valid JSON"));
        assertTrue(failure(keys, "[1, 2]").contains("JSON array, not an object"));
        assertTrue(failure(keys, "{\"user\": {\"id\": \"\"}}").contains("empty string"));
    }

    @Test
    void keysLongerThanKinesisAllowsFailOrAreHashedWhenChosen() {
        String longKey = String.join("", Collections.nCopies(257, "k"));
        String limit = longKey.substring(1);

        PartitionKeyGenerator<Object> strict = FieldPartitionKeyGenerator.rowPosition(0, null,
                false);
        assertEquals(limit, strict.apply(Row.of(limit)));
        String message = failure(strict, Row.of(longKey));
        assertTrue(message.contains("257 characters long and Kinesis takes 1 to 256"), message);
        assertTrue(message.contains("hash_long_keys=True"), message);

        FieldPartitionKeyGenerator<Object> hashing = FieldPartitionKeyGenerator.rowPosition(0,
                null, true);
        Map<String, Counter> counters = countersOf(hashing);
        String hashed = hashing.apply(Row.of(longKey));
        assertEquals(64, hashed.length());
        assertEquals(hashed, hashing.apply(Row.of(longKey)));  // one key per value: one shard
        assertEquals(limit, hashing.apply(Row.of(limit)));
        assertEquals(2, counters.get(FieldPartitionKeyGenerator.HASHED_KEYS_METRIC).getCount());
    }

    @Test
    void theDefaultKeyTakesRecordsWithoutAValueButNotUnreadableOnes() {
        FieldPartitionKeyGenerator<Object> keys = FieldPartitionKeyGenerator.jsonPath("id",
                "no-id", false);
        Map<String, Counter> counters = countersOf(keys);

        assertEquals("no-id", keys.apply("{}"));
        assertEquals("no-id", keys.apply("{\"id\": null}"));
        assertEquals("no-id", keys.apply("{\"id\": \"\"}"));
        assertEquals("no-id", keys.apply("not json"));
        assertEquals("x", keys.apply("{\"id\": \"x\"}"));
        assertEquals(4, counters.get(FieldPartitionKeyGenerator.DEFAULT_KEYS_METRIC).getCount());

        FieldPartitionKeyGenerator<Object> byName = FieldPartitionKeyGenerator.rowField("id",
                "no-id", false);
        assertTrue(failure(byName, Row.of("x")).contains("Row without field names"));
        assertTrue(failure(byName, 12L).contains("the record is a Long, which has no named"));
        FieldPartitionKeyGenerator<Object> byPosition = FieldPartitionKeyGenerator.rowPosition(3,
                "no-id", false);
        assertTrue(failure(byPosition, Row.of("x")).contains("Row of 1 fields"));
        assertTrue(failure(byPosition, new byte[3]).contains("a byte[] of 3 bytes, not a Row"));
    }

    @Test
    void invalidDefaultKeysAreRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> FieldPartitionKeyGenerator.rowField("id", "", false));
        assertThrows(IllegalArgumentException.class,
                () -> FieldPartitionKeyGenerator.rowField("id",
                        String.join("", Collections.nCopies(257, "k")), false));
        assertThrows(IllegalArgumentException.class,
                () -> FieldPartitionKeyGenerator.rowField("", null, false));
        assertThrows(IllegalArgumentException.class,
                () -> FieldPartitionKeyGenerator.rowPosition(-1, null, false));
    }

    @Test
    void fixedKeysAreTheSubtaskIndexFromOpenOrFromTheTaskThread() throws Exception {
        SubtaskPartitionKeyGenerator<Object> opened = new SubtaskPartitionKeyGenerator<>();
        opened.open(2, 3, null);
        assertEquals("2", opened.apply("x"));

        assertEquals(0, SubtaskPartitionKeyGenerator.subtaskOfTaskThread(
                "Source: values -> Sink: Writer (1/3)#0"));
        assertEquals(11, SubtaskPartitionKeyGenerator.subtaskOfTaskThread(
                "Sink: kinesis (x) (12/16)#3"));
        String[] key = new String[1];
        Thread task = new Thread(() -> key[0] = new SubtaskPartitionKeyGenerator<>().apply("x"),
                "Sink: Writer (3/4)#1");
        task.start();
        task.join();
        assertEquals("2", key[0]);

        assertTrue(assertThrows(IllegalStateException.class,
                () -> SubtaskPartitionKeyGenerator.subtaskOfTaskThread("main")).getMessage()
                .contains("not a Flink task thread"));
        assertThrows(IllegalArgumentException.class, () -> opened.initialize(3, 3));
    }

    @Test
    void tellSubtaskOpensOurGeneratorsAndInitializesOnesWithTheConnectorsContract() {
        FieldPartitionKeyGenerator<Object> keys = FieldPartitionKeyGenerator.rowPosition(0, null,
                false);
        SubtaskAware.tellSubtask(keys, 1, 2, null);
        String message = failure(keys, "text");
        assertTrue(message.contains("record 1 of sink subtask 2 of 2"), message);

        FixedKinesisPartitionKeyGenerator<Object> fixed = new FixedKinesisPartitionKeyGenerator<>();
        SubtaskAware.tellSubtask(fixed, 4, 5, null);
        assertEquals("4", fixed.apply("x"));
        SubtaskAware.tellSubtask(new Object(), 1, 2, null);  // neither: left alone
    }

    @Test
    void rowFieldSchemaWritesOnlyThePayloadField() throws Exception {
        RowFieldSerializationSchema raw = new RowFieldSerializationSchema(
                RecordField.position(1), null);
        assertArrayEquals("héllo".getBytes(StandardCharsets.UTF_8),
                raw.serialize(Row.of("key", "héllo")));
        assertArrayEquals(new byte[] {1, 2}, raw.serialize(Row.of("key", new byte[] {1, 2})));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> raw.serialize(Row.of("key", 5L))).getMessage().contains("holds a Long"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> raw.serialize(Row.of("key", null))).getMessage()
                .contains("no payload in field at position 1"));

        @SuppressWarnings({"unchecked", "rawtypes"})
        RowFieldSerializationSchema withSchema = new RowFieldSerializationSchema(
                RecordField.name("payload"), (org.apache.flink.api.common.serialization
                        .SerializationSchema) new SimpleStringSchema());
        Row row = Row.withNames();
        row.setField("key", "k");
        row.setField("payload", "p");
        assertArrayEquals("p".getBytes(StandardCharsets.UTF_8),
                InstantiationUtil.clone(withSchema).serialize(row));
    }

    private static Map<String, Counter> countersOf(SubtaskAware keys) {
        Map<String, Counter> counters = new HashMap<>();
        MetricGroup group = new UnregisteredMetricsGroup() {
            @Override
            public Counter counter(String name) {
                return counters.computeIfAbsent(name, n -> new org.apache.flink.metrics
                        .SimpleCounter());
            }
        };
        keys.open(0, 1, group);
        return counters;
    }
}
