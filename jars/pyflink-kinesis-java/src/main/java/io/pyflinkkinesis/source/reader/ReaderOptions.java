package io.pyflinkkinesis.source.reader;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/** Options of the source's shard reader, read from the source's configuration. */
public final class ReaderOptions {

    /**
     * How many GetRecords calls a subtask has in flight at once, each for a different shard. A
     * subtask with at most this many shards reads them all concurrently, as the legacy consumer
     * does with its thread per shard.
     */
    public static final ConfigOption<Integer> FETCH_THREADS =
            ConfigOptions.key("source.reader.fetch-threads")
                    .intType()
                    .defaultValue(16)
                    .withDescription("GetRecords calls a subtask has in flight at once, each for"
                            + " a different shard (threads per subtask).");

    private ReaderOptions() {
    }
}
