package io.pyflinkkinesis.source.reader.fanout;

import io.pyflinkkinesis.source.metrics.ShardMetrics;
import io.pyflinkkinesis.source.split.ShardSplitState;
import org.apache.flink.kinesis.shaded.org.reactivestreams.Subscriber;
import org.apache.flink.kinesis.shaded.org.reactivestreams.Subscription;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.core.async.SdkPublisher;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.Record;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.SubscribeToShardEvent;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.SubscribeToShardEventStream;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.SubscribeToShardResponse;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.SubscribeToShardResponseHandler;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;

/**
 * One shard of the EFO reader: its SubscribeToShard subscriptions one after the other, the event
 * delivered and not yet taken, and the records taken and not yet handed over.
 *
 * <p>Every field is guarded by the reader's lock; the SDK's callbacks take it. Each subscription
 * is an {@link Attempt}; callbacks of an attempt that is no longer the current one are ignored.
 * Demand is one event at a time: the next is requested only when the reader has taken the last
 * one and the shard is not paused, so a paused shard receives nothing more.
 */
final class ShardSubscription {

    /** The shard; its next starting position is where the next subscription starts. */
    final ShardSplitState split;
    /** The shard's lag gauge, set from each event taken. */
    final ShardMetrics metrics;
    /** Records of taken events, not yet handed over. */
    final Deque<Record> unsent = new ArrayDeque<>();
    /** The shard's end was seen (an event without continuation, or the end check). */
    boolean ended;

    /** The current subscription; null between subscriptions. */
    Attempt attempt;
    /** Consecutive failed subscriptions; reset by an event. */
    int failures;
    /** When the next subscription may start (System.nanoTime), after a failure. */
    long nextSubscribeNanos;
    /** When the shard was last asked whether it is closed and drained (System.nanoTime). */
    long lastEndCheckNanos;

    ShardSubscription(ShardSplitState split, ShardMetrics metrics, long nowNanos) {
        this.split = split;
        this.metrics = metrics;
        this.lastEndCheckNanos = nowNanos;
        this.nextSubscribeNanos = nowNanos;
    }

    /** One SubscribeToShard call and its event stream. */
    final class Attempt implements SubscribeToShardResponseHandler,
            Subscriber<SubscribeToShardEventStream> {
        private final Object lock;
        private final Runnable onChange;
        final long startedNanos;
        CompletableFuture<Void> call;
        Subscription subscription;
        /** An event requested and not yet delivered. */
        boolean demanded;
        /** Events delivered so far. */
        int events;
        /** Delivered, not yet taken by the reader. */
        SubscribeToShardEvent delivered;
        /** Ended: completed (done, no error) or failed (error set). */
        boolean done;
        Throwable error;

        Attempt(Object lock, Runnable onChange, long startedNanos) {
            this.lock = lock;
            this.onChange = onChange;
            this.startedNanos = startedNanos;
        }

        boolean isCurrent() {
            return attempt == this;
        }

        @Override
        public void responseReceived(SubscribeToShardResponse response) {
        }

        @Override
        public void onEventStream(SdkPublisher<SubscribeToShardEventStream> publisher) {
            publisher.subscribe(this);
        }

        @Override
        public void exceptionOccurred(Throwable throwable) {
            end(throwable);
        }

        @Override
        public void complete() {
            end(null);
        }

        @Override
        public void onSubscribe(Subscription s) {
            boolean current;
            synchronized (lock) {
                current = isCurrent() && !done;
                if (current) {
                    subscription = s;
                }
            }
            if (current) {
                onChange.run();
            } else {
                s.cancel();
            }
        }

        @Override
        public void onNext(SubscribeToShardEventStream event) {
            synchronized (lock) {
                demanded = false;
                events++;
                if (event instanceof SubscribeToShardEvent && isCurrent() && !done) {
                    delivered = (SubscribeToShardEvent) event;
                }
            }
            onChange.run();
        }

        @Override
        public void onError(Throwable t) {
            end(t);
        }

        @Override
        public void onComplete() {
            end(null);
        }

        private void end(Throwable t) {
            synchronized (lock) {
                if (done) {
                    return;
                }
                done = true;
                error = t;
            }
            onChange.run();
        }
    }
}
