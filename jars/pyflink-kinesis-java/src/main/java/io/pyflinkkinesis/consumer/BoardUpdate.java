package io.pyflinkkinesis.consumer;

import org.apache.flink.api.common.functions.AggregateFunction;

import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * One request to the shard board, applied in the JobManager.
 *
 * <p>{@code GlobalAggregateManager.updateGlobalAggregate(name, subtask, update)} ships the update
 * to the JobManager, which applies it to the board it keeps under {@code name} (created on first
 * use, kept while the JobManager lives, across task failovers) and sends back the answer. Only
 * JDK types cross the wire (the sending subtask's index in, a {@code Long} out): the JobManager's
 * RPC cannot load our classes, but deserializes this function with the job's class loader.
 */
abstract class BoardUpdate implements AggregateFunction<Integer, BoardUpdate.Board, Long> {

    private static final long serialVersionUID = 1L;

    /** The board: the last word of the shard's reader on each shard. */
    static final class Board implements Serializable {
        private static final long serialVersionUID = 1L;

        private final Map<String, Entry> shards = new HashMap<>();
        private long answer;
    }

    private static final class Entry implements Serializable {
        private static final long serialVersionUID = 1L;

        private final int subtask;
        private final long safeAfter;

        private Entry(int subtask, long safeAfter) {
            this.subtask = subtask;
            this.safeAfter = safeAfter;
        }
    }

    /** Shard {@code key} finished on the sending subtask, safe after checkpoint {@code safeAfter}. */
    static BoardUpdate finished(String key, long safeAfter) {
        return new BoardUpdate() {
            private static final long serialVersionUID = 1L;

            @Override
            long apply(int subtask, Board board) {
                board.shards.put(key, new Entry(subtask, safeAfter));
                return safeAfter;
            }
        };
    }

    /** The sending subtask (re)starts: see {@link ShardBoard#reopen}. */
    static BoardUpdate reopen(int parallelism, Set<String> finishedInState) {
        return new BoardUpdate() {
            private static final long serialVersionUID = 1L;

            @Override
            long apply(int subtask, Board board) {
                int before = board.shards.size();
                board.shards.entrySet().removeIf(shard -> !finishedInState.contains(shard.getKey())
                        && (shard.getValue().subtask == subtask
                                || (subtask == 0 && shard.getValue().subtask >= parallelism)));
                return before - board.shards.size();
            }
        };
    }

    /** What the board says of shard {@code key}: its safe-after checkpoint, or NOT_FINISHED. */
    static BoardUpdate lookup(String key) {
        return new BoardUpdate() {
            private static final long serialVersionUID = 1L;

            @Override
            long apply(int subtask, Board board) {
                Entry entry = board.shards.get(key);
                return entry == null ? ShardBoard.NOT_FINISHED : entry.safeAfter;
            }
        };
    }

    abstract long apply(int subtask, Board board);

    @Override
    public Board createAccumulator() {
        return new Board();
    }

    @Override
    public Board add(Integer subtask, Board board) {
        board.answer = apply(subtask, board);
        return board;
    }

    @Override
    public Long getResult(Board board) {
        return board.answer;
    }

    @Override
    public Board merge(Board a, Board b) {
        throw new UnsupportedOperationException("a board lives in one JobManager: never merged");
    }
}
