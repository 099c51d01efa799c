"""A moto server on 127.0.0.1 standing in for S3, Glue, SNS and SQS (no account, no network)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

REGION = "us-east-1"


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    """Start one moto server for the session; every boto3 client goes to it."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in _ENV}
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
    )
    try:
        yield endpoint
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
)


@pytest.fixture
def bucket(aws_endpoint: str) -> str:
    """A fresh, empty bucket per test."""
    name = f"lake-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=name)
    return name


@pytest.fixture
def glue_database(aws_endpoint: str) -> str:
    """An empty Glue database, as the CDK storage construct makes it: the lake's first
    writer creates the Iceberg tables."""
    name = f"db_{uuid.uuid4().hex[:10]}"
    boto3.client("glue", region_name=REGION).create_database(DatabaseInput={"Name": name})
    return name


@pytest.fixture
def hive_glue_database(aws_endpoint: str) -> str:
    """A Glue database with one Hive table per lake table, as the CDK storage construct makes
    it for the retired snapshot-log format (``table_format: snapshot-log``)."""
    from meterwatch import tables
    from meterwatch.storage.s3 import glue_table_input

    name = f"db_{uuid.uuid4().hex[:10]}"
    glue = boto3.client("glue", region_name=REGION)
    glue.create_database(DatabaseInput={"Name": name})
    for spec in tables.TABLES.values():
        glue.create_table(DatabaseName=name, TableInput=glue_table_input(spec, "s3://x/lake"))
    return name
