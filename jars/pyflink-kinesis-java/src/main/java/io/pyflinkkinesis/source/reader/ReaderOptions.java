package io.pyflinkkinesis.source.reader;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

import java.time.Duration;

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

    // Connector 5.x's key; SourceOptions.READER_EMPTY_RECORDS_FETCH_INTERVAL will hold it: switch
    // over to that constant once it is on main (the default stays ours, 5 calls/s per idle shard).
    static final ConfigOption<Duration> EMPTY_RECORDS_FETCH_INTERVAL =
            ConfigOptions.key("source.reader.empty-records-fetch-interval")
                    .durationType()
                    .defaultValue(Duration.ofMillis(200));

    private ReaderOptions() {
    }
}
