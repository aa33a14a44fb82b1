"""An S3 archive (`s3://bucket/prefix`) over boto3: AWS S3, MinIO or any S3-compatible store.

Endpoint, region and credentials come from the standard AWS variables (AWS_ENDPOINT_URL,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, profiles) unless settings give them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ...application.ports import StoredObject
from ...application.stored_log import ArchiveError, ArchiveUnavailableError
from .keys import CHUNK, checked_key, chunks_digest, differs, file_digest, stored

_UNAVAILABLE_CODES = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "503"}


class S3Archive:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}" + (f"/{self.prefix}" if self.prefix else "")
        self.client = client or _client(endpoint_url, region)

    def _key(self, key: str) -> str:
        key = checked_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            yield
        except NoCredentialsError as e:
            raise ArchiveError(
                f"no credentials for {self.url}: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            ) from e
        except ClientError as e:
            code = str(e.response.get("Error", {}).get("Code", ""))
            if code == "NoSuchBucket":
                raise ArchiveError(f"bucket {self.bucket!r} does not exist ({self.url})") from e
            if code in _UNAVAILABLE_CODES:
                raise ArchiveUnavailableError(f"{what} {self.url}: {code}, retry later") from e
            raise ArchiveError(f"{what} {self.url} failed: {code or e}") from e
        except BotoCoreError as e:  # connection refused, timeouts, DNS
            raise ArchiveUnavailableError(f"{what} {self.url}: unreachable ({e})") from e

    def put(self, key: str, data: bytes) -> StoredObject:
        """Conditional write (If-None-Match: *): never replaces an object; an existing one is
        accepted only with identical bytes. Then read back and compared (size and sha256)."""
        from botocore.exceptions import ClientError

        full = self._key(key)
        digest = hashlib.sha256(data).hexdigest()
        with self._errors(f"cannot write {key} to"):
            try:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=full,
                    Body=data,
                    Metadata={"sha256": digest},
                    IfNoneMatch="*",
                )
            except ClientError as e:
                code = str(e.response.get("Error", {}).get("Code", ""))
                if code not in ("PreconditionFailed", "ConditionalRequestConflict"):
                    raise
        written = self.get(key)
        if written is None:
            raise ArchiveError(f"{self.url}/{key} did not read back after writing it")
        if hashlib.sha256(written).hexdigest() != digest:
            raise differs(key, self.url)
        return stored(key, written)

    def put_path(self, key: str, path: Path) -> StoredObject:
        """boto3's managed upload (multipart above 8 MiB) of a content-addressed file; an
        existing object is kept when its bytes are the same. Verified by a streamed read-back."""
        digest, size = file_digest(path)
        if not self.exists(key):  # a HEAD: an existing object is read once, below, not twice
            with self._errors(f"cannot write {key} to"):
                self.client.upload_file(
                    str(path),
                    self.bucket,
                    self._key(key),
                    ExtraArgs={"Metadata": {"sha256": digest}},
                )
        if self._digest_of(key) != (digest, size):
            raise differs(key, self.url)
        return StoredObject(key, digest, size)

    def _digest_of(self, key: str) -> tuple[str, int] | None:
        found = self.chunks(key)
        if found is None:
            return None
        with self._errors(f"cannot read {key} from"):
            return chunks_digest(found)

    def _body(self, key: str) -> Any | None:
        """The object's streaming body, or None when there is no such object."""
        full = self._key(key)
        with self._errors(f"cannot read {key} from"):
            try:
                return self.client.get_object(Bucket=self.bucket, Key=full)["Body"]
            except self.client.exceptions.NoSuchKey:
                return None

    def chunks(self, key: str) -> Iterator[bytes] | None:
        body = self._body(key)
        if body is None:
            return None
        chunks: Iterator[bytes] = body.iter_chunks(CHUNK)
        return chunks

    def get(self, key: str) -> bytes | None:
        body = self._body(key)
        if body is None:
            return None
        with self._errors(f"cannot read {key} from"):
            data: bytes = body.read()
            return data

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        full = self._key(key)
        with self._errors(f"cannot look up {key} in"):
            try:
                self.client.head_object(Bucket=self.bucket, Key=full)
            except ClientError as e:
                if str(e.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                    return False
                raise
            return True

    def list(self, prefix: str) -> list[str]:
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        cut = len(self.prefix) + 1 if self.prefix else 0
        keys: list[str] = []
        with self._errors("cannot list"):
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                keys.extend(obj["Key"][cut:] for obj in page.get("Contents", []))
        return sorted(keys)

    def check_bucket(self) -> None:
        """Fail now, naming the bucket, when it does not exist or is not reachable."""
        with self._errors("cannot reach"):
            self.client.head_bucket(Bucket=self.bucket)


def _client(endpoint_url: str | None, region: str | None) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=3,
        read_timeout=30,
        retries={"max_attempts": 2, "mode": "standard"},
        s3={"addressing_style": "path"} if endpoint_url else {},
    )
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or session.region_name or "us-east-1",
        config=config,
    )
