"""The dashboard's users document in AWS Secrets Manager (instead of a local file)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class UsersSecret:
    """The users document as an AWS Secrets Manager secret (name or ARN)."""

    secret_id: str
    remote: ClassVar[bool] = True

    def _client(self) -> Any:
        import boto3  # only when a secret is configured

        return boto3.client("secretsmanager")

    def read(self) -> str:
        return str(self._client().get_secret_value(SecretId=self.secret_id)["SecretString"])

    def write(self, text: str) -> None:
        self._client().put_secret_value(SecretId=self.secret_id, SecretString=text)

    def describe(self) -> str:
        return f"secret {self.secret_id}"
