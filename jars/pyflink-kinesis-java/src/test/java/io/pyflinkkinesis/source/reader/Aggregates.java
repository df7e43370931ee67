package io.pyflinkkinesis.source.reader;

import io.pyflinkkinesis.exactlyonce.RecordId;
import org.apache.flink.kinesis.shaded.com.amazonaws.services.kinesis.clientlibrary.types.Messages;
import org.apache.flink.kinesis.shaded.com.google.protobuf.ByteString;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/** KPL aggregates for tests, encoded with the KPL's own protobuf classes (in the connector). */
final class Aggregates {

    static final byte[] MAGIC = {(byte) 0xF3, (byte) 0x89, (byte) 0x9A, (byte) 0xC2};

    private final Messages.AggregatedRecord.Builder protobuf =
            Messages.AggregatedRecord.newBuilder();
    private final List<String> keys = new ArrayList<>();
    private final List<String> hashKeys = new ArrayList<>();

    /** Adds a user record with partition key {@code key} and {@code text} as data. */
    Aggregates add(String key, String text) {
        return add(key, null, text);
    }

    /** Adds a user record with an explicit hash key (decimal) too, when not null. */
    Aggregates add(String key, String explicitHashKey, String text) {
        protobuf.addRecords(record(key, explicitHashKey, text));
        return this;
    }

    /** Adds a user record with one {@code pfk-id} tag of value {@code id}. */
    Aggregates addWithId(String key, String text, String id) {
        protobuf.addRecords(record(key, null, text).addTags(
                Messages.Tag.newBuilder().setKey(RecordId.TAG_KEY).setValue(id)));
        return this;
    }

    private Messages.Record.Builder record(String key, String explicitHashKey, String text) {
        Messages.Record.Builder record = Messages.Record.newBuilder()
                .setPartitionKeyIndex(index(keys, key, true))
                .setData(ByteString.copyFromUtf8(text));
        if (explicitHashKey != null) {
            record.setExplicitHashKeyIndex(index(hashKeys, explicitHashKey, false));
        }
        return record;
    }

    private long index(List<String> table, String value, boolean partitionKeys) {
        int index = table.indexOf(value);
        if (index < 0) {
            table.add(value);
            if (partitionKeys) {
                protobuf.addPartitionKeyTable(value);
            } else {
                protobuf.addExplicitHashKeyTable(value);
            }
            index = table.size() - 1;
        }
        return index;
    }

    /** Magic, protobuf, MD5 of the protobuf: an aggregate as the KPL writes it. */
    byte[] encode() {
        return withDigest(protobuf.build().toByteArray());
    }

    /** Magic, {@code protobuf} (any bytes) and its MD5. */
    static byte[] withDigest(byte[] protobuf) {
        byte[] digest = md5(protobuf);
        byte[] out = new byte[MAGIC.length + protobuf.length + digest.length];
        System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
        System.arraycopy(protobuf, 0, out, MAGIC.length, protobuf.length);
        System.arraycopy(digest, 0, out, MAGIC.length + protobuf.length, digest.length);
        return out;
    }

    /** The hash key Kinesis gives a partition key: MD5 as an unsigned 128-bit integer. */
    static BigInteger hashKey(String partitionKey) {
        return new BigInteger(1, md5(partitionKey.getBytes(StandardCharsets.UTF_8)));
    }

    private static byte[] md5(byte[] bytes) {
        try {
            return MessageDigest.getInstance("MD5").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
