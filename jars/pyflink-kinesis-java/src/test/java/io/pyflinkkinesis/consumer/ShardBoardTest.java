package io.pyflinkkinesis.consumer;

import org.junit.jupiter.api.Test;

import java.util.Collections;

import static io.pyflinkkinesis.consumer.ShardBoard.NOT_FINISHED;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link JobManagerShardBoard} and {@link BoardUpdate}, through a JobManager in memory. */
class ShardBoardTest {

    private final FakeAggregateManager jobManager = new FakeAggregateManager();

    private ShardBoard subtask(int index) {
        return new JobManagerShardBoard(jobManager, "board", index);
    }

    @Test
    void aFinishedShardIsSeenByEverySubtask() throws Exception {
        assertEquals(NOT_FINISHED, subtask(1).safeAfter(Shards.key(0)));

        subtask(0).finished(Shards.key(0), 5);

        assertEquals(5, subtask(1).safeAfter(Shards.key(0)));
        assertEquals(5, subtask(0).safeAfter(Shards.key(0)));
        assertEquals(NOT_FINISHED, subtask(1).safeAfter(Shards.key(1)));
    }

    @Test
    void boardsOfTwoConsumersAreApart() throws Exception {
        subtask(0).finished(Shards.key(0), 5);

        assertEquals(NOT_FINISHED,
                new JobManagerShardBoard(jobManager, "other", 1).safeAfter(Shards.key(0)));
    }

    @Test
    void aRestartingSubtaskWithdrawsItsShardsExceptThoseFinishedInItsState() throws Exception {
        subtask(0).finished(Shards.key(0), 3);
        subtask(0).finished(Shards.key(1), 9);
        subtask(1).finished(Shards.key(2), 9);

        subtask(0).reopen(2, Collections.singleton(Shards.key(0)));

        assertEquals(3, subtask(1).safeAfter(Shards.key(0))); // in the restored checkpoint
        assertEquals(NOT_FINISHED, subtask(1).safeAfter(Shards.key(1))); // will be read again
        assertEquals(9, subtask(0).safeAfter(Shards.key(2))); // another subtask's word
    }

    @Test
    void subtaskZeroWithdrawsTheShardsOfSubtasksAJobNoLongerHas() throws Exception {
        subtask(3).finished(Shards.key(0), 4); // published at parallelism 4

        subtask(1).reopen(2, Collections.emptySet());
        assertEquals(4, subtask(1).safeAfter(Shards.key(0)));

        subtask(0).reopen(2, Collections.emptySet());
        assertEquals(NOT_FINISHED, subtask(1).safeAfter(Shards.key(0)));
    }
}
