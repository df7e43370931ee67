package io.pyflinkkinesis.glue;

import org.apache.flink.avro.shaded.org.apache.avro.Schema;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericData;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericDatumWriter;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericRecord;
import org.apache.flink.avro.shaded.org.apache.avro.io.BinaryEncoder;
import org.apache.flink.avro.shaded.org.apache.avro.io.EncoderFactory;
import org.apache.flink.formats.avro.RegistryAvroDeserializationSchema;
import org.apache.flink.formats.avro.SchemaCoder;
import org.apache.flink.formats.avro.typeutils.GenericRecordAvroTypeInfo;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GlueSchemaRegistryAvroTest {

    private static final String WRITER =
            "{\"type\":\"record\",\"name\":\"R\",\"fields\":["
                    + "{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"n\",\"type\":\"long\"}]}";
    // The reader adds a field with a default: records are resolved from the writer's schema.
    private static final String READER =
            "{\"type\":\"record\",\"name\":\"R\",\"fields\":["
                    + "{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"n\",\"type\":\"long\"},"
                    + "{\"name\":\"tag\",\"type\":\"string\",\"default\":\"none\"}]}";
    private static final int HEADER_LENGTH = 18;

    /** Stands in for the registry: the header is 18 bytes, the writer's schema is fixed. */
    private static final class FixedParts implements GlueRecordParts {
        @Override
        public String schemaDefinition(byte[] record) {
            return WRITER;
        }

        @Override
        public byte[] payload(byte[] record) {
            return Arrays.copyOfRange(record, HEADER_LENGTH, record.length);
        }
    }

    private static byte[] encode(String a, long n) throws IOException {
        Schema schema = new Schema.Parser().parse(WRITER);
        GenericRecord record = new GenericData.Record(schema);
        record.put("a", a);
        record.put("n", n);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[HEADER_LENGTH]);
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(schema).write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }

    @Test
    void readsTheWriterSchemaFromTheRegistryAndResolvesToTheReaderSchema() throws Exception {
        SchemaCoder.SchemaCoderProvider provider =
                () -> new GlueSchemaRegistryAvroSchemaCoder(new FixedParts());
        RegistryAvroDeserializationSchema<GenericRecord> schema =
                new RegistryAvroDeserializationSchema<>(
                        GenericRecord.class, new Schema.Parser().parse(READER), provider);

        GenericRecord first = schema.deserialize(encode("x", 1L));
        GenericRecord second = schema.deserialize(encode("yy", 2L));

        assertEquals("x", first.get("a").toString());
        assertEquals(1L, first.get("n"));
        assertEquals("none", first.get("tag").toString());
        assertEquals("yy", second.get("a").toString());
        assertEquals(2L, second.get("n"));
    }

    @Test
    void forGenericProducesGenericRecordAvroTypeInfoOfTheReaderSchema() {
        Map<String, String> configs = new HashMap<>();
        configs.put("region", "us-east-1");
        RegistryAvroDeserializationSchema<GenericRecord> schema =
                GlueSchemaRegistryAvro.forGeneric(READER, configs);

        GenericRecordAvroTypeInfo type =
                assertInstanceOf(GenericRecordAvroTypeInfo.class, schema.getProducedType());
        assertTrue(type.toString().contains("tag"));
    }

    @Test
    void theLibraryRejectsBadConfigsWhenTheProviderIsCreated() {
        Map<String, String> configs = new HashMap<>();
        configs.put("region", "us-east-1");
        configs.put("compression", "GZIP");
        RuntimeException error =
                assertThrows(
                        RuntimeException.class,
                        () -> new GlueSchemaRegistryAvroSchemaCoderProvider(configs));
        assertTrue(error.getMessage().contains("Invalid Compression type"), error.getMessage());
    }
}
