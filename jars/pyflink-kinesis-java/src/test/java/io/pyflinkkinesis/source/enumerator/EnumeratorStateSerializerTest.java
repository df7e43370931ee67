package io.pyflinkkinesis.source.enumerator;

import io.pyflinkkinesis.source.split.ShardMarks;
import io.pyflinkkinesis.source.split.ShardSplit;
import io.pyflinkkinesis.source.split.ShardSplitSerializer;
import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Collections;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EnumeratorStateSerializerTest {

    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s";

    @Test
    void aVersion2StateRestoresWithNoMarks() throws Exception {
        ShardSplit child = new ShardSplit(ARN, "c", StartingPosition.fromStart(),
                Collections.singleton("p"), "0", "9");
        byte[] split = ShardSplitSerializer.INSTANCE.serialize(child);
        DataOutputSerializer version2 = new DataOutputSerializer(256);
        version2.writeBoolean(true);
        version2.writeInt(1);
        version2.write(Arrays.copyOf(split, split.length - 4));  // a split without its marks
        version2.writeInt(1);
        version2.writeUTF("q");  // assigned
        version2.writeInt(1);
        version2.writeUTF("p");  // finished

        EnumeratorState state =
                new EnumeratorStateSerializer().deserialize(2, version2.getCopyOfBuffer());

        assertEquals(new EnumeratorState(true, Collections.singletonList(child),
                Collections.singleton("q"), Collections.singletonMap("p", new ShardMarks())),
                state);
        assertTrue(state.getFinishedMarks().get("p").isEmpty());
    }
}
