package io.pyflinkkinesis.glue;

import org.apache.flink.avro.shaded.org.apache.avro.Schema;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericRecord;
import org.apache.flink.formats.avro.RegistryAvroDeserializationSchema;

import java.util.Map;

/**
 * AWS Glue Schema Registry Avro deserialization for the base jar set's flink-sql-avro.
 *
 * <p>Flink's own {@code GlueSchemaRegistryAvroDeserializationSchema} (flink-avro-glue-schema-
 * registry) is compiled against the unshaded flink-avro: next to flink-sql-avro, which holds the
 * same {@code org.apache.flink.formats.avro} classes over shaded Avro and is loaded first, it
 * fails with {@code NoSuchMethodError}. This builds the same thing, a
 * {@link RegistryAvroDeserializationSchema} whose schema coder reads the writer's schema from the
 * registry, on flink-sql-avro's classes. Records are read with the writer's schema and resolved
 * to the reader schema given here; their type is {@code GenericRecordAvroTypeInfo}, which PyFlink
 * passes to Python as dicts.
 */
public final class GlueSchemaRegistryAvro {

    private GlueSchemaRegistryAvro() {}

    /** Reads records as {@link GenericRecord}s of {@code readerSchemaJson}. */
    public static RegistryAvroDeserializationSchema<GenericRecord> forGeneric(
            String readerSchemaJson, Map<String, String> configs) {
        Schema reader = new Schema.Parser().parse(readerSchemaJson);
        return new RegistryAvroDeserializationSchema<>(
                GenericRecord.class, reader, new GlueSchemaRegistryAvroSchemaCoderProvider(configs));
    }
}
