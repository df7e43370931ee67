"""Mask secret values (secret keys, and anything named like a secret) before showing a config."""

from __future__ import annotations

from typing import Mapping

from pyflink_kinesis.config.aws import AWS_KEYS
from pyflink_kinesis.config.validation import MASK


def mask_secrets(config: Mapping[str, object]) -> dict[str, object]:
    """A copy of ``config`` with every secret value replaced by ``'****'``.

    Secret are the keys marked so in the tables (``aws.credentials.provider.basic.secretkey``,
    also nested under ``...role.provider``) and any other key whose name contains "secret",
    "token" or "password" (a misspelt secret key is still masked).
    """
    return {
        name: MASK if isinstance(name, str) and AWS_KEYS.is_secret(name) else value
        for name, value in config.items()
    }
