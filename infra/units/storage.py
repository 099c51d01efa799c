"""Storage: raw, curated and Athena-results buckets, the Glue catalogue, the Athena workgroup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.units.nag import acknowledge, acknowledge_kms_grant, arn_ref
from meterwatch import tables
from meterwatch.storage.s3 import glue_table_input, to_athena

LANDING_PREFIX = "landing/"
RAW_PREFIX = "raw/"
LAKE_PREFIX = "lake"


@dataclass(frozen=True)
class StorageProps:
    database_name: str
    raw_retention_days: int
    athena_results_days: int
    access_logs_days: int
    athena_bytes_scanned_limit: int
    named_queries: dict[str, str]
    table_format: str = "iceberg"


class Storage(Construct):
    """The lake's buckets, its Glue tables (one per :mod:`meterwatch.tables` entry) and Athena.

    Raw files land under ``landing/`` of the raw bucket and are kept verbatim under
    ``raw/sha256=<hash>/`` (versioned: an overwrite or delete can be undone). The curated
    lake lives under ``lake/`` of the curated bucket.
    """

    def __init__(self, scope: Construct, id: str, *, props: StorageProps) -> None:
        super().__init__(scope, id)
        self.key = kms.Key(
            self,
            "DataKey",
            enable_key_rotation=True,
            description="meterwatch: meter readings, models, alerts at rest",
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # the log delivery service needs SSE-S3
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(expiration=cdk.Duration.days(props.access_logs_days))
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.access_logs,
            {
                "AwsSolutions-S1": "This is the access-log bucket; logging it into itself would "
                "loop. CloudTrail data events can audit it where required."
            },
        )
        self.raw = self._bucket(
            "Raw",
            "raw/",
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="landing-expires",
                    prefix=LANDING_PREFIX,
                    expiration=cdk.Duration.days(30),
                ),
                s3.LifecycleRule(
                    id="raw-to-infrequent-access",
                    prefix=RAW_PREFIX,
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=cdk.Duration.days(90),
                        )
                    ],
                    expiration=cdk.Duration.days(props.raw_retention_days),
                ),
                s3.LifecycleRule(
                    id="old-versions",
                    noncurrent_version_expiration=cdk.Duration.days(90),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                ),
            ],
        )
        self.curated = self._bucket(
            "Curated",
            "curated/",
            versioned=False,  # the snapshot log is the history; files are immutable
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="abort-uploads", abort_incomplete_multipart_upload_after=cdk.Duration.days(7)
                ),
                s3.LifecycleRule(
                    id="training-output",
                    prefix="training/",
                    expiration=cdk.Duration.days(90),
                ),
            ],
        )
        self.results = self._bucket(
            "AthenaResults",
            "athena-results/",
            versioned=False,
            lifecycle_rules=[
                s3.LifecycleRule(expiration=cdk.Duration.days(props.athena_results_days))
            ],
        )
        self.lake_uri = f"s3://{self.curated.bucket_name}/{LAKE_PREFIX}"
        self.raw_uri = f"s3://{self.raw.bucket_name}"

        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=cdk.Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=props.database_name,
                description="meterwatch lake: one table per meterwatch.tables entry",
            ),
        )
        self.database_name = self.database.ref
        self.table_format = props.table_format
        # Iceberg tables are created by the lake's first writer (pyiceberg's Glue catalog, with
        # the partition spec and sort order of meterwatch.storage.iceberg_tables); the retired
        # snapshot-log format reads Hive tables over symlink manifests, defined here.
        self.tables: dict[str, glue.CfnTable] = {}
        for name, spec in () if self.iceberg else tables.TABLES.items():
            table = glue.CfnTable(
                self,
                f"Table-{name}",
                catalog_id=cdk.Aws.ACCOUNT_ID,
                database_name=self.database_name,
                table_input=_table_input(glue_table_input(spec, self.lake_uri)),
            )
            self.tables[name] = table

        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=f"{cdk.Aws.STACK_NAME}-meterwatch",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                bytes_scanned_cutoff_per_query=props.athena_bytes_scanned_limit,
                publish_cloud_watch_metrics_enabled=True,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.results.bucket_name}/athena/",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=self.key.key_arn
                    ),
                    expected_bucket_owner=cdk.Aws.ACCOUNT_ID,
                ),
            ),
        )
        self.workgroup_name = self.workgroup.ref
        for name, sql in props.named_queries.items():
            athena_sql, params = to_athena(sql)
            if params:
                raise ValueError(f"named query {name!r} must not take parameters")
            q = athena.CfnNamedQuery(
                self,
                f"Query-{name}",
                name=name,
                database=self.database_name,
                work_group=self.workgroup_name,
                query_string=athena_sql,
            )
            q.node.add_dependency(self.workgroup)

    def _bucket(
        self,
        id: str,
        log_prefix: str,
        *,
        versioned: bool,
        lifecycle_rules: list[s3.LifecycleRule],
    ) -> s3.Bucket:
        return s3.Bucket(
            self,
            id,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=versioned,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=log_prefix,
            lifecycle_rules=lifecycle_rules,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    @property
    def iceberg(self) -> bool:
        """Whether the lake's tables are Iceberg tables in Glue (the default)."""
        return self.table_format == "iceberg"

    # grants ---------------------------------------------------------------------------------
    def _allow(
        self, grantee: iam.IGrantable, actions: list[str], bucket: s3.IBucket, prefix: str, why: str
    ) -> None:
        """Object-level actions under one prefix, acknowledged with the reason given."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=actions, resources=[bucket.arn_for_objects(f"{prefix}*")])
        )
        if isinstance(grantee, Construct):
            acknowledge(grantee, {f"AwsSolutions-IAM5[Resource::{arn_ref(bucket)}/{prefix}*]": why})

    def _list(self, grantee: iam.IGrantable, bucket: s3.IBucket, prefixes: list[str]) -> None:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
            )
        )

    def grant_lake_read(self, grantee: iam.IGrantable) -> None:
        """Read the curated lake (snapshots, tables, objects)."""
        self._allow(
            grantee,
            ["s3:GetObject"],
            self.curated,
            f"{LAKE_PREFIX}/",
            "Read-only on the lake prefix: data files are named per commit (uuid), so no "
            "narrower fixed ARN exists.",
        )
        self._list(grantee, self.curated, [f"{LAKE_PREFIX}/"])
        self.key.grant_decrypt(grantee)

    def grant_lake_write(self, grantee: iam.IGrantable) -> None:
        """Commit transactions to the curated lake and register partitions."""
        self.grant_lake_read(grantee)
        self._allow(
            grantee,
            ["s3:PutObject", "s3:DeleteObject"],
            self.curated,
            f"{LAKE_PREFIX}/",
            "A lake writer adds files named per commit and deletes files no snapshot "
            "references any more; limited to the lake prefix of one bucket.",
        )
        self.key.grant_encrypt_decrypt(grantee)
        acknowledge_kms_grant(grantee)
        self.grant_catalog_write(grantee)

    def grant_models_write(self, grantee: iam.IGrantable) -> None:
        """Store model objects (``objects/models/``, keyed by model version) and read the lake
        they are trained on; no table write, no delete."""
        self.grant_lake_read(grantee)
        self._allow(
            grantee,
            ["s3:PutObject"],
            self.curated,
            f"{LAKE_PREFIX}/objects/models/",
            "Model objects are keyed by customer and model version under objects/models/; no "
            "table, no delete: the register step alone commits the models table.",
        )
        self.key.grant_encrypt_decrypt(grantee)
        acknowledge_kms_grant(grantee)

    def grant_raw_write(self, grantee: iam.IGrantable) -> None:
        """Keep input files verbatim under ``raw/`` (content-addressed, never deleted)."""
        self._allow(
            grantee,
            ["s3:GetObject", "s3:PutObject"],
            self.raw,
            RAW_PREFIX,
            "Raw files are kept under raw/sha256=<hash>/<name>, one key per input file; no "
            "delete is granted and the bucket is versioned.",
        )
        self._list(grantee, self.raw, [RAW_PREFIX])
        self.key.grant_encrypt_decrypt(grantee)
        acknowledge_kms_grant(grantee)

    def grant_landing_read(self, grantee: iam.IGrantable) -> None:
        """Read files dropped under ``landing/``."""
        self._allow(
            grantee,
            ["s3:GetObject"],
            self.raw,
            LANDING_PREFIX,
            "Read-only on the landing prefix: any file a user uploads there is an input.",
        )
        self.key.grant_decrypt(grantee)

    def grant_feedback_write(self, grantee: iam.IGrantable) -> None:
        """Append inspection feedback, and nothing else of the lake.

        On Iceberg: the feedback table's own files (data and metadata under
        ``curated/feedback/``, written by pyarrow without conditional headers), the next commit
        record create-only (``If-None-Match: *``, condition key ``s3:if-none-match``: no
        committed record can be overwritten) and ``glue:UpdateTable`` of the feedback table
        alone (its ``metadata_location`` moves forward for Athena). No delete: the files a
        feedback commit leaves unreferenced are collected by the next writer that may.
        """
        if self.iceberg:
            self._allow(
                grantee,
                ["s3:PutObject"],
                self.curated,
                f"{LAKE_PREFIX}/curated/feedback/",
                "The feedback table's own data and metadata files (uuid-named); no other "
                "table, no delete.",
            )
            self._allow_create_only(
                grantee,
                f"{LAKE_PREFIX}/_meta/commits/",
                "The next commit record; IAM condition s3:if-none-match present "
                "(If-None-Match: *), so no committed record can be overwritten.",
            )
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["glue:UpdateTable"], resources=self._catalog_arns("feedback")
                )
            )
            self.key.grant_encrypt_decrypt(grantee)
            acknowledge_kms_grant(grantee)
            return
        self._grant_feedback_snapshot_log(grantee)

    def _grant_feedback_snapshot_log(self, grantee: iam.IGrantable) -> None:
        """Append inspection feedback: new feedback files and the next snapshot, create-only.

        Create-only is enforced by IAM: ``s3:PutObject`` under those prefixes is allowed only
        with the ``If-None-Match: *`` header (condition key ``s3:if-none-match``), so an
        existing feedback file or snapshot cannot be overwritten. The two objects a commit
        rewrites are granted by exact key: the ``CURRENT`` hint (readers never trust it past
        the snapshots that exist) and the feedback table's Athena manifest.
        """
        for prefix, why in (
            (
                f"{LAKE_PREFIX}/curated/feedback/",
                "New feedback files (uuid-named); IAM condition s3:if-none-match present "
                "(If-None-Match: *), so existing feedback cannot be overwritten.",
            ),
            (
                f"{LAKE_PREFIX}/_meta/snapshots/",
                "The next snapshot of the commit log; IAM condition s3:if-none-match present "
                "(If-None-Match: *), so no committed snapshot can be overwritten.",
            ),
        ):
            self._allow_create_only(grantee, prefix, why)
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[
                    self.curated.arn_for_objects(f"{LAKE_PREFIX}/_meta/CURRENT"),
                    self.curated.arn_for_objects(f"{LAKE_PREFIX}/_athena/feedback/manifest"),
                ],
            )
        )
        self.key.grant_encrypt_decrypt(grantee)
        acknowledge_kms_grant(grantee)

    def _allow_create_only(self, grantee: iam.IGrantable, prefix: str, why: str) -> None:
        """``s3:PutObject`` under one prefix of the curated bucket, only with the
        ``If-None-Match: *`` header (IAM condition key ``s3:if-none-match``): nothing there can
        be overwritten. Acknowledged with the reason given."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[self.curated.arn_for_objects(f"{prefix}*")],
                conditions={"Null": {"s3:if-none-match": "false"}},
            )
        )
        if isinstance(grantee, Construct):
            acknowledge(
                grantee, {f"AwsSolutions-IAM5[Resource::{arn_ref(self.curated)}/{prefix}*]": why}
            )

    def grant_catalog_read(self, grantee: iam.IGrantable) -> None:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                ],
                resources=self._catalog_arns(),
            )
        )
        if isinstance(grantee, Construct):
            acknowledge(
                grantee,
                {
                    f"AwsSolutions-IAM5[Resource::{self._tables_arn_pattern()}]": "The tables of "
                    "the meterwatch database only (one per lake table, all needed for queries)."
                },
            )

    def grant_catalog_write(self, grantee: iam.IGrantable) -> None:
        """Iceberg: create the lake's tables (the first writer) and move their metadata
        location forward after each commit. Snapshot log: register new partitions."""
        self.grant_catalog_read(grantee)
        actions = (
            ["glue:CreateTable", "glue:UpdateTable"]
            if self.iceberg
            else ["glue:BatchCreatePartition", "glue:CreatePartition"]
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=actions, resources=self._catalog_arns())
        )

    def _tables_arn_pattern(self) -> str:
        return (
            "arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/"
            f"{arn_ref(self.database, '')}/*"
        )

    def _catalog_arns(self, table: str = "*") -> list[str]:
        """The catalogue, the meterwatch database and its ``table`` (every table: ``*``)."""
        stack = cdk.Stack.of(self)
        return [
            stack.format_arn(service="glue", resource="catalog"),
            stack.format_arn(service="glue", resource="database", resource_name=self.database_name),
            stack.format_arn(
                service="glue", resource="table", resource_name=f"{self.database_name}/{table}"
            ),
        ]

    def grant_query(self, grantee: iam.IGrantable) -> None:
        """Run Athena queries in the workgroup over the lake."""
        stack = cdk.Stack.of(self)
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:StopQueryExecution",
                    "athena:GetWorkGroup",
                ],
                resources=[
                    stack.format_arn(
                        service="athena", resource="workgroup", resource_name=self.workgroup_name
                    )
                ],
            )
        )
        self.grant_catalog_read(grantee)
        self.grant_lake_read(grantee)
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation"], resources=[self.results.bucket_arn]
            )
        )
        self._allow(
            grantee,
            ["s3:GetObject", "s3:PutObject"],
            self.results,
            "athena/",
            "Athena writes and the caller reads query results under the workgroup's enforced "
            "output prefix (expiring after the configured days).",
        )
        self._list(grantee, self.results, ["athena/"])
        self.key.grant_encrypt_decrypt(grantee)
        acknowledge_kms_grant(grantee)


def _table_input(doc: dict[str, Any]) -> glue.CfnTable.TableInputProperty:
    sd = doc["StorageDescriptor"]

    def columns(items: list[dict[str, str]]) -> list[glue.CfnTable.ColumnProperty]:
        return [glue.CfnTable.ColumnProperty(name=c["Name"], type=c["Type"]) for c in items]

    return glue.CfnTable.TableInputProperty(
        name=doc["Name"],
        description=doc["Description"],
        table_type=doc["TableType"],
        parameters=doc["Parameters"],
        partition_keys=columns(doc["PartitionKeys"]),
        storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
            columns=columns(sd["Columns"]),
            location=sd["Location"],
            input_format=sd["InputFormat"],
            output_format=sd["OutputFormat"],
            serde_info=glue.CfnTable.SerdeInfoProperty(
                serialization_library=sd["SerdeInfo"]["SerializationLibrary"]
            ),
        ),
    )
