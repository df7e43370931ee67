"""``mask_secrets``: copies of configs that are safe to print."""

from __future__ import annotations

from pyflink_kinesis.config import mask_secrets

SECRET_KEY = "aws.credentials.provider.basic.secretkey"


def test_secret_values_are_masked_and_others_kept() -> None:
    config = {
        "aws.region": "us-east-1",
        "aws.credentials.provider.basic.accesskeyid": "AKIA",
        SECRET_KEY: "s3cr3t",
    }
    assert mask_secrets(config) == {
        "aws.region": "us-east-1",
        "aws.credentials.provider.basic.accesskeyid": "AKIA",
        SECRET_KEY: "****",
    }


def test_nested_secret_keys_are_masked() -> None:
    nested = "aws.credentials.provider.role.provider.role.provider.basic.secretkey"
    assert mask_secrets({nested: "s3cr3t"}) == {nested: "****"}


def test_external_ids_are_masked_and_token_file_paths_kept() -> None:
    external_id = "aws.credentials.provider.role.externalId"
    nested = "aws.credentials.provider.role.provider.role.externalId"
    token_file = "aws.credentials.provider.webIdentityToken.file"
    config = {external_id: "ext-1", nested: "ext-2", token_file: "/var/run/token"}
    masked = {external_id: "****", nested: "****", token_file: "/var/run/token"}
    assert mask_secrets(config) == masked


def test_misspelt_and_unknown_secret_looking_keys_are_masked() -> None:
    config = {
        "aws.credentials.provider.basic.secretkye": "a",
        "aws.clientconfig.proxyPassword": "b",
        "my.session.token": "c",
        "flink.stream.efo.consumername": "reader",
    }
    assert mask_secrets(config) == {
        "aws.credentials.provider.basic.secretkye": "****",
        "aws.clientconfig.proxyPassword": "****",
        "my.session.token": "****",
        "flink.stream.efo.consumername": "reader",
    }


def test_masking_copies_and_leaves_the_config_alone() -> None:
    config: dict[str, object] = {SECRET_KEY: "s3cr3t"}
    masked = mask_secrets(config)
    assert masked is not config
    assert config == {SECRET_KEY: "s3cr3t"}
