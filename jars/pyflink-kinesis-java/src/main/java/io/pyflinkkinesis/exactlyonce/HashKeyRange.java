package io.pyflinkkinesis.exactlyonce;

import java.io.Serializable;
import java.math.BigInteger;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A hash key range, both ends inclusive: the shard a committing sink's aggregate is meant for,
 * and the keys a de-duplication mark speaks for.
 *
 * <p>The committer names an aggregate's intended shard in the aggregate's own partition key,
 * {@value #PARTITION_KEY_PREFIX}{@code <first>-<last>} (decimal): every KPL-aware reader reads
 * the user records' keys from the aggregate and ignores that one, and the aggregate is routed by
 * its explicit hash key, not by this key.
 */
public final class HashKeyRange implements Serializable {

    private static final long serialVersionUID = 1L;

    /** How an aggregate's partition key that names its intended shard starts. */
    public static final String PARTITION_KEY_PREFIX = "pfk-shard:";

    private static final Pattern PARTITION_KEY = Pattern.compile(
            Pattern.quote(PARTITION_KEY_PREFIX) + "(0|[1-9][0-9]{0,38})-(0|[1-9][0-9]{0,38})");

    private final BigInteger first;
    private final BigInteger last;

    public HashKeyRange(BigInteger first, BigInteger last) {
        this.first = Objects.requireNonNull(first, "first");
        this.last = Objects.requireNonNull(last, "last");
        if (first.compareTo(last) > 0) {
            throw new IllegalArgumentException(
                    "a hash key range ends at or after its start, not " + this);
        }
    }

    /**
     * The range an aggregate's partition key names, or null when the key does not name one (an
     * aggregate of another producer).
     */
    public static HashKeyRange fromPartitionKey(String partitionKey) {
        Matcher match = PARTITION_KEY.matcher(partitionKey);
        if (!match.matches()) {
            return null;
        }
        BigInteger first = new BigInteger(match.group(1));
        BigInteger last = new BigInteger(match.group(2));
        return first.compareTo(last) <= 0 ? new HashKeyRange(first, last) : null;
    }

    /** The partition key of an aggregate meant for a shard of this range. */
    public String toPartitionKey() {
        return PARTITION_KEY_PREFIX + first + "-" + last;
    }

    public BigInteger first() {
        return first;
    }

    public BigInteger last() {
        return last;
    }

    public boolean contains(BigInteger hashKey) {
        return first.compareTo(hashKey) <= 0 && hashKey.compareTo(last) <= 0;
    }

    /** Whether every key of this range is in {@code other}. */
    public boolean isWithin(HashKeyRange other) {
        return other.first.compareTo(first) <= 0 && last.compareTo(other.last) <= 0;
    }

    /** The keys in both ranges, or null when they have none in common. */
    public HashKeyRange intersection(HashKeyRange other) {
        BigInteger from = first.max(other.first);
        BigInteger to = last.min(other.last);
        return from.compareTo(to) <= 0 ? new HashKeyRange(from, to) : null;
    }

    @Override
    public boolean equals(Object other) {
        if (!(other instanceof HashKeyRange)) {
            return false;
        }
        HashKeyRange that = (HashKeyRange) other;
        return first.equals(that.first) && last.equals(that.last);
    }

    @Override
    public int hashCode() {
        return first.hashCode() * 31 + last.hashCode();
    }

    @Override
    public String toString() {
        return "[" + first + ".." + last + "]";
    }
}
