package io.pyflinkkinesis.aggregation;

/**
 * Why an {@link AggregatingKinesisStreamsSink} failed the job: a request that may not be retried
 * (stream not found, failOnError), or shards that could not be listed at start.
 */
public class AggregatingSinkException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public AggregatingSinkException(String message) {
        super(message);
    }

    public AggregatingSinkException(String message, Throwable cause) {
        super(message, cause);
    }
}
