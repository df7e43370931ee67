package org.apache.flink.connector.kinesis.sink;

import org.apache.flink.api.connector.sink2.WriterInitContext;

import java.lang.reflect.Proxy;

/**
 * Writer init contexts that answer only subtask and parallelism, what our sink asks before the
 * connector's writer asks for more (and fails).
 */
final class SinkContexts {

    private SinkContexts() {}

    static WriterInitContext writerContext(int subtask, int parallelism) {
        return (WriterInitContext) Proxy.newProxyInstance(
                SinkContexts.class.getClassLoader(),
                new Class<?>[] {WriterInitContext.class},
                (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "getSubtaskId":
                            return subtask;
                        case "getNumberOfParallelSubtasks":
                            return parallelism;
                        case "metricGroup":
                            return null;
                        default:
                            throw new UnsupportedOperationException(method.getName());
                    }
                });
    }
}
