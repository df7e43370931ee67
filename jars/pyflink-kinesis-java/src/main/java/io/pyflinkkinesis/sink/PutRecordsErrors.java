package io.pyflinkkinesis.sink;

import io.pyflinkkinesis.FieldPartitionKeyGenerator;

import org.apache.flink.connector.base.sink.throwable.FatalExceptionClassifier;
import org.apache.flink.connector.base.sink.writer.AsyncSinkFatalExceptionClassifiers;
import org.apache.flink.kinesis.shaded.org.apache.flink.connector.aws.util.AWSCredentialFatalExceptionClassifiers;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ResourceNotFoundException;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Which PutRecords failures fail the job, as the connector's {@code KinesisStreamsSinkWriter}
 * decides: interruption, invalid credentials, a missing stream and a misconfigured client always
 * do; any other failure does when failOnError is set, and is retried otherwise.
 */
public final class PutRecordsErrors {

    private final String stream;
    private final boolean failOnError;
    private final FatalExceptionClassifier fatalErrors;

    /** @param stream how messages name the stream, {@link StreamClient#describe()} */
    public PutRecordsErrors(String stream, boolean failOnError) {
        this.stream = stream;
        this.failOnError = failOnError;
        this.fatalErrors = FatalExceptionClassifier.createChain(
                AsyncSinkFatalExceptionClassifiers.getInterruptedExceptionClassifier(),
                AWSCredentialFatalExceptionClassifiers.getInvalidCredentialsExceptionClassifier(),
                FatalExceptionClassifier.withRootCauseOfType(ResourceNotFoundException.class,
                        error -> new KinesisSinkException("The Kinesis " + stream
                                + " was not found: " + error.getMessage(), error)),
                AWSCredentialFatalExceptionClassifiers
                        .getSdkClientMisconfiguredExceptionClassifier());
    }

    /**
     * What to fail the job with after a PutRecords request of {@code records} entries failed as
     * a whole, or null to send the entries again.
     */
    public Exception ofRequest(Throwable error, int records) {
        AtomicReference<Exception> fatal = new AtomicReference<>();
        // isFatal is true when the error is *not* fatal; a fatal one goes to the consumer.
        if (!fatalErrors.isFatal(error, fatal::set)) {
            return fatal.get();
        }
        if (failOnError) {
            return new KinesisSinkException("PutRecords of " + records + " records to the Kinesis "
                    + stream + " failed and failOnError is set: " + error, error);
        }
        return null;
    }

    /**
     * What to fail the job with after {@code failed} of {@code sent} entries were rejected (the
     * first with {@code firstError}), or null to send them again.
     */
    public Exception ofEntries(int failed, int sent, String firstError) {
        if (!failOnError) {
            return null;
        }
        return new KinesisSinkException("PutRecords to the Kinesis " + stream + " failed for "
                + failed + " of " + sent + " records and failOnError is set; the first error: "
                + firstError);
    }

    /**
     * {@code key} if Kinesis takes it as a partition key (1 to 256 characters).
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    public static String checkedKey(String key) {
        if (key == null || key.isEmpty()
                || key.length() > FieldPartitionKeyGenerator.MAX_KEY_LENGTH) {
            throw new IllegalArgumentException("The partition key generator gave "
                    + (key == null ? "null" : "a key of " + key.length() + " characters")
                    + " for a record; Kinesis takes keys of 1 to "
                    + FieldPartitionKeyGenerator.MAX_KEY_LENGTH + " characters");
        }
        return key;
    }

    /** {@link #checkedKey} of an entry's partition key. */
    static PutRecordsRequestEntry checkedKey(PutRecordsRequestEntry entry) {
        checkedKey(entry.partitionKey());
        return entry;
    }
}
