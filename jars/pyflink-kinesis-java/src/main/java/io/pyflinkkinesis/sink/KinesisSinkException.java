package io.pyflinkkinesis.sink;

/**
 * Why one of our Kinesis sinks failed the job: a request that may not be retried (stream not
 * found, failOnError), a record Kinesis cannot take, or shards that could not be listed at start.
 */
public class KinesisSinkException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public KinesisSinkException(String message) {
        super(message);
    }

    public KinesisSinkException(String message, Throwable cause) {
        super(message, cause);
    }
}
