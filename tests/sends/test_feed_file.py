"""The file a feed is written into (``jobs.delivery.FeedFile``): direct I/O through aligned buffers, the
page cache where the file system refuses it, and a full disk reported, never hidden."""
import errno
import hashlib
import os
import random

import pytest
import xxhash

from jobs.delivery import FeedFile, file_checksum, holds_checksum

BUFFER, ALIGN = FeedFile.BUFFER, FeedFile.ALIGN
SIZES = [0, 1, ALIGN - 1, ALIGN, ALIGN + 1, BUFFER - 1, BUFFER, BUFFER + 1, 3 * BUFFER + 123]


def write_in_pieces(path, data: bytes, seed: int) -> FeedFile:
    """Write ``data`` as a feed writer does: pieces of every size, some across the buffer's end."""
    pieces = random.Random(seed)
    with FeedFile(path) as out:
        at = 0
        while at < len(data):
            step = pieces.choice([1, 7, ALIGN, 5000, BUFFER, 2 * BUFFER + 3])
            out.write(data[at:at + step])
            at += step
    return out


@pytest.mark.parametrize("size", SIZES)
def test_the_file_holds_exactly_the_bytes_written_and_their_checksum(tmp_path, size):
    data = random.Random(size).randbytes(size)
    out = write_in_pieces(tmp_path / "feed.xml", data, seed=size)
    assert (tmp_path / "feed.xml").read_bytes() == data   # no padding left after the last block
    assert out.checksum == "xxh3-128:" + xxhash.xxh3_128(data).hexdigest()
    assert file_checksum(tmp_path / "feed.xml") == out.checksum
    assert out.size == size


def test_the_next_feed_reuses_the_buffers_and_holds_only_its_own_bytes(tmp_path):
    # A send's worker writes fifty feeds: the buffers of one are the next one's (no new memory for the
    # kernel to zero), and what a longer feed left in them never reaches a shorter one.
    longer = random.Random(1).randbytes(5 * BUFFER + 99)
    first = write_in_pieces(tmp_path / "first.xml", longer, seed=1)
    shorter = random.Random(2).randbytes(BUFFER + ALIGN + 5)
    with FeedFile(tmp_path / "second.xml") as second:
        second.write(shorter)
        buffers = list(second._buffers)
    assert buffers and all(any(b is kept for kept in FeedFile._spare) for b in buffers)
    assert (tmp_path / "second.xml").read_bytes() == shorter
    assert (tmp_path / "first.xml").read_bytes() == longer and first.size == len(longer)


def test_feeds_written_at_the_same_time_leave_one_feed_of_buffers_mapped(tmp_path, monkeypatch):
    # A worker writes a medium's feed while the previous one's last writes end (jobs.worker): the
    # second feed makes buffers of its own. Once both are closed, one feed's worth stays for the next
    # feed and every other buffer is unmapped at once, not whenever the garbage collector comes.
    monkeypatch.setattr(FeedFile, "BEHIND", 4 * BUFFER)
    monkeypatch.setattr(FeedFile, "_spare", [])
    data = random.Random(3).randbytes(6 * BUFFER + 17)
    first, second = FeedFile(tmp_path / "first.xml"), FeedFile(tmp_path / "second.xml")
    first.write(data)
    second.write(data)
    made = list(first._buffers) + list(second._buffers)
    assert len({id(b) for b in made}) == 8                  # two feeds' worth at once
    first.close()
    second.close()
    kept = [b for b in made if not b.closed]
    assert len(kept) == 4 and all(any(b is s for s in FeedFile._spare) for b in kept)
    assert (tmp_path / "first.xml").read_bytes() == data == (tmp_path / "second.xml").read_bytes()


def test_a_checksum_recorded_before_xxh3_is_checked_as_the_sha256_it_is(tmp_path):
    # A medium left "publishing" across the upgrade: its retry must recognise the feed it staged.
    (tmp_path / "feed.xml").write_bytes(b"<vehicles/>")
    recorded = hashlib.sha256(b"<vehicles/>").hexdigest()
    assert file_checksum(tmp_path / "feed.xml", like=recorded) == recorded
    assert file_checksum(tmp_path / "feed.xml", like="0" * 64) != "0" * 64
    assert file_checksum(tmp_path / "missing.xml", like=recorded) is None
    assert holds_checksum(tmp_path / "feed.xml", recorded)
    assert not holds_checksum(tmp_path / "missing.xml", recorded) and not holds_checksum(None, recorded)
    assert not holds_checksum(tmp_path / "feed.xml", None)   # nothing recorded: nothing to recognise


def test_a_file_system_refusing_direct_io_at_the_open_gets_the_same_bytes(tmp_path, monkeypatch):
    real_open = os.open

    def no_direct(path, flags, *args):
        if flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", no_direct)
    data = random.Random(1).randbytes(2 * BUFFER + 5)
    out = write_in_pieces(tmp_path / "feed.csv", data, seed=1)
    assert not out.direct
    assert (tmp_path / "feed.csv").read_bytes() == data


def test_a_direct_write_refused_midway_goes_on_through_the_page_cache(tmp_path, monkeypatch):
    real_write, calls = os.write, []

    def refuse_the_second(fd, data):
        calls.append(len(data))
        if len(calls) == 2:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", refuse_the_second)
    data = random.Random(2).randbytes(3 * BUFFER + 10)
    out = write_in_pieces(tmp_path / "feed.xml", data, seed=2)
    assert not out.direct and len(calls) > 2
    assert (tmp_path / "feed.xml").read_bytes() == data


def test_a_full_disk_is_raised_to_the_send_and_leaves_no_open_file(tmp_path, monkeypatch):
    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    out = FeedFile(tmp_path / "feed.xml")
    fd = out.fd
    with pytest.raises(OSError) as raised:
        with out:
            for _ in range(3):
                out.write(b"x" * BUFFER)
    assert raised.value.errno == errno.ENOSPC
    # The partial file is the caller's to remove; its descriptor is closed either way.
    assert out.fd == -1
    with pytest.raises(OSError) as closed:
        os.fstat(fd)
    assert closed.value.errno == errno.EBADF


def test_a_replaced_feed_is_kept_in_the_retired_folder_until_freed(tmp_path):
    from jobs.delivery import publish_to_folder

    target, retired = tmp_path / "EDEN" / "EDEN.csv", tmp_path / ".retired" / "run-7"
    (tmp_path / "first.tmp").write_bytes(b"first night")
    publish_to_folder(str(tmp_path / "first.tmp"), str(target), retired)   # nothing to keep yet
    assert target.read_bytes() == b"first night" and not list(retired.glob("*"))
    (tmp_path / "second.tmp").write_bytes(b"second night")

    publish_to_folder(str(tmp_path / "second.tmp"), str(target), retired)

    assert target.read_bytes() == b"second night"
    assert [p.read_bytes() for p in retired.iterdir()] == [b"first night"]   # the same blocks, not freed yet


def test_a_retired_folder_on_another_file_system_still_publishes(tmp_path, monkeypatch):
    from jobs.delivery import publish_to_folder

    target = tmp_path / "EDEN.csv"
    target.write_bytes(b"before")
    (tmp_path / "new.tmp").write_bytes(b"after")

    def cross_device(*args, **kwargs):
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
    monkeypatch.setattr(os, "link", cross_device)

    publish_to_folder(str(tmp_path / "new.tmp"), str(target), tmp_path / "elsewhere")

    assert target.read_bytes() == b"after" and not list((tmp_path / "elsewhere").glob("*"))


@pytest.fixture
def held_disk(monkeypatch):
    """A disk that takes no write until ``release`` is set."""
    import threading

    release, real_write = threading.Event(), os.write

    def slow(fd, data):
        assert release.wait(10), "the disk was never released"
        return real_write(fd, data)
    monkeypatch.setattr(os, "write", slow)
    return release


def in_thread(work):
    import threading

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(2)
    return thread


def test_the_feed_is_made_and_closed_while_the_disk_still_writes_it(tmp_path, held_disk):
    data = random.Random(3).randbytes(6 * BUFFER + 77)
    out, waits = FeedFile(tmp_path / "feed.xml"), []

    producer = in_thread(lambda: (out.write(data), waits.append(out.close_in_background())))

    assert not producer.is_alive() and waits   # neither the writes nor the close waited for the disk
    assert out.checksum == "xxh3-128:" + xxhash.xxh3_128(data).hexdigest()
    held_disk.set()
    waits[0]()
    assert (tmp_path / "feed.xml").read_bytes() == data and out.fd == -1


def test_a_slow_disk_holds_the_writer_back_once_it_lags_too_far(tmp_path, held_disk, monkeypatch):
    monkeypatch.setattr(FeedFile, "BEHIND", 4 * BUFFER)
    data = random.Random(4).randbytes(10 * BUFFER)
    out = FeedFile(tmp_path / "feed.xml")

    producer = in_thread(lambda: out.write(data))

    assert producer.is_alive()   # waiting for the disk: at most BEHIND bytes of buffers
    assert len(out._buffers) == 4
    held_disk.set()
    producer.join(10)
    out.close()
    assert (tmp_path / "feed.xml").read_bytes() == data


def test_a_full_disk_found_in_the_background_is_raised_by_the_wait(tmp_path, monkeypatch):
    import threading

    closed = threading.Event()

    def full(fd, data):   # the disk says it is full once the writer has closed the file
        closed.wait(10)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    out = FeedFile(tmp_path / "feed.xml")
    out.write(b"x" * (BUFFER + 1))
    wait = out.close_in_background()
    closed.set()
    with pytest.raises(OSError) as raised:
        wait()
    assert raised.value.errno == errno.ENOSPC and out.fd == -1
