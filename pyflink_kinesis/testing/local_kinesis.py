"""The local Kinesis servers under one name, as earlier versions had them in this module.

``LocalKinesis`` (kinesalite) lives in :mod:`pyflink_kinesis.testing.kinesalite`,
``KinesisMock`` in :mod:`pyflink_kinesis.testing.kinesis_mock`, and what they share in
:mod:`pyflink_kinesis.testing._server`; :mod:`pyflink_kinesis.testing` exports them all.
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
