"""Amazon Kinesis Data Streams for PyFlink, on the official Apache Flink Kinesis connector.

Importing the package registers the connector jars with PyFlink (see
:mod:`pyflink_kinesis.gateway`): no ``add_jars`` call is needed. It also checks every
``kinesis`` table given to a TableEnvironment before Flink sees it (:mod:`pyflink_kinesis.table`).
Local jobs run their Python workers with this interpreter unless told otherwise
(:mod:`pyflink_kinesis.workers`), show their failures on stderr and in the error raised
(:mod:`pyflink_kinesis.failures`), log to a file of their process (:mod:`pyflink_kinesis.logs`),
and keep their workers' shutdown tracebacks out of the terminal (:mod:`pyflink_kinesis._quiet`).
"""

from pyflink_kinesis import _quiet
from pyflink_kinesis import gateway as _gateway
from pyflink_kinesis import table as _table
from pyflink_kinesis.consumer import (
    METADATA_FIELDS,
    FlinkKinesisConsumer,
    KinesisDeserializationSchema,
    KinesisShardAssigner,
)
from pyflink_kinesis.errors import (
    AvroSchemaError,
    JarResolutionError,
    JobFailedError,
    KinesisConfigError,
    KinesisConfigWarning,
    KinesisError,
    PythonWorkerError,
    StreamCheckError,
    UnsupportedFlinkVersionError,
)
from pyflink_kinesis.firehose import KinesisFirehoseSink, KinesisFirehoseSinkBuilder
from pyflink_kinesis.glue import (
    GlueSchemaRegistryAvroDeserializationSchema,
    GlueSchemaRegistryJsonDeserializationSchema,
)
from pyflink_kinesis.migrate import KinesisMigrationWarning, MigratedSources, migrate_consumer
from pyflink_kinesis.preflight import check_streams
from pyflink_kinesis.properties import ApplicationPropertiesError, application_properties
from pyflink_kinesis.schemas import (
    AvroDeserializationSchema,
    RowFieldSerializationSchema,
    TypeInformationSerializationSchema,
)
from pyflink_kinesis.sink import (
    KinesisStreamsSink,
    KinesisStreamsSinkBuilder,
    PartitionKeyGenerator,
)
from pyflink_kinesis.source import (
    KinesisSourceShardAssigner,
    KinesisStreamsSource,
    KinesisStreamsSourceBuilder,
)
from pyflink_kinesis.table import create_table_ddl, table_descriptor
from pyflink_kinesis.watermark import (
    PeriodicWatermarkAssigner,
    WatermarkTracker,
    with_field_timestamps,
)

_gateway.install()
_table.install()
_quiet.install()

__all__ = [
    "METADATA_FIELDS",
    "ApplicationPropertiesError",
    "AvroDeserializationSchema",
    "AvroSchemaError",
    "FlinkKinesisConsumer",
    "GlueSchemaRegistryAvroDeserializationSchema",
    "GlueSchemaRegistryJsonDeserializationSchema",
    "JarResolutionError",
    "JobFailedError",
    "KinesisConfigError",
    "KinesisConfigWarning",
    "KinesisDeserializationSchema",
    "KinesisError",
    "KinesisFirehoseSink",
    "KinesisFirehoseSinkBuilder",
    "KinesisMigrationWarning",
    "KinesisShardAssigner",
    "KinesisSourceShardAssigner",
    "KinesisStreamsSink",
    "KinesisStreamsSinkBuilder",
    "KinesisStreamsSource",
    "KinesisStreamsSourceBuilder",
    "MigratedSources",
    "PartitionKeyGenerator",
    "PeriodicWatermarkAssigner",
    "PythonWorkerError",
    "RowFieldSerializationSchema",
    "StreamCheckError",
    "TypeInformationSerializationSchema",
    "UnsupportedFlinkVersionError",
    "WatermarkTracker",
    "application_properties",
    "check_streams",
    "create_table_ddl",
    "migrate_consumer",
    "table_descriptor",
    "with_field_timestamps",
]
__version__ = "0.1.0"
