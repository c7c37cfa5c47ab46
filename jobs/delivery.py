"""Delivering a written feed: atomically into a folder, or POSTed to an HTTP endpoint.

Both are safe to repeat for the same (run, medium): the folder gets the same bytes by an atomic
rename (readers see the old file or the new one, never a partial one), and the POST carries an
``Idempotency-Key`` naming the run and the medium, so an endpoint that received it once ignores a
retry.
"""
from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path


class DeliveryError(Exception):
    """The feed did not reach the portal (the previous one stays in place)."""


class HashingWriter:
    """A binary file wrapper counting bytes and computing the sha256 as the writer streams."""

    def __init__(self, fh):
        self.fh = fh
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.fh.write(data)

    def flush(self):
        self.fh.flush()

    # io.TextIOWrapper wants these on the raw stream.
    def writable(self):
        return True

    def readable(self):
        return False

    def seekable(self):
        return False

    @property
    def closed(self):
        return self.fh.closed

    def close(self):  # the text wrapper is detached, never closes us
        pass


def file_checksum(path: str | os.PathLike) -> str | None:
    """sha256 of a file, or None when it does not exist."""
    try:
        with open(path, "rb") as fh:
            sha = hashlib.sha256()
            for block in iter(lambda: fh.read(1 << 20), b""):
                sha.update(block)
            return sha.hexdigest()
    except FileNotFoundError:
        return None


def fsync_file(path: str | os.PathLike) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def fsync_in_background(path: str | os.PathLike):
    """Start flushing a written file to disk; returns ``wait()``, which raises what fsync raised.

    A feed of 100 MB takes a fraction of a second to reach the disk: the send writes its report rows
    meanwhile, and waits before committing and publishing (the disk may still say it is full here)."""
    import threading

    failure: list[BaseException] = []

    def run():
        try:
            fsync_file(path)
        except BaseException as exc:  # handed to wait()
            failure.append(exc)

    thread = threading.Thread(target=run, name="feed-fsync", daemon=True)
    thread.start()

    def wait() -> None:
        thread.join()
        if failure:
            raise failure[0]
    return wait


def publish_to_folder(temp_path: str, target_path: str) -> None:
    """Atomically replace the published feed by the new one (same file system: staging is inside)."""
    Path(target_path).parent.mkdir(parents=True, exist_ok=True)
    os.replace(temp_path, target_path)
    try:  # make the rename durable
        fd = os.open(str(Path(target_path).parent), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def post_feed(url: str, path: str, content_type: str, idempotency_key: str, checksum: str,
              timeout: float = 60) -> int:
    """POST the feed file; any answer other than 2xx, or no answer, raises DeliveryError."""
    with open(path, "rb") as fh:
        body = fh.read()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": content_type,
        "Idempotency-Key": idempotency_key,
        "X-Feed-Checksum": f"sha256={checksum}",
        "User-Agent": "backoffice-send/1",
    })
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} de {url}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"{url} injoignable : {getattr(exc, 'reason', exc)}") from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status} de {url}")
    return status
