"""``python -m pyflink_kinesis``: the ``pyflink-kinesis`` command (:mod:`pyflink_kinesis.cli`)."""

import sys

from pyflink_kinesis.cli import main

sys.exit(main())
