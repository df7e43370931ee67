package io.pyflinkkinesis.exactlyonce;

import java.io.Serializable;
import java.util.Locale;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The id the committing sink gives each record it writes: the writer's id (random, drawn when a
 * sink writer starts, so no two writers and no two runs of one share it) and the record's
 * sequence number from that writer (from 0, in the order the writer received the records).
 *
 * <p>It travels in the record's KPL aggregate as one tag, key {@value #TAG_KEY}, value {@code
 * <writer id as 32 lowercase hex digits>:<sequence number in decimal>}: KPL-aware readers (the
 * KCL, aws-kinesis-agg, Lambda) ignore tags, so the payload and partition key every reader sees
 * are the ones the job wrote.
 */
public final class RecordId implements Serializable {

    private static final long serialVersionUID = 1L;

    /** The KPL tag key that holds a record's id. */
    public static final String TAG_KEY = "pfk-id";

    private static final Pattern TAG_VALUE =
            Pattern.compile("([0-9a-f]{16})([0-9a-f]{16}):(0|[1-9][0-9]{0,18})");

    private final WriterId writer;
    private final long sequenceNumber;

    public RecordId(WriterId writer, long sequenceNumber) {
        this.writer = Objects.requireNonNull(writer, "writer");
        if (sequenceNumber < 0) {
            throw new IllegalArgumentException(
                    "a sequence number is at least 0, not " + sequenceNumber);
        }
        this.sequenceNumber = sequenceNumber;
    }

    public WriterId writer() {
        return writer;
    }

    public long sequenceNumber() {
        return sequenceNumber;
    }

    /** The value of the {@value #TAG_KEY} tag. */
    public String tagValue() {
        return writer + ":" + sequenceNumber;
    }

    /**
     * The id a {@value #TAG_KEY} tag's value holds, or null when it holds none (a tag of that key
     * written by someone else: the record is then treated as one without an id).
     */
    public static RecordId fromTagValue(String value) {
        if (value == null) {
            return null;
        }
        Matcher match = TAG_VALUE.matcher(value);
        if (!match.matches()) {
            return null;
        }
        long sequence;
        try {
            sequence = Long.parseLong(match.group(3));
        } catch (NumberFormatException e) {
            return null;  // 19 digits above Long.MAX_VALUE
        }
        return new RecordId(new WriterId(Long.parseUnsignedLong(match.group(1), 16),
                Long.parseUnsignedLong(match.group(2), 16)), sequence);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof RecordId && writer.equals(((RecordId) other).writer)
                && sequenceNumber == ((RecordId) other).sequenceNumber;
    }

    @Override
    public int hashCode() {
        return 31 * writer.hashCode() + Long.hashCode(sequenceNumber);
    }

    @Override
    public String toString() {
        return tagValue();
    }

    /** A sink writer's id: 128 random bits. */
    public static final class WriterId implements Serializable, Comparable<WriterId> {

        private static final long serialVersionUID = 1L;

        private final long high;
        private final long low;
        /** {@link #toString}, made once: every record's id tag starts with it. */
        private transient String hex;

        public WriterId(long high, long low) {
            this.high = high;
            this.low = low;
        }

        /** A new random id (a version 4 UUID's bits). */
        public static WriterId random() {
            UUID uuid = UUID.randomUUID();
            return new WriterId(uuid.getMostSignificantBits(), uuid.getLeastSignificantBits());
        }

        public long high() {
            return high;
        }

        public long low() {
            return low;
        }

        @Override
        public int compareTo(WriterId other) {
            int byHigh = Long.compareUnsigned(high, other.high);
            return byHigh != 0 ? byHigh : Long.compareUnsigned(low, other.low);
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof WriterId && high == ((WriterId) other).high
                    && low == ((WriterId) other).low;
        }

        @Override
        public int hashCode() {
            return Long.hashCode(high) * 31 + Long.hashCode(low);
        }

        /** 32 lowercase hex digits. */
        @Override
        public String toString() {
            String text = hex;
            if (text == null) {
                text = String.format(Locale.ROOT, "%016x%016x", high, low);
                hex = text;
            }
            return text;
        }
    }
}
