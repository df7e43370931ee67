package io.pyflinkkinesis.aggregation;

import io.pyflinkkinesis.sink.PutRecordsErrors;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.connector.kinesis.sink.PartitionKeyGenerator;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;

/**
 * One user record: its partition key (as a string and in UTF-8), its explicit hash key if it has
 * one, the hash key Kinesis routes it by, and its data.
 */
public final class KeyedRecord {

    public final String partitionKey;
    /** The partition key in UTF-8: what Kinesis hashes and what an aggregate stores. */
    final byte[] keyBytes;
    /** The explicit hash key (decimal) the producer gave, or null (this sink never gives one). */
    public final String explicitHashKey;
    /**
     * Where Kinesis routes the record: the explicit hash key if there is one, else the MD5 of the
     * partition key as an unsigned 128-bit big-endian integer.
     */
    public final BigInteger hashKey;
    public final byte[] data;

    public KeyedRecord(String partitionKey, byte[] data) {
        this(partitionKey, partitionKey.getBytes(StandardCharsets.UTF_8), data);
    }

    private KeyedRecord(String partitionKey, byte[] keyBytes, byte[] data) {
        this(partitionKey, keyBytes, null, hashKeyOf(keyBytes), data);
    }

    /**
     * A sink's input element as a record: its partition key from {@code keys} (checked as
     * Kinesis checks one) and its data from {@code schema}, which must not give null.
     */
    public static <T> KeyedRecord of(T element, SerializationSchema<T> schema,
            PartitionKeyGenerator<T> keys) {
        String key = PutRecordsErrors.checkedKey(keys.apply(element));
        byte[] data = schema.serialize(element);
        if (data == null) {
            throw new IllegalArgumentException("The serialization schema gave null for a record");
        }
        return new KeyedRecord(key, data);
    }

    /** For records that share a key: the key's bytes and hash key computed once. */
    KeyedRecord(String partitionKey, byte[] keyBytes, String explicitHashKey, BigInteger hashKey,
            byte[] data) {
        this.partitionKey = partitionKey;
        this.keyBytes = keyBytes;
        this.explicitHashKey = explicitHashKey;
        this.hashKey = hashKey;
        this.data = data;
    }

    /** The hash key Kinesis derives from a partition key's UTF-8 bytes. */
    static BigInteger hashKeyOf(byte[] keyBytes) {
        return new BigInteger(1, KplFormat.md5(keyBytes, 0, keyBytes.length));
    }

    /** The size Kinesis counts for this record sent on its own: data plus partition key. */
    public long plainSize() {
        return (long) data.length + keyBytes.length;
    }
}
