"""Testing helpers: local Kinesis-compatible servers (kinesalite, kinesis-mock) and their use.

``LocalKinesis`` (kinesalite) comes from :mod:`pyflink_kinesis.testing.kinesalite`,
``KinesisMock`` from :mod:`pyflink_kinesis.testing.kinesis_mock`, and what they share from
:mod:`pyflink_kinesis.testing._server`. Importing this package needs boto3; the servers need
Node.js and the npm packages in ``tools/local-kinesis`` (``make kinesis-server``).
"""

from pyflink_kinesis.testing._server import (
    DEFAULT_REGION,
    LAUNCHERS,
    KinesisRecord,
    LocalKinesisError,
    LocalKinesisServer,
    PutResult,
    RecordsTimeoutError,
)
from pyflink_kinesis.testing.fault_proxy import FaultProxy
from pyflink_kinesis.testing.kinesalite import (
    ENV_EXECUTABLE,
    KINESALITE_VERSION,
    KinesaliteNotFoundError,
    LocalKinesis,
    QuotaCounters,
    Quotas,
    find_kinesalite,
)
from pyflink_kinesis.testing.kinesis_mock import (
    ENV_KINESIS_MOCK,
    KINESIS_MOCK_VERSION,
    KinesisMock,
    KinesisMockNotFoundError,
    find_kinesis_mock,
)

__all__ = [
    "DEFAULT_REGION",
    "ENV_EXECUTABLE",
    "ENV_KINESIS_MOCK",
    "KINESALITE_VERSION",
    "KINESIS_MOCK_VERSION",
    "LAUNCHERS",
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
