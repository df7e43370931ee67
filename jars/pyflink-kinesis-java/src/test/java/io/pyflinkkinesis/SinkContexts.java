package io.pyflinkkinesis;

import org.apache.flink.api.connector.sink2.WriterInitContext;

import java.lang.reflect.Proxy;

/** Writer init contexts that answer only what a sink wrapper asks: subtask and parallelism. */
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
