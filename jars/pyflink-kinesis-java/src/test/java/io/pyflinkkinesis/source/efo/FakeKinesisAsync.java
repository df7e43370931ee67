package io.pyflinkkinesis.source.efo;

import org.apache.flink.kinesis.shaded.org.reactivestreams.Subscriber;
import org.apache.flink.kinesis.shaded.org.reactivestreams.Subscription;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.async.SdkPublisher;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ConsumerDescription;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ConsumerStatus;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.DeregisterStreamConsumerRequest;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.DeregisterStreamConsumerResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.DescribeStreamConsumerRequest;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.DescribeStreamConsumerResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.GetRecordsRequest;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.GetShardIteratorRequest;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.GetShardIteratorResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.RegisterStreamConsumerRequest;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.RegisterStreamConsumerResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.ResourceNotFoundException;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.SubscribeToShardEvent;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.SubscribeToShardEventStream;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.SubscribeToShardRequest;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.SubscribeToShardResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.SubscribeToShardResponseHandler;


import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A Kinesis async client whose SubscribeToShard streams and consumer states the test drives:
 * the cases kinesis-mock cannot produce on demand (errors of each kind, a subscription that
 * ends, one that never starts, demand per event).
 */
public final class FakeKinesisAsync implements KinesisAsyncClient {

    /** One SubscribeToShard call: the test starts it, emits events, ends it. */
    public static final class Stream implements Subscription {
        public final SubscribeToShardRequest request;
        final SubscribeToShardResponseHandler handler;
        public final CompletableFuture<Void> call = new CompletableFuture<>();
        Subscriber<? super SubscribeToShardEventStream> subscriber;
        public long requested;
        public boolean cancelled;

        Stream(SubscribeToShardRequest request, SubscribeToShardResponseHandler handler) {
            this.request = request;
            this.handler = handler;
        }

        public Stream start() {
            handler.responseReceived(SubscribeToShardResponse.builder().build());
            handler.onEventStream(new SdkPublisher<SubscribeToShardEventStream>() {
                @Override
                public void subscribe(Subscriber<? super SubscribeToShardEventStream> s) {
                    subscriber = s;
                    s.onSubscribe(Stream.this);
                }
            });
            return this;
        }

        /** Delivers {@code event}; fails the test if the reader did not ask for one. */
        public void emit(SubscribeToShardEvent event) {
            if (requested <= 0) {
                throw new AssertionError("event emitted without demand");
            }
            requested--;
            subscriber.onNext(event);
        }

        public void complete() {
            subscriber.onComplete();
            handler.complete();
            call.complete(null);
        }

        public void fail(Throwable error) {
            if (subscriber != null) {
                subscriber.onError(error);
            }
            handler.exceptionOccurred(error);
            call.completeExceptionally(error);
        }

        @Override
        public void request(long n) {
            requested += n;
        }

        @Override
        public void cancel() {
            cancelled = true;
        }
    }

    public final List<Stream> streams = new ArrayList<>();
    /** Statuses DescribeStreamConsumer answers in turn (null: not found); the last one stays. */
    public final Deque<ConsumerStatus> statuses = new LinkedList<>();
    public int registrations;
    public int deregistrations;
    public boolean closed;
    /** GetRecords answers for the end check: whether the shard is closed and drained. */
    public boolean drained;

    public synchronized Stream stream(int index) {
        return streams.get(index);
    }

    public synchronized int subscriptions() {
        return streams.size();
    }

    @Override
    public synchronized CompletableFuture<Void> subscribeToShard(
            SubscribeToShardRequest request, SubscribeToShardResponseHandler handler) {
        Stream stream = new Stream(request, handler);
        streams.add(stream);
        return stream.call;
    }

    @Override
    public CompletableFuture<DescribeStreamConsumerResponse> describeStreamConsumer(
            DescribeStreamConsumerRequest request) {
        ConsumerStatus status = statuses.size() > 1 ? statuses.poll() : statuses.peek();
        if (status == null) {
            CompletableFuture<DescribeStreamConsumerResponse> missing = new CompletableFuture<>();
            missing.completeExceptionally(
                    ResourceNotFoundException.builder().message("not found").build());
            return missing;
        }
        return CompletableFuture.completedFuture(DescribeStreamConsumerResponse.builder()
                .consumerDescription(ConsumerDescription.builder()
                        .consumerName(request.consumerName())
                        .consumerARN(request.streamARN() + "/consumer/" + request.consumerName())
                        .consumerStatus(status).build())
                .build());
    }

    @Override
    public CompletableFuture<RegisterStreamConsumerResponse> registerStreamConsumer(
            RegisterStreamConsumerRequest request) {
        registrations++;
        return CompletableFuture.completedFuture(RegisterStreamConsumerResponse.builder().build());
    }

    @Override
    public CompletableFuture<DeregisterStreamConsumerResponse> deregisterStreamConsumer(
            DeregisterStreamConsumerRequest request) {
        deregistrations++;
        return CompletableFuture.completedFuture(
                DeregisterStreamConsumerResponse.builder().build());
    }

    @Override
    public CompletableFuture<GetShardIteratorResponse> getShardIterator(
            GetShardIteratorRequest request) {
        return CompletableFuture.completedFuture(
                GetShardIteratorResponse.builder().shardIterator("iterator").build());
    }

    @Override
    public CompletableFuture<GetRecordsResponse> getRecords(GetRecordsRequest request) {
        return CompletableFuture.completedFuture(GetRecordsResponse.builder()
                .records(new ArrayList<>()).nextShardIterator(drained ? null : "iterator")
                .build());
    }

    @Override
    public String serviceName() {
        return "kinesis";
    }

    @Override
    public void close() {
        closed = true;
    }
}
