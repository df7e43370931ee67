package io.pyflinkkinesis.aggregation;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/** A user record read from a KPL aggregate, with the tags it carries (in the order written). */
public final class TaggedRecord {

    /** One KPL tag: a key and an optional value (null when absent). */
    public static final class Tag {
        public final String key;
        public final String value;

        public Tag(String key, String value) {
            this.key = Objects.requireNonNull(key, "key");
            this.value = value;
        }

        @Override
        public String toString() {
            return value == null ? key : key + "=" + value;
        }
    }

    public final KeyedRecord record;
    public final List<Tag> tags;

    TaggedRecord(KeyedRecord record, List<Tag> tags) {
        this.record = Objects.requireNonNull(record, "record");
        this.tags = tags.isEmpty()
                ? Collections.emptyList() : Collections.unmodifiableList(new ArrayList<>(tags));
    }

    /** The value of the first tag with {@code key}, or null when there is none (or no value). */
    public String tagValue(String key) {
        for (Tag tag : tags) {
            if (tag.key.equals(key)) {
                return tag.value;
            }
        }
        return null;
    }
}
