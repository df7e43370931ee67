package io.pyflinkkinesis.glue;

/**
 * Splits one AWS Glue Schema Registry encoded record into the writer's schema definition and the
 * encoded payload (header removed, decompressed).
 */
interface GlueRecordParts {

    /** The definition (Avro schema JSON) of the schema version the record names in its header. */
    String schemaDefinition(byte[] record);

    /** The record's Avro binary payload, without the header and decompressed. */
    byte[] payload(byte[] record);
}
