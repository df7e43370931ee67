package io.pyflinkkinesis.sink;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KeyQueuesTest {

    private static final long NO_LIMIT = Long.MAX_VALUE;

    private final KeyQueues<String> queues = new KeyQueues<>();

    private KeyQueues.Entry<String> add(String value, String... keys) {
        return queues.add(value, Arrays.asList(keys), 10, 11, 0);
    }

    private List<String> take() {
        return values(queues.take(500, NO_LIMIT, NO_LIMIT));
    }

    private static List<String> values(List<KeyQueues.Entry<String>> entries) {
        List<String> values = new ArrayList<>();
        for (KeyQueues.Entry<String> entry : entries) {
            values.add(entry.value);
        }
        return values;
    }

    @Test
    void aKeysNextEntryGoesOnlyAfterTheOneBeforeIsAcknowledgedAndOtherKeysGoOn() {
        KeyQueues.Entry<String> a1 = add("a1", "a");
        add("a2", "a");
        KeyQueues.Entry<String> b1 = add("b1", "b");
        add("b2", "b");

        assertEquals(Arrays.asList("a1", "b1"), take());  // one per key in a batch
        assertEquals(Collections.emptyList(), take());
        assertEquals(2, queues.waiting());

        queues.acknowledge(b1);
        assertEquals(Collections.singletonList("b2"), take());  // a waits for a1
        queues.acknowledge(a1);
        assertEquals(Collections.singletonList("a2"), take());
    }

    @Test
    void aRetriedEntryStaysFirstOfItsKeyAndGoesAgainBeforeLaterOnes() {
        KeyQueues.Entry<String> a1 = add("a1", "a");
        add("a2", "a");
        add("b1", "b");
        assertEquals(Arrays.asList("a1", "b1"), take());

        queues.retry(a1);

        assertEquals(Collections.singletonList("a1"), take());  // not a2
        queues.acknowledge(a1);
        assertEquals(Collections.singletonList("a2"), take());
    }

    @Test
    void readyEntriesAreTakenOldestFirstWithinTheLimits() {
        KeyQueues.Entry<String> a1 = add("a1", "a");
        add("b1", "b");
        add("c1", "c");
        add("d1", "d");
        assertEquals(Collections.singletonList("a1"), values(queues.take(1, NO_LIMIT, NO_LIMIT)));
        queues.retry(a1);  // older than the rest: first again

        assertEquals(Arrays.asList("a1", "b1"), values(queues.take(500, 20, NO_LIMIT)));
        assertEquals(Collections.singletonList("c1"), values(queues.take(500, NO_LIMIT, 21)));
        assertEquals(Collections.singletonList("d1"), values(queues.take(500, 1, 1)));  // the first always
    }

    @Test
    void anEntryWithManyKeysWaitsForEachAndHoldsEachBack() {
        KeyQueues.Entry<String> a1 = add("a1", "a");
        KeyQueues.Entry<String> b1 = add("b1", "b");
        KeyQueues.Entry<String> ab = add("ab", "a", "b", "a");  // a key twice counts once
        add("b2", "b");
        add("c1", "c");
        assertEquals(Arrays.asList("a1", "b1", "c1"), take());

        queues.acknowledge(a1);
        assertEquals(Collections.emptyList(), take());  // ab still waits for b1
        queues.acknowledge(b1);
        assertEquals(Collections.singletonList("ab"), take());
        queues.acknowledge(ab);
        assertEquals(Collections.singletonList("b2"), take());
    }

    @Test
    void replacementsTakeTheReplacedEntrysPlaceAheadOfLaterEntriesOfTheirKeys() {
        KeyQueues.Entry<String> aggregate = add("agg(a1,b1)", "a", "b");
        add("a2", "a");
        add("b2", "b");
        add("c1", "c");
        assertEquals(Arrays.asList("agg(a1,b1)", "c1"), take());

        queues.replace(aggregate, Arrays.asList(
                new KeyQueues.Replacement<>("a1", Collections.singletonList("a"), 1, 2),
                new KeyQueues.Replacement<>("b1", Collections.singletonList("b"), 1, 2)));

        assertEquals(Arrays.asList("a1", "b1", "a2", "b2", "c1"), values(queues.inOrder()));
        List<KeyQueues.Entry<String>> resent = queues.take(500, NO_LIMIT, NO_LIMIT);
        assertEquals(Arrays.asList("a1", "b1"), values(resent));
        queues.acknowledge(resent.get(0));
        assertEquals(Collections.singletonList("a2"), take());
        assertThrows(IllegalArgumentException.class, () -> queues.replace(resent.get(1),
                Collections.singletonList(new KeyQueues.Replacement<>(
                        "x", Collections.singletonList("x"), 1, 2))));
    }

    @Test
    void onlyEntriesInFlightCanBeAcknowledgedRetriedOrReplaced() {
        KeyQueues.Entry<String> a1 = add("a1", "a");

        assertThrows(IllegalStateException.class, () -> queues.acknowledge(a1));
        assertThrows(IllegalStateException.class, () -> queues.retry(a1));
        take();
        queues.acknowledge(a1);
        assertThrows(IllegalStateException.class, () -> queues.acknowledge(a1));
        assertTrue(queues.isEmpty());
    }

    @Test
    void waitingCountsAndSizesLeaveOutWhatIsInFlight() {
        KeyQueues.Entry<String> a1 = add("a1", "a");
        add("a2", "a");
        assertEquals(2, queues.waiting());
        assertEquals(20, queues.waitingSize());

        take();
        assertEquals(1, queues.waiting());
        assertEquals(10, queues.waitingSize());
        assertEquals(0, queues.readyCount());
        queues.retry(a1);
        assertEquals(2, queues.waiting());
        assertEquals(1, queues.readyCount());
        assertFalse(queues.isEmpty());
    }

    /**
     * Random adds, batches, acknowledgements, retries and replacements: no two entries sharing
     * a key are ever in flight together, and each key's entries are acknowledged in the order
     * they were added (replacements where their entry stood).
     */
    @Test
    void underAnyInterleavingEachKeyIsAcknowledgedInOrderAndAloneInFlight() {
        Random random = new Random(42);
        Map<String, List<String>> added = new LinkedHashMap<>();
        Map<String, List<String>> acknowledged = new HashMap<>();
        List<KeyQueues.Entry<String>> inFlight = new ArrayList<>();
        int next = 0;
        for (int step = 0; step < 20_000; step++) {
            int action = random.nextInt(10);
            if (action < 4) {
                List<String> keys = new ArrayList<>();
                int count = random.nextInt(10) == 0 ? 2 + random.nextInt(3) : 1;
                for (int i = 0; i < count; i++) {
                    keys.add("k" + random.nextInt(12));
                }
                String value = "e" + next++;
                for (String key : new HashSet<>(keys)) {
                    added.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
                }
                queues.add(value, keys, 1, 1, step);
            } else if (action < 6) {
                List<KeyQueues.Entry<String>> batch =
                        queues.take(1 + random.nextInt(5), NO_LIMIT, NO_LIMIT);
                Set<String> keys = new HashSet<>();
                for (KeyQueues.Entry<String> entry : inFlight) {
                    keys.addAll(Arrays.asList(entry.keys));
                }
                for (KeyQueues.Entry<String> entry : batch) {
                    for (String key : entry.keys) {
                        assertTrue(keys.add(key), key + " twice in flight");
                    }
                }
                inFlight.addAll(batch);
            } else if (!inFlight.isEmpty()) {
                KeyQueues.Entry<String> entry = inFlight.remove(random.nextInt(inFlight.size()));
                if (action < 8) {
                    queues.acknowledge(entry);
                    for (String key : entry.keys) {
                        acknowledged.computeIfAbsent(key, k -> new ArrayList<>()).add(entry.value);
                    }
                } else if (action < 9 || entry.keys.length == 1) {
                    queues.retry(entry);
                } else {
                    // An aggregate stored where its readers drop it: its records again, one
                    // per key (named after it, so the expected order is unchanged).
                    List<KeyQueues.Replacement<String>> replacements = new ArrayList<>();
                    for (String key : entry.keys) {
                        replacements.add(new KeyQueues.Replacement<>(entry.value,
                                Collections.singletonList(key), 1, 1));
                    }
                    queues.replace(entry, replacements);
                }
            }
        }
        for (KeyQueues.Entry<String> entry : inFlight) {
            queues.acknowledge(entry);
            for (String key : entry.keys) {
                acknowledged.computeIfAbsent(key, k -> new ArrayList<>()).add(entry.value);
            }
        }
        List<KeyQueues.Entry<String>> rest;
        while (!(rest = queues.take(500, NO_LIMIT, NO_LIMIT)).isEmpty()) {
            for (KeyQueues.Entry<String> entry : rest) {
                queues.acknowledge(entry);
                for (String key : entry.keys) {
                    acknowledged.computeIfAbsent(key, k -> new ArrayList<>()).add(entry.value);
                }
            }
        }
        assertTrue(queues.isEmpty());
        assertEquals(added, new LinkedHashMap<>(orderedLike(added, acknowledged)));
    }

    private static Map<String, List<String>> orderedLike(Map<String, List<String>> order,
            Map<String, List<String>> values) {
        Map<String, List<String>> result = new LinkedHashMap<>();
        for (String key : order.keySet()) {
            result.put(key, values.get(key));
        }
        return result;
    }
}
