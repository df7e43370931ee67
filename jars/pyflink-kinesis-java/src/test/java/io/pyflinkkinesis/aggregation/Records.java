package io.pyflinkkinesis.aggregation;

import java.nio.charset.StandardCharsets;
import java.util.Random;

/** Random user records for the tests: keys with one- to four-byte UTF-8 characters, varied data. */
final class Records {

    private static final String[] KEY_PARTS = {"k", "order-", "Zoë", "ключ", "鍵", "🔑", "_"};
    /** Lengths around varint boundaries (127/128, 16383/16384) and some others. */
    private static final int[] DATA_LENGTHS = {0, 1, 2, 50, 127, 128, 129, 300, 1000};
    private static final int[] BIG_DATA_LENGTHS = {16383, 16384, 16385, 40000};

    private Records() {}

    static String randomKey(Random random) {
        StringBuilder key = new StringBuilder();
        int parts = 1 + random.nextInt(6);
        for (int i = 0; i < parts; i++) {
            key.append(KEY_PARTS[random.nextInt(KEY_PARTS.length)]);
        }
        if (random.nextInt(10) == 0) {
            while (key.length() < 250) {
                key.append('x');
            }
        }
        return key.toString();
    }

    static byte[] randomData(Random random) {
        int length = random.nextInt(20) == 0
                ? BIG_DATA_LENGTHS[random.nextInt(BIG_DATA_LENGTHS.length)]
                : DATA_LENGTHS[random.nextInt(DATA_LENGTHS.length)];
        byte[] data = new byte[length];
        random.nextBytes(data);
        return data;
    }

    static KeyedRecord random(Random random) {
        return new KeyedRecord(randomKey(random), randomData(random));
    }

    static KeyedRecord text(String key, String data) {
        return new KeyedRecord(key, data.getBytes(StandardCharsets.UTF_8));
    }
}
