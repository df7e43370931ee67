package io.pyflinkkinesis.source.proxy;

import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which endpoints are AWS (the EFO reader works around local servers only). */
class EndpointTest {

    private static boolean talksToAws(String endpoint) {
        Configuration config = new Configuration();
        if (endpoint != null) {
            config.setString("aws.endpoint", endpoint);
        }
        return KinesisClients.talksToAws(config);
    }

    @Test
    void anAwsHostOrNoEndpointIsAwsALocalServerIsNot() {
        assertTrue(talksToAws(null));
        assertTrue(talksToAws("https://kinesis.eu-west-1.amazonaws.com"));
        assertTrue(talksToAws("https://kinesis.cn-north-1.amazonaws.com.cn"));
        assertFalse(talksToAws("http://127.0.0.1:4567"));
        assertFalse(talksToAws("https://localhost:4567"));
        assertFalse(talksToAws("https://amazonaws.com.example.org"));
    }
}
