package io.pyflinkkinesis;

import org.apache.flink.connector.kinesis.sink.PartitionKeyGenerator;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.SimpleCounter;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The partition key is a field of the record: a Row field by name or position, or a field of
 * JSON text by dotted path (see {@link RecordField}), so that all records of a key go to one
 * shard, in order.
 *
 * <p>A value becomes its string form: a String as it is, a {@code byte[]} as lowercase hex, an
 * array as {@link Arrays#deepToString}, anything else by {@link String#valueOf}. Kinesis takes
 * keys of 1 to {@value #MAX_KEY_LENGTH} characters (UTF-16 code units: a character outside the
 * Basic Multilingual Plane, like most emoji, counts twice).
 *
 * <p>A record without a usable key fails the job, naming the field, the record's position in
 * this sink subtask and what to do; no key is ever made up silently. Two fallbacks are opt-in:
 * {@code defaultKey} for records that lack the value (missing field, null, empty string, text
 * that is not JSON) and {@code hashLongKeys}, which writes a key longer than Kinesis allows as
 * the SHA-256 of its UTF-8 bytes in hex (64 characters: still one key per value, so still one
 * shard and one order per value). Each use is counted in the sink writer's metrics
 * ({@value #DEFAULT_KEYS_METRIC}, {@value #HASHED_KEYS_METRIC}), and the first default key of
 * each subtask is logged. A reader that cannot work on the records at all (a Row without field
 * names read by name, a position past the Row's end, a record that is not a Row) always fails.
 */
public class FieldPartitionKeyGenerator<T> implements PartitionKeyGenerator<T>, SubtaskAware {

    private static final long serialVersionUID = 1L;

    private static final Logger LOG = LoggerFactory.getLogger(FieldPartitionKeyGenerator.class);

    /** The longest partition key Kinesis accepts, in UTF-16 code units. */
    public static final int MAX_KEY_LENGTH = 256;

    /** Counter of records written under the default key. */
    public static final String DEFAULT_KEYS_METRIC = "numRecordsWithDefaultPartitionKey";

    /** Counter of records whose key was too long and was hashed. */
    public static final String HASHED_KEYS_METRIC = "numRecordsWithHashedPartitionKey";

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private final RecordField field;
    private final String name;
    private final String defaultKey;
    private final boolean hashLongKeys;

    private transient long records;
    private transient String subtask;
    private transient Counter defaultKeys;
    private transient Counter hashedKeys;

    /**
     * @param field where the key is
     * @param name how messages name this generator, e.g. {@code from_field('customer')}
     * @param defaultKey the key of records that lack the value, or null to fail the job on them
     * @param hashLongKeys hash keys longer than {@value #MAX_KEY_LENGTH} instead of failing
     */
    public FieldPartitionKeyGenerator(
            RecordField field, String name, String defaultKey, boolean hashLongKeys) {
        if (field == null) {
            throw new IllegalArgumentException("field must not be null");
        }
        if (defaultKey != null && lengthProblem(defaultKey) != null) {
            throw new IllegalArgumentException("defaultKey " + lengthProblem(defaultKey));
        }
        this.field = field;
        this.name = name;
        this.defaultKey = defaultKey;
        this.hashLongKeys = hashLongKeys;
    }

    /** Key by the Row field called {@code name}. */
    public static <T> FieldPartitionKeyGenerator<T> rowField(
            String name, String defaultKey, boolean hashLongKeys) {
        return new FieldPartitionKeyGenerator<>(RecordField.name(name),
                "from_field('" + name + "')", defaultKey, hashLongKeys);
    }

    /** Key by the Row field at {@code position} (from 0). */
    public static <T> FieldPartitionKeyGenerator<T> rowPosition(
            int position, String defaultKey, boolean hashLongKeys) {
        return new FieldPartitionKeyGenerator<>(RecordField.position(position),
                "from_field(" + position + ")", defaultKey, hashLongKeys);
    }

    /** Key by the field at the dotted {@code path} of JSON text records. */
    public static <T> FieldPartitionKeyGenerator<T> jsonPath(
            String path, String defaultKey, boolean hashLongKeys) {
        return new FieldPartitionKeyGenerator<>(RecordField.path(path),
                "json_field('" + path + "')", defaultKey, hashLongKeys);
    }

    @Override
    public void open(int subtaskIndex, int parallelism, MetricGroup metrics) {
        subtask = (subtaskIndex + 1) + " of " + parallelism;
        if (metrics != null) {
            defaultKeys = metrics.counter(DEFAULT_KEYS_METRIC);
            hashedKeys = metrics.counter(HASHED_KEYS_METRIC);
        }
    }

    @Override
    public String apply(T record) {
        records++;
        Object value;
        try {
            value = field.read(record);
        } catch (RecordField.Unreadable e) {
            if (e.absent && defaultKey != null) {
                return useDefault(e.getMessage());
            }
            throw failure(e.getMessage() + (e.absent ? WHAT_TO_DO_WHEN_ABSENT : ""));
        }
        String key = keyOf(value);
        if (key.isEmpty()) {
            if (defaultKey != null) {
                return useDefault("the field is an empty string");
            }
            throw failure("the field is an empty string and Kinesis needs keys of 1 to "
                    + MAX_KEY_LENGTH + " characters" + WHAT_TO_DO_WHEN_ABSENT);
        }
        if (key.length() > MAX_KEY_LENGTH) {
            if (hashLongKeys) {
                counter(false).inc();
                return sha256Hex(key);
            }
            throw failure("the key is " + lengthProblem(key) + "; shorten the field, or set "
                    + "hash_long_keys=True to write long keys as their SHA-256 (one key per "
                    + "value still)");
        }
        return key;
    }

    private static final String WHAT_TO_DO_WHEN_ABSENT = "; give every record the field, or "
            + "set default_key to write such records under a key of your choice";

    private String useDefault(String why) {
        counter(true).inc();
        if (counter(true).getCount() == 1) {
            LOG.warn("{}: record {} of sink subtask {} is written under the default key '{}' "
                            + "({}); later ones are counted in the metric {}",
                    name, records, subtaskText(), defaultKey, why, DEFAULT_KEYS_METRIC);
        }
        return defaultKey;
    }

    private Counter counter(boolean defaults) {
        if (defaultKeys == null) {
            defaultKeys = new SimpleCounter();
            hashedKeys = new SimpleCounter();
        }
        return defaults ? defaultKeys : hashedKeys;
    }

    private IllegalArgumentException failure(String why) {
        return new IllegalArgumentException(name + " has no partition key for record " + records
                + " of sink subtask " + subtaskText() + " (counted from 1 since the subtask "
                + "started): " + why);
    }

    private String subtaskText() {
        return subtask == null ? "(unknown)" : subtask;
    }

    /** The string form of a field's value (see the class comment). */
    static String keyOf(Object value) {
        if (value instanceof String) {
            return (String) value;
        }
        if (value instanceof byte[]) {
            return hex((byte[]) value);
        }
        if (value instanceof Object[]) {
            return Arrays.deepToString((Object[]) value);
        }
        return String.valueOf(value);
    }

    /** Null when {@code key} is a valid length for Kinesis, else what is wrong with it. */
    static String lengthProblem(String key) {
        if (key.isEmpty() || key.length() > MAX_KEY_LENGTH) {
            return key.length() + " characters long and Kinesis takes 1 to " + MAX_KEY_LENGTH;
        }
        return null;
    }

    static String sha256Hex(String key) {
        try {
            return hex(MessageDigest.getInstance("SHA-256")
                    .digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    private static String hex(byte[] bytes) {
        char[] text = new char[bytes.length * 2];
        for (int i = 0; i < bytes.length; i++) {
            text[2 * i] = HEX[(bytes[i] >> 4) & 0xf];
            text[2 * i + 1] = HEX[bytes[i] & 0xf];
        }
        return new String(text);
    }

    @Override
    public String toString() {
        return name;
    }
}
