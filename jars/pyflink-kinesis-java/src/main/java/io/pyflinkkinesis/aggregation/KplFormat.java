package io.pyflinkkinesis.aggregation;

import io.pyflinkkinesis.exactlyonce.RecordId;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The KPL aggregated record format: 4 magic bytes, the protobuf {@code AggregatedRecord}, then
 * the 16-byte MD5 of the protobuf bytes.
 *
 * <pre>
 * AggregatedRecord { repeated string partition_key_table = 1;
 *                    repeated string explicit_hash_key_table = 2;
 *                    repeated Record records = 3; }
 * Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
 *          required bytes data = 3; repeated Tag tags = 4; }
 * </pre>
 *
 * <p>{@link KplAggregate} writes it: partition keys and data, no explicit hash keys, and for the
 * committing sink one tag per record (its id, see {@link #idTagSize}).
 * {@link #unpack} reads any producer's aggregates (the KPL's, {@code aws-kinesis-agg}'s, this
 * sink's): partition keys, explicit hash keys, data and tags ({@code Tag { required string key
 * = 1; optional string value = 2; }}). The FLIP-27 source de-aggregates with it.
 */
public final class KplFormat {

    static final byte[] MAGIC = {(byte) 0xF3, (byte) 0x89, (byte) 0x9A, (byte) 0xC2};
    static final int DIGEST_BYTES = 16;
    /** Bytes of an aggregate outside its protobuf: magic and digest. */
    static final int OVERHEAD = MAGIC.length + DIGEST_BYTES;

    private static final int VARINT = 0;
    private static final int FIXED64 = 1;
    private static final int LENGTH_DELIMITED = 2;
    private static final int FIXED32 = 5;

    // AggregatedRecord.partition_key_table, .explicit_hash_key_table and .records
    static final byte KEY_TABLE_TAG = tag(1, LENGTH_DELIMITED);
    static final byte HASH_KEY_TABLE_TAG = tag(2, LENGTH_DELIMITED);
    static final byte RECORDS_TAG = tag(3, LENGTH_DELIMITED);
    // Record.partition_key_index, .explicit_hash_key_index and .data
    static final byte KEY_INDEX_TAG = tag(1, VARINT);
    static final byte HASH_KEY_INDEX_TAG = tag(2, VARINT);
    static final byte DATA_TAG = tag(3, LENGTH_DELIMITED);
    // Record.tags, and Tag.key and .value
    static final byte TAGS_TAG = tag(4, LENGTH_DELIMITED);
    static final byte TAG_KEY_TAG = tag(1, LENGTH_DELIMITED);
    static final byte TAG_VALUE_TAG = tag(2, LENGTH_DELIMITED);
    /** A record without an explicit hash key index. */
    private static final long NO_INDEX = -1;

    private static final byte[] ID_TAG_KEY = RecordId.TAG_KEY.getBytes(StandardCharsets.US_ASCII);

    private static final ThreadLocal<MessageDigest> MD5 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has MD5", e);
        }
    });

    private KplFormat() {}

    private static byte tag(int field, int wireType) {
        return (byte) (field << 3 | wireType);
    }

    static byte[] md5(byte[] bytes, int offset, int length) {
        MessageDigest md5 = MD5.get();
        md5.reset();
        md5.update(bytes, offset, length);
        return md5.digest();
    }

    static int varintSize(long value) {
        int size = 1;
        while ((value & ~0x7FL) != 0) {
            value >>>= 7;
            size++;
        }
        return size;
    }

    /** Writes {@code value} as a varint at {@code position}; returns the position after it. */
    static int writeVarint(byte[] out, int position, long value) {
        while ((value & ~0x7FL) != 0) {
            out[position++] = (byte) ((value & 0x7F) | 0x80);
            value >>>= 7;
        }
        out[position++] = (byte) value;
        return position;
    }

    /** Size of a length-delimited field (one-byte tag, length, content) of {@code length} bytes. */
    static long fieldSize(long length) {
        return 1 + varintSize(length) + length;
    }

    /** Size of a Record message holding a key index and {@code dataLength} bytes of data. */
    static long recordSize(int keyIndex, int dataLength) {
        return 1 + varintSize(keyIndex) + fieldSize(dataLength);
    }

    /** Size of a Tag message with the committing sink's id key and {@code value} (ASCII). */
    static long idTagSize(String value) {
        return fieldSize(ID_TAG_KEY.length) + fieldSize(value.length());
    }

    /** Writes the Tags field of a record id {@code value} (ASCII); returns the position after it. */
    static int writeIdTag(byte[] out, int position, String value) {
        out[position++] = TAGS_TAG;
        position = writeVarint(out, position, idTagSize(value));
        out[position++] = TAG_KEY_TAG;
        position = writeVarint(out, position, ID_TAG_KEY.length);
        System.arraycopy(ID_TAG_KEY, 0, out, position, ID_TAG_KEY.length);
        position += ID_TAG_KEY.length;
        out[position++] = TAG_VALUE_TAG;
        position = writeVarint(out, position, value.length());
        for (int i = 0; i < value.length(); i++) {
            out[position++] = (byte) value.charAt(i);
        }
        return position;
    }

    /**
     * Whether {@code data} is a KPL aggregate as consumers see it: magic bytes, a protobuf and
     * the protobuf's MD5.
     */
    static boolean isAggregate(byte[] data) {
        if (data.length <= OVERHEAD || !startsWithMagic(data)) {
            return false;
        }
        int protobufEnd = data.length - DIGEST_BYTES;
        byte[] digest = md5(data, MAGIC.length, protobufEnd - MAGIC.length);
        return Arrays.equals(digest, Arrays.copyOfRange(data, protobufEnd, data.length));
    }

    private static boolean startsWithMagic(byte[] data) {
        for (int i = 0; i < MAGIC.length; i++) {
            if (data[i] != MAGIC[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * The user records of an aggregate, in order, each with its tags, or null when {@code data}
     * is no aggregate (no magic, or a digest that does not match).
     *
     * @throws IllegalArgumentException when the data has the magic and digest of an aggregate
     *     but its protobuf is malformed (an index past its table, an explicit hash key that is no
     *     decimal number, a tag without key, a field running past its message)
     */
    public static List<TaggedRecord> unpack(byte[] data) {
        Parsed parsed = parse(data, true);
        return parsed == null ? null : toRecords(data, parsed);
    }

    /**
     * The partition key table of an aggregate (each key its records use, once), or null when
     * {@code data} is no aggregate. Cheaper than {@link #unpack}: the records are skipped.
     */
    static List<String> partitionKeys(byte[] data) {
        Parsed parsed = parse(data, false);
        return parsed == null ? null : parsed.keys;
    }

    private static final class Parsed {
        final List<String> keys = new ArrayList<>();
        final List<String> hashKeys = new ArrayList<>();
        final List<ParsedRecord> records = new ArrayList<>();
    }

    private static final class ParsedRecord {
        long keyIndex = -1;
        long hashKeyIndex = NO_INDEX;
        int dataOffset = -1;
        int dataLength;
        final List<TaggedRecord.Tag> tags = new ArrayList<>();
    }

    private static Parsed parse(byte[] data, boolean withRecords) {
        if (!isAggregate(data)) {
            return null;
        }
        Parsed parsed = new Parsed();
        Reader reader = new Reader(data, MAGIC.length, data.length - DIGEST_BYTES);
        while (reader.hasMore()) {
            int tag = (int) reader.varint();
            if (tag == KEY_TABLE_TAG) {
                int length = reader.length();
                parsed.keys.add(new String(data, reader.position, length, StandardCharsets.UTF_8));
                reader.position += length;
            } else if (tag == HASH_KEY_TABLE_TAG && withRecords) {
                int length = reader.length();
                parsed.hashKeys.add(
                        new String(data, reader.position, length, StandardCharsets.UTF_8));
                reader.position += length;
            } else if (tag == RECORDS_TAG && withRecords) {
                int length = reader.length();
                parsed.records.add(readRecord(
                        new Reader(data, reader.position, reader.position + length)));
                reader.position += length;
            } else {
                reader.skip(tag & 7);
            }
        }
        return parsed;
    }

    private static ParsedRecord readRecord(Reader reader) {
        ParsedRecord record = new ParsedRecord();
        while (reader.hasMore()) {
            int tag = (int) reader.varint();
            if (tag == KEY_INDEX_TAG) {
                record.keyIndex = reader.varint();
            } else if (tag == HASH_KEY_INDEX_TAG) {
                record.hashKeyIndex = reader.varint();
            } else if (tag == DATA_TAG) {
                record.dataLength = reader.length();
                record.dataOffset = reader.position;
                reader.position += record.dataLength;
            } else if (tag == TAGS_TAG) {
                int length = reader.length();
                record.tags.add(readTag(
                        new Reader(reader.bytes, reader.position, reader.position + length)));
                reader.position += length;
            } else {
                reader.skip(tag & 7);
            }
        }
        if (record.keyIndex < 0 || record.dataOffset < 0) {
            throw malformed("a record without partition key index or data");
        }
        return record;
    }

    private static TaggedRecord.Tag readTag(Reader reader) {
        String key = null;
        String value = null;
        while (reader.hasMore()) {
            int tag = (int) reader.varint();
            if (tag == TAG_KEY_TAG || tag == TAG_VALUE_TAG) {
                int length = reader.length();
                String text = new String(reader.bytes, reader.position, length,
                        StandardCharsets.UTF_8);
                reader.position += length;
                if (tag == TAG_KEY_TAG) {
                    key = text;
                } else {
                    value = text;
                }
            } else {
                reader.skip(tag & 7);
            }
        }
        if (key == null) {
            throw malformed("a tag without key");
        }
        return new TaggedRecord.Tag(key, value);
    }

    private static List<TaggedRecord> toRecords(byte[] data, Parsed parsed) {
        List<String> keys = parsed.keys;
        List<byte[]> keyBytes = new ArrayList<>(keys.size());
        List<BigInteger> hashKeys = new ArrayList<>(keys.size());
        for (String key : keys) {
            byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
            keyBytes.add(bytes);
            hashKeys.add(KeyedRecord.hashKeyOf(bytes));
        }
        List<BigInteger> explicitHashKeys = new ArrayList<>(parsed.hashKeys.size());
        for (String hashKey : parsed.hashKeys) {
            explicitHashKeys.add(explicitHashKey(hashKey));
        }
        List<TaggedRecord> result = new ArrayList<>(parsed.records.size());
        for (ParsedRecord record : parsed.records) {
            int key = index(record.keyIndex, keys.size(), "partition key");
            byte[] userData = Arrays.copyOfRange(
                    data, record.dataOffset, record.dataOffset + record.dataLength);
            KeyedRecord keyed;
            if (record.hashKeyIndex == NO_INDEX) {
                keyed = new KeyedRecord(keys.get(key), keyBytes.get(key), null,
                        hashKeys.get(key), userData);
            } else {
                int hashKey = index(record.hashKeyIndex, explicitHashKeys.size(),
                        "explicit hash key");
                keyed = new KeyedRecord(keys.get(key), keyBytes.get(key),
                        parsed.hashKeys.get(hashKey), explicitHashKeys.get(hashKey), userData);
            }
            result.add(new TaggedRecord(keyed, record.tags));
        }
        return result;
    }

    private static int index(long index, int tableSize, String table) {
        if (index < 0 || index >= tableSize) {
            throw malformed(table + " index " + index + " of a table of " + tableSize);
        }
        return (int) index;
    }

    private static BigInteger explicitHashKey(String decimal) {
        try {
            return new BigInteger(decimal);
        } catch (NumberFormatException e) {
            throw malformed("an explicit hash key that is no decimal number");
        }
    }

    private static IllegalArgumentException malformed(String what) {
        return new IllegalArgumentException("malformed KPL aggregated record: " + what);
    }

    /** Reads protobuf fields between {@code position} and {@code end}. */
    private static final class Reader {
        final byte[] bytes;
        final int end;
        int position;

        Reader(byte[] bytes, int position, int end) {
            this.bytes = bytes;
            this.position = position;
            this.end = end;
        }

        boolean hasMore() {
            return position < end;
        }

        long varint() {
            long value = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (position >= end) {
                    throw malformed("a varint runs past its message");
                }
                byte b = bytes[position++];
                value |= (long) (b & 0x7F) << shift;
                if (b >= 0) {
                    return value;
                }
            }
            throw malformed("a varint longer than 10 bytes");
        }

        int length() {
            long length = varint();
            if (length < 0 || length > end - position) {
                throw malformed("a field of " + length + " bytes runs past its message");
            }
            return (int) length;
        }

        void skip(int wireType) {
            switch (wireType) {
                case VARINT:
                    varint();
                    return;
                case FIXED64:
                    advance(8);
                    return;
                case LENGTH_DELIMITED:
                    int length = length();  // reads past the length first
                    position += length;
                    return;
                case FIXED32:
                    advance(4);
                    return;
                default:
                    throw malformed("wire type " + wireType);
            }
        }

        private void advance(int count) {
            if (count > end - position) {
                throw malformed("a fixed-size field runs past its message");
            }
            position += count;
        }
    }
}
