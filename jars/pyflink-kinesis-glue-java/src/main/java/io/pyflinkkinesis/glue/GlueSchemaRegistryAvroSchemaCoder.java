package io.pyflinkkinesis.glue;

import org.apache.flink.avro.shaded.org.apache.avro.Schema;
import org.apache.flink.formats.avro.SchemaCoder;
import org.apache.flink.formats.avro.utils.MutableByteArrayInputStream;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads the writer's schema of an AWS Glue Schema Registry encoded record for
 * {@code RegistryAvroDeserializationSchema}, and leaves the stream at the record's Avro payload.
 *
 * <p>Parsed writer schemas are kept per definition: the registry client already caches the
 * definitions by schema version id, this avoids parsing them again for every record.
 */
final class GlueSchemaRegistryAvroSchemaCoder implements SchemaCoder {

    private final GlueRecordParts parts;
    private final Map<String, Schema> parsed = new HashMap<>();

    GlueSchemaRegistryAvroSchemaCoder(GlueRecordParts parts) {
        this.parts = parts;
    }

    @Override
    public Schema readSchema(InputStream in) throws IOException {
        if (!(in instanceof MutableByteArrayInputStream)) {
            throw new IOException(
                    "expected the MutableByteArrayInputStream of RegistryAvroDeserializationSchema, got "
                            + in.getClass().getName());
        }
        byte[] record = new byte[in.available()];
        int read = in.read(record);
        if (read != record.length) {
            throw new IOException("short read of a Glue Schema Registry record");
        }
        String definition = parts.schemaDefinition(record);
        ((MutableByteArrayInputStream) in).setBuffer(parts.payload(record));
        return parsed.computeIfAbsent(definition, text -> new Schema.Parser().parse(text));
    }

    @Override
    public void writeSchema(Schema schema, OutputStream out) {
        throw new UnsupportedOperationException(
                "GlueSchemaRegistryAvroSchemaCoder only reads; records are written by producers");
    }
}
