"""Testing helpers: local Kinesis-compatible servers (kinesalite, kinesis-mock) and their use.

Importing this package needs boto3 but not PyFlink; the servers need Node.js and the npm
packages in ``tools/local-kinesis`` (``make kinesis-server``).
"""

from pyflink_kinesis.testing.fault_proxy import FaultProxy
from pyflink_kinesis.testing.local_kinesis import (
    DEFAULT_REGION,
    ENV_EXECUTABLE,
    ENV_KINESIS_MOCK,
    KINESALITE_VERSION,
    KINESIS_MOCK_VERSION,
    KinesaliteNotFoundError,
    KinesisMock,
    KinesisMockNotFoundError,
    KinesisRecord,
    LocalKinesis,
    LocalKinesisError,
    LocalKinesisServer,
    PutResult,
    QuotaCounters,
    Quotas,
    RecordsTimeoutError,
    find_kinesalite,
    find_kinesis_mock,
)

__all__ = [
    "DEFAULT_REGION",
    "ENV_EXECUTABLE",
    "ENV_KINESIS_MOCK",
    "KINESALITE_VERSION",
    "KINESIS_MOCK_VERSION",
    "FaultProxy",
    "KinesaliteNotFoundError",
    "KinesisMock",
    "KinesisMockNotFoundError",
    "KinesisRecord",
    "LocalKinesis",
    "LocalKinesisError",
    "LocalKinesisServer",
    "PutResult",
    "QuotaCounters",
    "Quotas",
    "RecordsTimeoutError",
    "find_kinesalite",
    "find_kinesis_mock",
]
