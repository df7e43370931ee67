package io.pyflinkkinesis.exactlyonce;

import io.pyflinkkinesis.exactlyonce.RecordId.WriterId;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RecordIdTest {

    @Test
    void theTagValueIsTheWriterInHexAndTheSequenceNumberInDecimalAndReadsBack() {
        RecordId id = new RecordId(new WriterId(0x0123456789abcdefL, -1L), 42);

        assertEquals("0123456789abcdefffffffffffffffff:42", id.tagValue());
        assertEquals(id, RecordId.fromTagValue(id.tagValue()));
        RecordId largest = new RecordId(WriterId.random(), Long.MAX_VALUE);
        assertEquals(largest, RecordId.fromTagValue(largest.tagValue()));
    }

    @Test
    void aTagValueThatIsNoIdGivesNull() {
        for (String value : new String[] {null, "", "abc:1", "0123456789abcdefffffffffffffffff",
                "0123456789ABCDEFFFFFFFFFFFFFFFFF:1", "0123456789abcdefffffffffffffffff:-1",
                "0123456789abcdefffffffffffffffff:01",
                "0123456789abcdefffffffffffffffff:9223372036854775808",
                " 0123456789abcdefffffffffffffffff:1"}) {
            assertNull(RecordId.fromTagValue(value), String.valueOf(value));
        }
    }

    @Test
    void writersDrawDifferentIdsAndSequenceNumbersAreNeverNegative() {
        assertNotEquals(WriterId.random(), WriterId.random());
        assertThrows(IllegalArgumentException.class, () -> new RecordId(WriterId.random(), -1));
    }
}
