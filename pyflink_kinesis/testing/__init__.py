"""Testing helpers: a local Kinesis-compatible server (kinesalite) and ways to use it.

Importing this package needs boto3 but not PyFlink; the server needs Node.js and kinesalite
(``make kinesis-server``).
"""

from pyflink_kinesis.testing.local_kinesis import (
    DEFAULT_REGION,
    ENV_EXECUTABLE,
    KINESALITE_VERSION,
    KinesaliteNotFoundError,
    KinesisRecord,
    LocalKinesis,
    LocalKinesisError,
    PutResult,
    RecordsTimeoutError,
    find_kinesalite,
)

__all__ = [
    "DEFAULT_REGION",
    "ENV_EXECUTABLE",
    "KINESALITE_VERSION",
    "KinesaliteNotFoundError",
    "KinesisRecord",
    "LocalKinesis",
    "LocalKinesisError",
    "PutResult",
    "RecordsTimeoutError",
    "find_kinesalite",
]
