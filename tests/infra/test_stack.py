"""CDK assertions on the security-relevant properties of each construct, and cdk-nag."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from meterwatch import tables
from tests.infra.conftest import ALERT_EMAILS, OPS_EMAILS, ROOT, SCAN_LIMIT, Synth, context


def statements(synth: Synth) -> list[dict[str, Any]]:
    out = []
    for policy in synth.resources("AWS::IAM::Policy"):
        out.extend(policy["PolicyDocument"]["Statement"])
    return out


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(synth: Synth, role_fragment: str) -> list[dict[str, Any]]:
    """Statements of the policies attached to roles whose logical id contains the fragment."""
    out = []
    for res in synth.template["Resources"].values():
        if res["Type"] != "AWS::IAM::Policy":
            continue
        roles = json.dumps(res["Properties"].get("Roles", []))
        if role_fragment in roles:
            out.extend(res["Properties"]["PolicyDocument"]["Statement"])
    return out


# storage -------------------------------------------------------------------------------------
def test_every_bucket_is_encrypted_private_and_tls_only(synth: Synth) -> None:
    buckets = synth.resources("AWS::S3::Bucket")
    assert len(buckets) == 4  # raw, curated, athena results, access logs
    for b in buckets:
        assert b["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert b["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert b["LifecycleConfiguration"]["Rules"]
    policies = synth.resources("AWS::S3::BucketPolicy")
    tls_denied = [
        p
        for p in policies
        if any(
            s["Effect"] == "Deny"
            and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in p["PolicyDocument"]["Statement"]
        )
    ]
    assert len(tls_denied) == 4
    logged = [b for b in buckets if "LoggingConfiguration" in b]
    assert len(logged) == 3  # all but the access-log bucket itself


def test_data_buckets_use_the_customer_managed_key_and_raw_is_versioned(synth: Synth) -> None:
    kms_buckets = [
        b
        for b in synth.resources("AWS::S3::Bucket")
        if b["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]["SSEAlgorithm"]
        == "aws:kms"
    ]
    assert len(kms_buckets) == 3
    versioned = [b for b in kms_buckets if b.get("VersioningConfiguration")]
    assert len(versioned) == 1
    rules = {r.get("Prefix"): r for r in versioned[0]["LifecycleConfiguration"]["Rules"]}
    assert "landing/" in rules and "raw/" in rules
    assert all(k["EnableKeyRotation"] for k in synth.resources("AWS::KMS::Key"))


def test_iceberg_tables_are_made_by_the_lake_writers_not_the_stack(synth: Synth) -> None:
    """The default table format: an empty Glue database; the first writer creates the Iceberg
    tables (pyiceberg, with meterwatch's partition spec and sort order) and every writer moves
    their metadata location forward. Read-only roles may not change the catalogue."""
    assert synth.resources("AWS::Glue::Table") == []
    assert len(synth.resources("AWS::Glue::Database")) == 1
    lake_functions = [
        fn["Environment"]["Variables"]
        for fn in synth.resources("AWS::Lambda::Function")
        if "METERWATCH_LAKE" in fn.get("Environment", {}).get("Variables", {})
    ]
    assert len(lake_functions) >= 4
    assert all(env["METERWATCH_S3_TABLE_FORMAT"] == "iceberg" for env in lake_functions)
    writers = ("IngestionFunction", "ScoringFunction", "TrainingRegister")
    for fragment in writers:
        actions = {a for s in role_statements(synth, fragment) for a in as_list(s["Action"])}
        assert {"glue:CreateTable", "glue:UpdateTable"} <= actions, fragment
        assert "glue:DeleteTable" not in actions
    for fragment in ("TrainingPlan", "TrainingJobRole"):
        actions = {a for s in role_statements(synth, fragment) for a in as_list(s["Action"])}
        assert not {"glue:CreateTable", "glue:UpdateTable"} & actions, fragment
    creates = [s for s in statements(synth) if "glue:CreateTable" in as_list(s["Action"])]
    for s in creates:  # the meterwatch database's tables only
        assert "table/" in json.dumps(s["Resource"]) and '"*"' not in json.dumps(s["Resource"])


def test_snapshot_log_deployments_keep_one_hive_table_per_lake_table(
    snapshot_log_synth: Synth,
) -> None:
    synth = snapshot_log_synth
    glue_tables = {
        t["TableInput"]["Name"]: t["TableInput"] for t in synth.resources("AWS::Glue::Table")
    }
    assert set(glue_tables) == set(tables.TABLES)
    readings = glue_tables["readings"]
    assert [k["Name"] for k in readings["PartitionKeys"]] == ["client_id"]
    cols = [c["Name"] for c in readings["StorageDescriptor"]["Columns"]]
    assert cols == [c for c in tables.READINGS.columns if c != "client_id"]
    assert "SymlinkTextInputFormat" in readings["StorageDescriptor"]["InputFormat"]
    assert "/lake/_athena/readings/" in json.dumps(readings["StorageDescriptor"]["Location"])


def test_athena_workgroup_enforces_result_location_encryption_and_scan_limit(synth: Synth) -> None:
    (wg,) = synth.resources("AWS::Athena::WorkGroup")
    conf = wg["WorkGroupConfiguration"]
    assert conf["EnforceWorkGroupConfiguration"] is True
    assert conf["BytesScannedCutoffPerQuery"] == SCAN_LIMIT
    assert conf["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    assert "athena/" in json.dumps(conf["ResultConfiguration"]["OutputLocation"])
    assert len(synth.resources("AWS::Athena::NamedQuery")) >= 3


# ingestion -------------------------------------------------------------------------------------
def test_landing_files_reach_the_ingest_function_through_a_queue_with_a_dlq(synth: Synth) -> None:
    (notif,) = synth.resources("Custom::S3BucketNotifications")
    (queue_conf,) = notif["NotificationConfiguration"]["QueueConfigurations"]
    rules = queue_conf["Filter"]["Key"]["FilterRules"]
    assert {"Name": "prefix", "Value": "landing/"} in rules
    redriven = [q for q in synth.resources("AWS::SQS::Queue") if "RedrivePolicy" in q]
    assert len(redriven) == 1 and redriven[0]["RedrivePolicy"]["maxReceiveCount"] == 5
    assert all(q.get("SqsManagedSseEnabled") for q in synth.resources("AWS::SQS::Queue"))
    for policy in synth.resources("AWS::SQS::QueuePolicy"):
        assert any(s["Effect"] == "Deny" for s in policy["PolicyDocument"]["Statement"])
    fn = synth.find("AWS::Lambda::Function", "lambdas.ingest_handler.handler")
    assert fn["PackageType"] == "Image"
    (mapping,) = synth.resources("AWS::Lambda::EventSourceMapping")
    assert mapping["BatchSize"] == 10
    assert mapping["ScalingConfig"]["MaximumConcurrency"] == 2  # few writers, no throttling
    assert "ReservedConcurrentExecutions" not in fn


# scoring and alerts ------------------------------------------------------------------------------------
def test_scoring_runs_daily_with_retries_and_a_dead_letter_queue(synth: Synth) -> None:
    fn = synth.find("AWS::Lambda::Function", "lambdas.score_handler.handler")
    scoring = _scoring_machine(synth)
    definition = scoring["DefinitionString"]
    text = json.dumps(definition)
    # plan into an S3 manifest, then one shard at a time (no commit races), failed shards retried
    assert '\\"MaxConcurrency\\":1' in text.replace(" ", "")
    assert "ItemReader" in text and "States.TaskFailed" in text
    assert "TargetArn" in fn["DeadLetterConfig"]
    env = fn["Environment"]["Variables"]
    assert {"METERWATCH_LAKE", "METERWATCH_ALERT_TOPIC_ARN", "METERWATCH_DASHBOARD_URL"} <= set(env)
    rule = synth.find("AWS::Events::Rule", "daily scoring")
    assert rule["ScheduleExpression"] == context()["meterwatch"]["scoring_schedule"]
    assert "ScoringStateMachine" in json.dumps(rule["Targets"])  # the schedule starts it
    assert env["METERWATCH_SCORING_SHARD_SIZE"] == str(
        context()["meterwatch"]["scoring_shard_size"]
    )
    # a first score walks each customer's history (~6 MB a customer): bounded per invocation
    assert env["METERWATCH_HISTORY_MAX_CUSTOMERS"] == str(
        context()["meterwatch"].get("scoring_history_customers", 300)
    )
    actions = {
        a
        for s in role_statements(synth, "ScoringFunctionServiceRole")
        for a in as_list(s["Action"])
    }
    assert {"athena:StartQueryExecution", "sns:Publish", "s3:PutObject"} <= actions
    assert "s3:DeleteBucket" not in actions
    (invoke,) = synth.resources("AWS::Lambda::EventInvokeConfig")
    assert invoke["MaximumRetryAttempts"] == 2


def _scoring_machine(synth: Synth) -> dict[str, Any]:
    machines = [
        m
        for m in synth.resources("AWS::StepFunctions::StateMachine")
        if "ScoreShard" in json.dumps(m["DefinitionString"])
    ]
    assert len(machines) == 1
    return machines[0]


def test_alert_topic_is_encrypted_tls_only_and_subscribes_the_configured_emails(
    synth: Synth,
) -> None:
    topics = {t["DisplayName"]: t for t in synth.resources("AWS::SNS::Topic")}
    assert set(topics) == {"meterwatch", "meterwatch operations"}
    assert all("KmsMasterKeyId" in t for t in topics.values())
    subscribed = sorted(s["Endpoint"] for s in synth.resources("AWS::SNS::Subscription"))
    assert subscribed == sorted(ALERT_EMAILS + OPS_EMAILS)
    policies = synth.resources("AWS::SNS::TopicPolicy")
    assert len(policies) == 2
    for policy in policies:
        assert any(
            s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s)
            for s in policy["PolicyDocument"]["Statement"]
        )


def test_dead_letters_errors_and_failed_training_raise_alarms_on_the_operations_topic(
    synth: Synth,
) -> None:
    resources = synth.template["Resources"]
    ops_topic = next(
        k
        for k, r in resources.items()
        if r["Type"] == "AWS::SNS::Topic"
        and r["Properties"]["DisplayName"] == "meterwatch operations"
    )
    alarms = synth.resources("AWS::CloudWatch::Alarm")
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for alarm in alarms:
        # every alarm notifies the operations topic, not the operators' alert topic
        assert alarm["AlarmActions"] == [{"Ref": ops_topic}]
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        by_metric.setdefault(alarm["MetricName"], []).append(alarm)
    queues = {json.dumps(a["Dimensions"]) for a in by_metric["ApproximateNumberOfMessagesVisible"]}
    # one alarm per dead-letter queue (ingestion and scoring), each on its own queue
    assert len(queues) == 2
    dlq_ids = {
        k for k, r in resources.items() if r["Type"] == "AWS::SQS::Queue" and "DeadLetters" in k
    }
    assert {next(iter(dlq_ids & set(q.split('"')))) for q in queues} == dlq_ids
    assert len(by_metric["Errors"]) == 2  # ingest and scoring functions
    assert len(by_metric["ExecutionsFailed"]) == 2  # training and scoring
    # CloudWatch may use the topic's key
    keys = [
        r["Properties"]["KeyPolicy"]
        for r in resources.values()
        if r["Type"] == "AWS::KMS::Key"
        and "cloudwatch.amazonaws.com" in json.dumps(r["Properties"]["KeyPolicy"])
    ]
    assert len(keys) == 1


# training ------------------------------------------------------------------------------------------
def test_training_runs_sagemaker_shards_in_parallel_on_a_schedule(synth: Synth) -> None:
    (sm,) = [
        m
        for m in synth.resources("AWS::StepFunctions::StateMachine")
        if "TrainShard" in json.dumps(m["DefinitionString"])
    ]
    definition = json.dumps(sm["DefinitionString"])
    assert "sagemaker:createTrainingJob.sync" in definition
    assert f'\\"MaxConcurrency\\":{context()["meterwatch"]["training_max_parallel"]}' in definition
    assert sm["TracingConfiguration"]["Enabled"] is True
    assert sm["LoggingConfiguration"]["Level"] == "ALL"
    rule = synth.find("AWS::Events::Rule", "scheduled retraining")
    assert rule["ScheduleExpression"] == context()["meterwatch"]["training_schedule"]
    # Training jobs only read the lake: no write or delete on it.
    job = role_statements(synth, "TrainingJobRole")
    lake_writes = [
        s
        for s in job
        if set(as_list(s["Action"])) & {"s3:PutObject", "s3:DeleteObject"}
        and "/lake/" in json.dumps(s["Resource"])
    ]
    assert lake_writes == []
    # after each job, in the map, its shard is staged; the register step reads staged rows
    assert definition.index("TrainShard") < definition.index("StageShard")
    assert "staged" in definition and "artifacts" not in definition
    # the stage step stores model objects only: no table of the lake, no delete
    stage = role_statements(synth, "TrainingStageServiceRole")
    writes = [
        s
        for s in stage
        if set(as_list(s["Action"])) & {"s3:PutObject", "s3:DeleteObject"}
        and "/lake/" in json.dumps(s["Resource"])
    ]
    assert writes and all("/lake/objects/models/" in json.dumps(s["Resource"]) for s in writes)
    assert not any("s3:DeleteObject" in as_list(s["Action"]) for s in writes)


# dashboard -----------------------------------------------------------------------------------------
def test_dashboard_writes_only_feedback_and_gets_its_secret_from_secrets_manager(
    synth: Synth,
) -> None:
    (svc,) = synth.resources("AWS::AppRunner::Service")
    image = svc["SourceConfiguration"]["ImageRepository"]
    secrets = {
        s["Name"]: s["Value"] for s in image["ImageConfiguration"]["RuntimeEnvironmentSecrets"]
    }
    assert set(secrets) == {"METERWATCH_DASHBOARD_COOKIE_SECRET"}
    assert all("Ref" in v for v in secrets.values())  # the secrets' ARNs, never their values
    env = {
        e["Name"]: e["Value"] for e in image["ImageConfiguration"]["RuntimeEnvironmentVariables"]
    }
    assert "METERWATCH_LAKE" in env
    assert "Ref" in env["METERWATCH_DASHBOARD_SECRET"]  # the accounts secret's ARN
    assert not any("PASSWORD" in name for name in env)
    # no wildcard over App Runner's domain: the server accepts its page's own origin only
    assert "*" not in json.dumps(env.get("METERWATCH_DASHBOARD_URL", ""))
    assert "awsapprunner.com" not in json.dumps(env)
    stmts = role_statements(synth, "DashboardInstanceRole")
    writes = [s for s in stmts if set(as_list(s["Action"])) & {"s3:PutObject", "s3:DeleteObject"}]
    written = json.dumps([s["Resource"] for s in writes])
    assert "/lake/curated/feedback/*" in written
    for other in ("readings", "alerts", "scores", "models"):
        assert f"curated/{other}" not in written
    assert '"/lake/*"' not in written
    assert not any("s3:DeleteObject" in as_list(s["Action"]) for s in stmts)
    actions = {a for s in stmts for a in as_list(s["Action"])}
    assert {"athena:StartQueryExecution", "glue:GetTable"} <= actions
    # of the catalogue, the dashboard moves the feedback table's metadata location only
    updates = [s for s in stmts if "glue:UpdateTable" in as_list(s["Action"])]
    assert updates and "glue:CreateTable" not in actions
    tables_updated = [
        r for s in updates for r in as_list(s["Resource"]) if "table/" in json.dumps(r)
    ]
    assert tables_updated and all("/feedback" in json.dumps(r) for r in tables_updated)


def test_dashboard_commit_records_are_create_only(synth: Synth) -> None:
    """On Iceberg the dashboard writes its own table's files and the next commit record; the
    record, the commit point every reader trusts, needs If-None-Match (IAM enforces it)."""
    stmts = role_statements(synth, "DashboardInstanceRole")
    puts = [
        s
        for s in stmts
        if "s3:PutObject" in as_list(s["Action"]) and "/lake/" in json.dumps(s["Resource"])
    ]
    prefixes = {json.dumps(s["Resource"]): s for s in puts}
    (commits,) = [s for r, s in prefixes.items() if "/lake/_meta/commits/*" in r]
    assert commits.get("Condition") == {"Null": {"s3:if-none-match": "false"}}
    others = [r for r in prefixes if "_meta/commits" not in r]
    assert others and all("/lake/curated/feedback/*" in r for r in others)


def test_dashboard_puts_are_create_only_except_two_exact_keys(snapshot_log_synth: Synth) -> None:
    synth = snapshot_log_synth
    """Every wildcard PutObject of the dashboard needs If-None-Match (IAM enforces it);
    the only unconditioned ones are the CURRENT hint and the feedback manifest, by exact key."""
    stmts = role_statements(synth, "DashboardInstanceRole")
    puts = [
        s
        for s in stmts
        if "s3:PutObject" in as_list(s["Action"]) and "/lake/" in json.dumps(s["Resource"])
    ]
    assert puts
    exact = []
    for s in puts:
        resources = json.dumps(s["Resource"])
        if "*" in resources:
            assert s.get("Condition") == {"Null": {"s3:if-none-match": "false"}}, s
        else:
            exact.extend(json.dumps(r) for r in as_list(s["Resource"]))
    assert len(exact) == 2
    assert any("/lake/_meta/CURRENT" in r for r in exact)
    assert any("/lake/_athena/feedback/manifest" in r for r in exact)
    snapshots = [s for s in puts if "_meta/snapshots/" in json.dumps(s["Resource"])]
    assert snapshots and all("Condition" in s for s in snapshots)


def test_the_dashboard_is_behind_waf_with_a_rate_limit(synth: Synth) -> None:
    (acl,) = synth.resources("AWS::WAFv2::WebACL")
    assert acl["Scope"] == "REGIONAL"
    assert acl["DefaultAction"] == {"Allow": {}}
    rules = {r["Name"]: r for r in acl["Rules"]}
    rate = rules["RatePerClient"]["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP" and rate["Limit"] <= 2000
    assert rules["RatePerClient"]["Action"] == {"Block": {}}
    managed = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in acl["Rules"]
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert "AWSManagedRulesCommonRuleSet" in managed
    (assoc,) = synth.resources("AWS::WAFv2::WebACLAssociation")
    assert "ServiceArn" in json.dumps(assoc["ResourceArn"])
    assert "Arn" in json.dumps(assoc["WebACLArn"])


def test_nag_acknowledgements_of_dashboard_writes_name_the_enforced_condition(
    synth: Synth, snapshot_log_synth: Synth
) -> None:
    """The reasons a reviewer reads say which IAM condition makes the write create-only."""
    reasons = " ".join(p.read_text() for p in synth.outdir.glob("*.metadata.json")).lower()
    assert reasons.count("iam condition s3:if-none-match") >= 1
    old = " ".join(p.read_text() for p in snapshot_log_synth.outdir.glob("*.metadata.json"))
    assert (
        "the next snapshot (create-only, if-none-match)" not in old.lower()
    )  # the old claim IAM did not enforce
    assert old.lower().count("iam condition s3:if-none-match") >= 2


# IAM and nag -------------------------------------------------------------------------------------------
def test_no_statement_grants_all_actions_of_a_service(synth: Synth) -> None:
    for s in statements(synth):
        for action in as_list(s["Action"]):
            assert action != "*" and not action.endswith(":*"), s


def test_cdk_nag_aws_solutions_has_no_unacknowledged_findings(synth: Synth) -> None:
    violations = [
        (v["ruleName"], c["constructPath"])
        for p in synth.report.get("pluginReports", [])
        for v in p["violations"]
        for c in v["violatingConstructs"]
    ]
    assert violations == []


def test_cdk_nag_is_wired_in_and_catches_an_unencrypted_bucket(tmp_path: Any) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3

    from infra.app import build_app

    app = cdk.App(outdir=str(tmp_path), context=context())
    _, stack = build_app(app)
    s3.Bucket(stack, "Careless")
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    assert "AwsSolutions-S10" in rules


def test_configuration_rejects_unknown_keys() -> None:
    from infra.config import DeploymentConfig

    with pytest.raises(ValueError, match="unknown meterwatch context keys"):
        DeploymentConfig.from_context({"alert_email": "typo@example.pe"})


@pytest.mark.slow
@pytest.mark.skipif(
    not (ROOT / "node_modules" / ".bin" / "cdk").exists() or shutil.which("node") is None,
    reason="the npm CDK CLI is not installed (npm install)",
)
def test_npx_cdk_synth_works_offline(tmp_path: Any) -> None:
    # No AWS settings at all (the moto tests leave some in the environment): synth must not
    # need an account, credentials or the network.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20", CDK_DISABLE_VERSION_CHECK="1")
    done = subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "--quiet", "--no-notices", "-o", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    assert (tmp_path / "meterwatch.template.json").exists()


def test_only_the_ingest_function_writes_raw_files_and_nobody_deletes_them(synth: Synth) -> None:
    writers = set()
    for res in synth.template["Resources"].values():
        if res["Type"] != "AWS::IAM::Policy":
            continue
        for s in res["Properties"]["PolicyDocument"]["Statement"]:
            actions = set(as_list(s["Action"]))
            if "/raw/*" in json.dumps(s["Resource"]):
                assert not any(a.startswith("s3:Delete") for a in actions), s
                if actions & {"s3:PutObject", "s3:PutObject*"}:
                    writers.add(json.dumps(res["Properties"]["Roles"]))
    assert len(writers) == 1 and "IngestionFunction" in writers.pop()


def test_every_function_is_a_traced_container_with_logs_kept_a_year(synth: Synth) -> None:
    functions = synth.resources("AWS::Lambda::Function")
    ours = [f for f in functions if f.get("PackageType") == "Image"]
    assert len(ours) == 5  # ingest, score, training plan, stage and register
    for f in ours:
        assert f["TracingConfig"]["Mode"] == "Active"
        assert "LogGroup" in f["LoggingConfig"]
    retention = [g.get("RetentionInDays") for g in synth.resources("AWS::Logs::LogGroup")]
    assert len(retention) >= 5 and set(retention) == {365}


def test_training_shards_come_from_an_s3_manifest_and_scoring_from_a_schedule(
    synth: Synth,
) -> None:
    """Issue 13: no customer list in the state payload, no scoring run per ingest batch."""
    machines = synth.resources("AWS::StepFunctions::StateMachine")
    assert len(machines) == 2  # training and scoring
    for sm in machines:
        definition = json.dumps(sm["DefinitionString"])
        assert "DISTRIBUTED" in definition
        assert "ItemReader" in definition and "s3:getObject" in definition  # the plan's manifest
        assert "plan.shards" not in definition
    ingest = synth.find("AWS::Lambda::Function", "lambdas.ingest_handler.handler")
    assert "METERWATCH_SCORE_FUNCTION" not in json.dumps(ingest)
    for s in role_statements(synth, "IngestionFunction"):
        assert "lambda:InvokeFunction" not in as_list(s["Action"])
    rule = synth.find("AWS::Events::Rule", "daily scoring")
    assert rule["ScheduleExpression"] == context()["meterwatch"]["scoring_schedule"]
