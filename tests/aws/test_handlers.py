"""The Lambda handlers and the training entry point end to end against a moto server.

Landing files -> S3 notification -> SQS -> ingest handler -> curated objects + Glue
partitions; training entry point (SM_* environment) -> artifact -> register handler ->
models; scoring handler -> scores, alerts and an SNS message (captured by an SQS
subscription). Athena is replaced by the DuckDB engine over the same Parquet (moto's Athena
does not execute SQL); everything else is the code that runs in AWS.
"""

from __future__ import annotations

import json
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest

from tests.aws.conftest import REGION
from tests.scenarios import hourly_frame, write_electrodunas

pytest.importorskip("meterwatch.detect.pipeline")

HISTORY_DAYS, NEW_DAYS = 45, 15
DASHBOARD = "https://dashboard.example.pe"


@dataclass
class Deployment:
    raw: str
    curated: str
    queue_url: str  # S3 landing notifications
    alerts_queue_url: str  # subscribed to the alert topic
    topic_arn: str
    files: Path

    def land(self, folder: str) -> dict[str, Any]:
        """Upload a folder under landing/ and return the SQS batch Lambda would receive."""
        s3 = boto3.client("s3", region_name=REGION)
        for path in sorted((self.files / folder).iterdir()):
            s3.upload_file(str(path), self.raw, f"landing/{folder}/{path.name}")
        sqs = boto3.client("sqs", region_name=REGION)
        records: list[dict[str, Any]] = []
        for _ in range(5):
            got = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            for m in got.get("Messages", []):
                records.append({"messageId": m["MessageId"], "body": m["Body"]})
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
            if len(records) >= 2:
                break
        return {"Records": records}


@pytest.fixture
def deployment(
    aws_endpoint: str, glue_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Deployment]:
    s3 = boto3.client("s3", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)
    suffix = uuid.uuid4().hex[:8]
    raw, curated = f"raw-{suffix}", f"curated-{suffix}"
    for b in (raw, curated):
        s3.create_bucket(Bucket=b)
    queue_url = sqs.create_queue(QueueName=f"landing-{suffix}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=raw,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "landing/"}]}},
                }
            ]
        },
    )
    sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)  # drop s3:TestEvent
    sqs.purge_queue(QueueUrl=queue_url)
    topic_arn = sns.create_topic(Name=f"alerts-{suffix}")["TopicArn"]
    alerts_url = sqs.create_queue(QueueName=f"alerts-{suffix}")["QueueUrl"]
    alerts_arn = sqs.get_queue_attributes(QueueUrl=alerts_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=alerts_arn)

    files = tmp_path / "files"
    for n in (1, 2):
        series = hourly_frame(24 * (HISTORY_DAYS + NEW_DAYS), seed=n, level=10.0 * n)
        write_electrodunas(files / "history", n, series.iloc[: 24 * HISTORY_DAYS])
        new = series.iloc[24 * HISTORY_DAYS :].copy()
        if n == 2:
            new["active"] *= 0.3  # a bypass: the meter sees 30 % of the load
        write_electrodunas(files / "new", n, new)

    env = {
        "METERWATCH_LAKE": f"s3://{curated}/lake",
        "METERWATCH_RAW_LAKE": f"s3://{raw}",
        "METERWATCH_GLUE_DATABASE": glue_database,
        "METERWATCH_ALERT_TOPIC_ARN": topic_arn,
        "METERWATCH_DASHBOARD_URL": DASHBOARD,
        "METERWATCH_WORKERS": "1",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("METERWATCH_SCORE_FUNCTION", raising=False)

    import lambdas.runtime
    from meterwatch.storage import open_lake
    from meterwatch.storage.s3 import DuckDBEngine

    def open_with_duckdb(uri: str, settings: Any = None) -> Any:
        lake = open_lake(uri, settings)
        lake.engine = DuckDBEngine(lake)  # type: ignore[attr-defined]
        return lake

    monkeypatch.setattr(lambdas.runtime, "open_lake", open_with_duckdb)
    yield Deployment(raw, curated, queue_url, alerts_url, topic_arn, files)


def lake() -> Any:
    from lambdas.runtime import lake_and_settings

    return lake_and_settings()[0]


def keys(bucket: str, prefix: str) -> list[str]:
    s3 = boto3.client("s3", region_name=REGION)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for p in pages for o in p.get("Contents", [])]


class RecordingLambda:
    """Stands in for the Lambda API (moto runs functions in Docker): records invocations."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"StatusCode": 202}


def test_landing_ingests_into_the_glue_iceberg_tables(
    deployment: Deployment, glue_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambdas.ingest_handler import handler

    lambda_api = RecordingLambda()
    real_client = boto3.client
    monkeypatch.setattr(
        boto3,
        "client",
        lambda name, **kw: lambda_api if name == "lambda" else real_client(name, **kw),
    )
    monkeypatch.setenv("METERWATCH_SCORE_FUNCTION", "meterwatch-score")
    event = deployment.land("history")
    out = handler(event)
    assert out["statuses"] == ["ok", "ok"]
    # New readings wait for the scheduled scoring run: no run per batch of landed files.
    assert lambda_api.calls == []
    handler(event)  # a redelivery ingests nothing new
    assert lambda_api.calls == []
    assert out["rows_read"] == out["rows_accepted"] == 2 * 24 * HISTORY_DAYS
    assert keys(deployment.raw, "raw/sha256=")  # the input kept verbatim
    # The first writer created the lake's tables as Iceberg tables in the (empty) database the
    # stack made, and each points Athena at the committed metadata.
    from meterwatch import tables
    from meterwatch.storage.glue import GlueLake

    current = lake()
    assert isinstance(current, GlueLake)
    glue = boto3.client("glue", region_name=REGION)
    listed = glue.get_tables(DatabaseName=glue_database)["TableList"]
    assert {t["Name"] for t in listed} == set(tables.TABLES)
    readings = next(t for t in listed if t["Name"] == "readings")
    assert readings["Parameters"]["table_type"].upper() == "ICEBERG"
    assert readings["Parameters"]["metadata_location"] == dict(current._locations())["readings"]
    assert keys(deployment.curated, "lake/curated/readings/data/")
    assert set(current.read("readings")["client_id"]) == {"Cliente 1", "Cliente 2"}


def test_a_record_that_cannot_be_fetched_is_a_batch_item_failure(deployment: Deployment) -> None:
    """The event source reports partial batch failures: only the bad records are redelivered
    (then dead-lettered), the rest of the batch is ingested."""
    from lambdas.ingest_handler import handler

    event = deployment.land("history")
    gone = {
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": deployment.raw}, "object": {"key": "landing/gone.csv"}},
    }
    event["Records"] += [
        {"messageId": "gone", "body": json.dumps({"Records": [gone]})},
        {"messageId": "garbled", "body": "not json"},
    ]
    out = handler(event)
    assert out["batchItemFailures"] == [
        {"itemIdentifier": "gone"},
        {"itemIdentifier": "garbled"},
    ]
    assert out["statuses"] == ["ok", "ok"]
    assert len(lake().read("readings")) == 2 * 24 * HISTORY_DAYS
    # a batch of nothing but failures reports every record, ingests nothing
    only_bad = {"Records": event["Records"][-2:]}
    assert handler(only_bad) == {"files": 0, "batchItemFailures": out["batchItemFailures"]}


def test_a_retried_landing_event_duplicates_nothing(deployment: Deployment) -> None:
    from lambdas.ingest_handler import handler

    event = deployment.land("history")
    handler(event)
    before = lake().read("readings")
    again = handler(event)  # SQS redelivers the same batch (e.g. after a timeout)
    assert again["statuses"] == ["repeat", "repeat"]
    after = lake().read("readings")
    assert len(after) == len(before) == 2 * 24 * HISTORY_DAYS
    assert not after.duplicated(["client_id", "ts"]).any()
    assert len(keys(deployment.raw, "raw/sha256=")) == 2


def test_train_register_score_and_alert_by_sns(deployment: Deployment, tmp_path: Path) -> None:
    from lambdas import ingest_handler, score_handler, training_handler
    from training.train import main as train_main

    ingest_handler.handler(deployment.land("history"))
    plan = training_handler.plan({"shard_size": 1})
    assert plan["shards"] == 2 and plan["bucket"] == deployment.curated
    # the shards travel in an S3 manifest (the Distributed Map's ItemReader), not the payload
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=plan["bucket"], Key=plan["key"])
    planned = {"shards": json.loads(body["Body"].read())}
    assert [s["clients"] for s in planned["shards"]] == ["Cliente 1", "Cliente 2"]

    # Each shard as SageMaker runs it: SM_* environment in, model directory out.
    artifacts = []
    for shard in planned["shards"]:
        model_dir = tmp_path / shard["job_name"] / "model"
        manifest = train_main(
            {
                "SM_MODEL_DIR": str(model_dir),
                "SM_HPS": json.dumps({"clients": shard["clients"]}),
                "METERWATCH_LAKE": f"s3://{deployment.curated}/lake",
                "METERWATCH_WORKERS": "1",
            }
        )
        assert manifest["models"] == 1
        archive = tmp_path / shard["job_name"] / "model.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for path in model_dir.rglob("*"):
                tar.add(path, arcname=str(path.relative_to(model_dir)))
        key = f"training/{shard['job_name']}/output/model.tar.gz"
        boto3.client("s3", region_name=REGION).upload_file(str(archive), deployment.curated, key)
        artifacts.append(f"s3://{deployment.curated}/{key}")
    assert lake().read("models").empty  # training jobs never write the lake
    # each shard staged after its job (objects into the lake, rows beside the artifact)
    staged = [training_handler.stage({"artifact": uri}) for uri in artifacts]
    assert [s["models"] for s in staged] == [1, 1]
    assert staged[0]["staged"] == artifacts[0].replace("output/model.tar.gz", "staged/")
    assert lake().read("models").empty  # nothing committed before the register step
    registered = training_handler.register({"staged": [s["staged"] for s in staged]})
    assert registered == {"artifacts": 2, "models": 2}
    models = lake().read("models")
    assert sorted(models["client_id"]) == ["Cliente 1", "Cliente 2"]
    assert all(lake().get_object(k) for k in models["artifact_key"])
    # the archives alone (a manual register) commit the same models
    assert training_handler.register({"artifacts": artifacts}) == registered

    ingest_handler.handler(deployment.land("new"))
    # the scoring state machine: plan the shards into S3, then score each one in turn
    plan = score_handler.handler({"plan": True, "shard_size": 1})
    assert plan["shards"] == 2 and plan["customers"] == 2 and plan["bucket"] == deployment.curated
    assert plan["key"].startswith("scoring/manifests/")
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=plan["bucket"], Key=plan["key"])
    shards = json.loads(body["Body"].read())
    assert sorted(s["clients"] for s in shards) == ["Cliente 1", "Cliente 2"]
    outs = [score_handler.handler({"clients": s["clients"]}) for s in shards]
    assert [o["customers"] for o in outs] == [1, 1]
    assert sum(o["hours_scored"] for o in outs) == 2 * 24 * NEW_DAYS
    assert sum(o["alerts_new"] for o in outs) >= 1
    alerts = lake().read("alerts")
    assert "Cliente 2" in set(alerts["client_id"])
    assert set(lake().partitions("scores")) == {"Cliente 1", "Cliente 2"}

    got = boto3.client("sqs", region_name=REGION).receive_message(
        QueueUrl=deployment.alerts_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2
    )
    (message,) = [json.loads(m["Body"]) for m in got["Messages"]]
    assert "alerta" in message["Subject"] and "kWh" in message["Subject"]
    assert "Cliente 2" in message["Message"]
    assert DASHBOARD in message["Message"]

    # Scoring again finds nothing new and sends nothing.
    assert score_handler.handler({})["hours_scored"] == 0


def test_sns_sink_keeps_subject_within_sns_limits(aws_endpoint: str) -> None:
    from meterwatch.adapters.aws.sns import SUBJECT_LIMIT, SnsSink

    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    alerts = pd.DataFrame(
        {
            "alert_id": ["a"],
            "client_id": ["Cliente 9"],
            "sector": ["Agua"],
            "kind": ["stopped_meter"],
            "window_start": [pd.Timestamp("2024-01-01")],
            "window_end": [pd.Timestamp("2024-01-03")],
            "lost_kwh_estimate": [123456789.0],
            "severity": ["high"],
            "evidence": ["x" * 300],
            "rank": [1],
        }
    )
    sink = SnsSink(topic, DASHBOARD)
    sink.send(alerts, "es")
    sink.send(alerts.iloc[:0], "es")  # nothing new: nothing sent
    assert len(sink.message_ids) == 1
    assert SUBJECT_LIMIT == 100


def test_landed_objects_skip_test_events_and_decode_keys() -> None:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from lambdas.ingest_handler import landed_objects
    from lambdas.training_handler import shards

    created = {
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "raw"}, "object": {"key": "landing/DATOS+CLIENTE%C3%B1.csv"}},
    }
    event = {
        "Records": [
            {"body": json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})},
            {"body": json.dumps({"Records": [created]})},
        ]
    }
    found = [o for r in event["Records"] for o in landed_objects(SQSRecord(r))]
    assert found == [("raw", "landing/DATOS CLIENTEñ.csv")]
    planned = shards([f"c{i}" for i in range(5)], 2, "run")
    assert [s["clients"] for s in planned] == ["c0,c1", "c2,c3", "c4"]
    assert len({s["job_name"] for s in planned}) == 3
    assert all(len(s["job_name"]) <= 63 for s in planned)
