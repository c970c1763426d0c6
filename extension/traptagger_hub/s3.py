"""Organisation stores on S3: one prefix per organisation, and logins that reach only it.

Each organisation's blobs live under ``s3://bucket/<root>/<slug>/``. Provisioning
makes two IAM users for it, each with an inline policy limited to that prefix:
the member login may read, write and delete there; the annotator login may
only read. AWS (or any S3 that enforces IAM) then refuses either login every
other organisation's keys, whatever code runs in the user's kernel.

The access keys go to the user's server as fsspec options
(``TRAPTAGGER_STORAGE_OPTIONS``); the hub's own AWS identity, which creates the
users, never reaches a user's server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from traptagger_lab.errors import ConfigurationError

#: Actions each role gets on its organisation's keys.
ROLE_ACTIONS = {
    "member": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
    "annotator": ["s3:GetObject"],
}


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> (``bucket``, ``a/b``)."""
    if not url.startswith("s3://"):
        raise ConfigurationError(f"not an s3:// URL: {url!r}")
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise ConfigurationError(f"no bucket in {url!r}")
    return bucket, prefix.strip("/")


def prefix_policy(bucket: str, prefix: str, actions: list[str]) -> dict[str, Any]:
    """An IAM policy allowing ``actions`` on keys under ``prefix/`` and listing that prefix only."""
    keys = f"arn:aws:s3:::{bucket}/{prefix}/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Objects", "Effect": "Allow", "Action": actions, "Resource": [keys]},
            {
                "Sid": "List",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}"],
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*", prefix]}},
            },
        ],
    }


@dataclass(frozen=True)
class PrefixLogins:
    """An organisation's S3 store and the fsspec options of each role's login."""

    storage_url: str
    member_options: dict[str, Any]
    annotator_options: dict[str, Any]


class S3Stores:
    """Creates and removes organisations' prefixes and their IAM users.

    ``root`` is ``s3://bucket/prefix``; ``endpoint_url`` points at a
    non-AWS S3 (MinIO, moto) whose IAM endpoint is the same address.
    """

    def __init__(self, root: str, endpoint_url: str | None = None, **client: Any) -> None:
        import boto3

        self.bucket, self.prefix = split_s3_url(root)
        self.endpoint_url = endpoint_url
        self.iam = boto3.client("iam", endpoint_url=endpoint_url, **client)
        self.s3 = boto3.client("s3", endpoint_url=endpoint_url, **client)

    def create(self, slug: str) -> PrefixLogins:
        """Make the two IAM users of the organisation, limited to its prefix."""
        prefix = self._prefix(slug)
        options = {
            role: self._user(f"tt-{slug}-{role}", prefix_policy(self.bucket, prefix, actions))
            for role, actions in ROLE_ACTIONS.items()
        }
        return PrefixLogins(f"s3://{self.bucket}/{prefix}", options["member"], options["annotator"])

    def share(self, slug: str, share_id: int, keys: list[str]) -> tuple[str, dict[str, Any]]:
        """A store of one survey share: the survey's blobs (``keys``, relative to the owner's
        prefix) copied under a prefix of the share's own, and a login that may read that
        prefix alone, never list it. Returns the share store's URL and the login's options.

        A copy, because a policy cannot name a survey's thousands of content-hash keys:
        photos added to the survey later reach the guests when it is shared again.
        """
        source, target = self._prefix(slug), self._share_prefix(share_id)
        for key in keys:
            self.s3.copy_object(
                Bucket=self.bucket,
                Key=f"{target}/{key}",
                CopySource={"Bucket": self.bucket, "Key": f"{source}/{key}"},
            )
        policy = prefix_policy(self.bucket, target, ["s3:GetObject"])
        policy["Statement"] = policy["Statement"][:1]  # read by key, no listing
        return f"s3://{self.bucket}/{target}", self._user(f"tt-share-{int(share_id)}", policy)

    def unshare(self, share_id: int) -> None:
        """Delete a share's IAM user and its copies of the survey's blobs."""
        self._delete_user(f"tt-share-{int(share_id)}")
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self._share_prefix(share_id)}/"
        )
        for page in pages:
            objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if objects:
                self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": objects})

    def drop(self, slug: str) -> None:
        """Delete the organisation's IAM users (its keys stay in the bucket)."""
        for role in ROLE_ACTIONS:
            self._delete_user(f"tt-{slug}-{role}")

    def _prefix(self, slug: str) -> str:
        return f"{self.prefix}/{slug}".strip("/")

    def _share_prefix(self, share_id: int) -> str:
        """Shares live beside the organisations: no slug may be ``_shares`` (slugs start
        with a letter)."""
        return f"{self.prefix}/_shares/{int(share_id)}".strip("/")

    def _delete_user(self, name: str) -> None:
        try:
            keys = self.iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        except self.iam.exceptions.NoSuchEntityException:
            return
        for key in keys:
            self.iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
        for policy in self.iam.list_user_policies(UserName=name)["PolicyNames"]:
            self.iam.delete_user_policy(UserName=name, PolicyName=policy)
        self.iam.delete_user(UserName=name)

    def _user(self, name: str, policy: dict[str, Any]) -> dict[str, Any]:
        """An IAM user with ``policy`` inline; fsspec options holding its new access key."""
        self.iam.create_user(UserName=name, Tags=[{"Key": "traptagger", "Value": "organisation"}])
        self.iam.put_user_policy(
            UserName=name, PolicyName="organisation-prefix", PolicyDocument=json.dumps(policy)
        )
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        options: dict[str, Any] = {"key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
        if self.endpoint_url:
            options["client_kwargs"] = {"endpoint_url": self.endpoint_url}
        return options
