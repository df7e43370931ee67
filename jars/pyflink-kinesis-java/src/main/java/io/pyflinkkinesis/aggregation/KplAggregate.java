package io.pyflinkkinesis.aggregation;

import io.pyflinkkinesis.exactlyonce.RecordId;

import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.SdkBytes;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One KPL aggregated record being filled (format in {@link KplFormat}): user records in the
 * order they were added, each distinct partition key stored once, and the exact encoded size
 * known after every {@link #add}, so an aggregate never exceeds its limits.
 *
 * <p>The aggregate's own partition key is its first record's key: the caller adds only records
 * whose keys hash into one shard, so the aggregate lands in the shard of all its records.
 *
 * <p>The committing sink adds each record with its {@link RecordId}, written as the record's
 * {@value RecordId#TAG_KEY} tag, and routes the aggregate by an explicit hash key instead, under
 * an own key that names the shard it is meant for.
 */
public final class KplAggregate {

    private final long maxRecordBytes;
    private final long maxDataBytes;

    private final Map<String, Integer> keyIndexes = new HashMap<>();
    private final List<byte[]> keyTable = new ArrayList<>();
    private final List<KeyedRecord> records = new ArrayList<>();
    private final List<Integer> recordKeyIndexes = new ArrayList<>();
    /** Each record's id tag value, or null for a record added without an id. */
    private final List<String> recordIds = new ArrayList<>();
    private int protobufBytes;

    /** The aggregate's own partition key and its UTF-8 bytes; null for its first record's. */
    private final String ownKey;
    private final byte[] ownKeyBytes;

    /**
     * @param maxRecordBytes the most the Kinesis record may take: encoded data plus partition key
     * @param maxDataBytes the most the encoded data may take
     */
    public KplAggregate(long maxRecordBytes, long maxDataBytes) {
        this(maxRecordBytes, maxDataBytes, null);
    }

    /**
     * An aggregate whose own partition key is {@code ownKey} (null: its first record's), as the
     * committing sink writes it: named for the shard it is meant for.
     */
    public KplAggregate(long maxRecordBytes, long maxDataBytes, String ownKey) {
        this.maxRecordBytes = maxRecordBytes;
        this.maxDataBytes = maxDataBytes;
        this.ownKey = ownKey;
        this.ownKeyBytes = ownKey == null ? null : ownKey.getBytes(StandardCharsets.UTF_8);
    }

    /** Adds {@code record} if the aggregate stays within its limits; false (unchanged) if not. */
    boolean add(KeyedRecord record) {
        return add(record, null);
    }

    /**
     * Adds {@code record} with {@code id} as its {@value RecordId#TAG_KEY} tag (none if null) if
     * the aggregate stays within its limits; false (unchanged) if not.
     */
    public boolean add(KeyedRecord record, RecordId id) {
        Integer known = keyIndexes.get(record.partitionKey);
        int keyIndex = known == null ? keyTable.size() : known;
        String idTag = id == null ? null : id.tagValue();
        long growth = (known == null ? KplFormat.fieldSize(record.keyBytes.length) : 0)
                + KplFormat.fieldSize(recordBytes(keyIndex, record.data.length, idTag));
        long dataBytes = KplFormat.OVERHEAD + protobufBytes + growth;
        byte[] key = ownKeyBytes != null ? ownKeyBytes
                : records.isEmpty() ? record.keyBytes : records.get(0).keyBytes;
        if (dataBytes > maxDataBytes || dataBytes + key.length > maxRecordBytes) {
            return false;
        }
        if (known == null) {
            keyIndexes.put(record.partitionKey, keyIndex);
            keyTable.add(record.keyBytes);
        }
        records.add(record);
        recordKeyIndexes.add(keyIndex);
        recordIds.add(idTag);
        protobufBytes += (int) growth;
        return true;
    }

    /** Size of a Record message: key index, data and the id tag if there is one. */
    private static long recordBytes(int keyIndex, int dataLength, String idTag) {
        return KplFormat.recordSize(keyIndex, dataLength)
                + (idTag == null ? 0 : KplFormat.fieldSize(KplFormat.idTagSize(idTag)));
    }

    public boolean isEmpty() {
        return records.isEmpty();
    }

    /** The user records, in the order they were added. */
    public List<KeyedRecord> records() {
        return Collections.unmodifiableList(records);
    }

    /** How many user records the aggregate holds. */
    public int size() {
        return records.size();
    }

    /** The length of {@link #encode()}. */
    int encodedSize() {
        return KplFormat.OVERHEAD + protobufBytes;
    }

    /** The aggregated record's data: magic, protobuf, MD5 of the protobuf. */
    byte[] encode() {
        byte[] out = new byte[encodedSize()];
        System.arraycopy(KplFormat.MAGIC, 0, out, 0, KplFormat.MAGIC.length);
        int position = KplFormat.MAGIC.length;
        for (byte[] key : keyTable) {
            position = writeField(out, position, KplFormat.KEY_TABLE_TAG, key);
        }
        for (int i = 0; i < records.size(); i++) {
            byte[] data = records.get(i).data;
            int keyIndex = recordKeyIndexes.get(i);
            String idTag = recordIds.get(i);
            out[position++] = KplFormat.RECORDS_TAG;
            position = KplFormat.writeVarint(out, position,
                    recordBytes(keyIndex, data.length, idTag));
            out[position++] = KplFormat.KEY_INDEX_TAG;
            position = KplFormat.writeVarint(out, position, keyIndex);
            position = writeField(out, position, KplFormat.DATA_TAG, data);
            if (idTag != null) {
                position = KplFormat.writeIdTag(out, position, idTag);
            }
        }
        byte[] digest = KplFormat.md5(out, KplFormat.MAGIC.length, protobufBytes);
        System.arraycopy(digest, 0, out, position, KplFormat.DIGEST_BYTES);
        return out;
    }

    private static int writeField(byte[] out, int position, byte tag, byte[] content) {
        out[position++] = tag;
        position = KplFormat.writeVarint(out, position, content.length);
        System.arraycopy(content, 0, out, position, content.length);
        return position + content.length;
    }

    /**
     * The Kinesis record to write: the aggregate under its first record's key, or that record
     * as it is when it is the only one (smaller, and readable by any consumer).
     */
    PutRecordsRequestEntry toEntry() {
        if (records.isEmpty()) {
            throw new IllegalStateException("an empty aggregate has no Kinesis record");
        }
        KeyedRecord first = records.get(0);
        return records.size() == 1 ? plain(first) : entry(first.partitionKey, encode());
    }

    /**
     * The Kinesis record to write: the aggregate, even of one record (its tags must travel),
     * under its own key (else its first record's), routed by {@code explicitHashKey}.
     */
    public PutRecordsRequestEntry toEntry(BigInteger explicitHashKey) {
        if (records.isEmpty()) {
            throw new IllegalStateException("an empty aggregate has no Kinesis record");
        }
        return PutRecordsRequestEntry.builder()
                .partitionKey(ownKey != null ? ownKey : records.get(0).partitionKey)
                .explicitHashKey(explicitHashKey.toString())
                .data(SdkBytes.fromByteArrayUnsafe(encode()))
                .build();
    }

    /** A user record as a Kinesis record of its own. */
    static PutRecordsRequestEntry plain(KeyedRecord record) {
        return entry(record.partitionKey, record.data);
    }

    private static PutRecordsRequestEntry entry(String partitionKey, byte[] data) {
        return PutRecordsRequestEntry.builder()
                .partitionKey(partitionKey)
                .data(SdkBytes.fromByteArrayUnsafe(data))
                .build();
    }
}
