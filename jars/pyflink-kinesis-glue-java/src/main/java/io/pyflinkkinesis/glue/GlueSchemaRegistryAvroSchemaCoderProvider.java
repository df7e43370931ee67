package io.pyflinkkinesis.glue;

import com.amazonaws.services.schemaregistry.common.configs.GlueSchemaRegistryConfiguration;
import com.amazonaws.services.schemaregistry.deserializers.GlueSchemaRegistryDeserializationFacade;
import org.apache.flink.connector.aws.util.AWSGeneralUtil;
import org.apache.flink.formats.avro.SchemaCoder;

import java.util.HashMap;
import java.util.Map;

/**
 * Creates, where the job runs, the {@link GlueSchemaRegistryAvroSchemaCoder} backed by the Glue
 * Schema Registry client.
 *
 * <p>The configs are the library's ({@code region}, {@code endpoint}, {@code cacheSize} ...) plus
 * Flink's {@code aws.credentials.provider.*} keys, which choose the credentials the registry
 * client signs with (default: the AWS SDK's default chain). They are checked against the library
 * when this provider is created, so bad configs fail on the client, not in the job.
 */
public final class GlueSchemaRegistryAvroSchemaCoderProvider
        implements SchemaCoder.SchemaCoderProvider {

    private static final long serialVersionUID = 1L;

    private final HashMap<String, String> configs;

    public GlueSchemaRegistryAvroSchemaCoderProvider(Map<String, String> configs) {
        this.configs = new HashMap<>(configs);
        new GlueSchemaRegistryConfiguration(this.configs);
    }

    @Override
    public SchemaCoder get() {
        GlueSchemaRegistryDeserializationFacade facade =
                GlueSchemaRegistryDeserializationFacade.builder()
                        .credentialProvider(AWSGeneralUtil.getCredentialsProvider(configs))
                        .configs(configs)
                        .build();
        return new GlueSchemaRegistryAvroSchemaCoder(
                new GlueRecordParts() {
                    @Override
                    public String schemaDefinition(byte[] record) {
                        return facade.getSchemaDefinition(record);
                    }

                    @Override
                    public byte[] payload(byte[] record) {
                        return facade.getActualData(record);
                    }
                });
    }

    /** The configs the registry client is built with (a copy). */
    public Map<String, String> getConfigs() {
        return new HashMap<>(configs);
    }
}
