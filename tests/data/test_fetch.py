"""Datasets by name: found in the data folder (the offline mirror) and checked, or downloaded
into it with pooch from a local HTTP server standing in for the internet; a bad checksum or
no network is one DataError, and nothing half-written is left behind."""

from __future__ import annotations

import gzip
import hashlib
import io
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rnnlab.data import datasets, fetch
from rnnlab.data._files import read_lines
from rnnlab.data.datasets import DataFile, Dataset, Source
from rnnlab.data.errors import DataError

MIRROR = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Server:
    """A local web server over a folder; counts requests and can fail the first ones."""

    def __init__(self, root: Path):
        self.hits: list[str] = []
        self.fail_first = 0
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                server.hits.append(self.path)
                if server.fail_first > 0:
                    server.fail_first -= 1
                    self.send_error(503)
                    return
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def web(tmp_path):
    root = tmp_path / "web"
    root.mkdir()
    server = _Server(root)
    yield root, server
    server.close()


@pytest.fixture
def toy(web, tmp_path, monkeypatch):
    """A dataset 'toy' served by the local server: a plain file, a zip member, a file whose
    published checksum is wrong; the data folder is an empty temporary one."""
    root, server = web
    plain = b"one\ntwo\n"
    (root / "plain.txt").write_bytes(plain)
    member = b"date,x\n2020/01/01,1\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inside/series.csv", member)
        archive.writestr("inside/other.txt", b"not wanted")
    (root / "pack.zip").write_bytes(buffer.getvalue())
    (root / "liar.txt").write_bytes(b"what the server really has\n")
    dataset = Dataset("toy", "classify", "a toy", "CC0", "nobody", "a local server", (
        DataFile("plain.txt", _sha(plain), Source(f"{server.url}/plain.txt", _sha(plain))),
        DataFile("series.csv", _sha(member), Source(f"{server.url}/pack.zip", _sha(buffer.getvalue()),
                                                    member="inside/series.csv")),
        DataFile("liar.txt", "0" * 64, Source(f"{server.url}/liar.txt", "0" * 64)),
    ))
    monkeypatch.setitem(datasets.DATASETS, "toy", dataset)
    monkeypatch.setenv(fetch.ENV, str(tmp_path / "data"))
    monkeypatch.setattr(fetch, "RETRIES", 0)
    return tmp_path / "data", server


def test_a_missing_file_is_downloaded_checked_and_then_read_from_the_cache(toy):
    data, server = toy
    assert read_lines("dataset:toy/plain.txt") == ["one", "two"]
    assert (data / "toy" / "plain.txt").read_bytes() == b"one\ntwo\n"
    assert read_lines("dataset:toy/plain.txt") == ["one", "two"]
    assert server.hits == ["/plain.txt"]  # the second read did not download again


def test_an_archive_is_unpacked_by_pooch_and_only_the_member_kept(toy):
    data, _ = toy
    assert read_lines("dataset:toy/series.csv") == ["date,x", "2020/01/01,1"]
    assert sorted(p.name for p in (data / "toy").iterdir()) == ["series.csv"]


def test_a_checksum_that_does_not_match_names_the_file_and_both_hashes_and_keeps_nothing(toy):
    data, _ = toy
    with pytest.raises(DataError) as exc:
        read_lines("dataset:toy/liar.txt")
    message = str(exc.value)
    assert "dataset:toy/liar.txt" in message and "0" * 64 in message
    assert _sha(b"what the server really has\n") in message and "nothing was kept" in message
    assert not (data / "toy").exists() or not any((data / "toy").iterdir())


def test_no_network_names_the_url_and_where_to_put_the_file_by_hand(toy):
    data, server = toy
    server.close()
    with pytest.raises(DataError) as exc:
        read_lines("dataset:toy/plain.txt")
    message = str(exc.value)
    assert f"cannot download {server.url}/plain.txt" in message
    assert f"save it as {data / 'toy' / 'plain.txt'}" in message
    assert not (data / "toy").exists()  # the folder made for the download is gone again


def test_a_failed_request_is_retried(toy, monkeypatch):
    _, server = toy
    monkeypatch.setattr(fetch, "RETRIES", 1)
    server.fail_first = 1
    assert read_lines("dataset:toy/plain.txt") == ["one", "two"]
    assert server.hits == ["/plain.txt", "/plain.txt"]


def test_a_damaged_file_in_the_data_folder_is_refused_with_both_hashes(toy):
    data, _ = toy
    (data / "toy").mkdir(parents=True)
    (data / "toy" / "plain.txt").write_bytes(b"one\ntwo\nthree\n")
    with pytest.raises(DataError, match=r"plain.txt: sha256 is [0-9a-f]{64}, expected [0-9a-f]{64}"):
        read_lines("dataset:toy/plain.txt")


def test_unknown_datasets_and_files_are_named():
    with pytest.raises(DataError, match="no dataset named 'nope'"):
        fetch.local_path("dataset:nope/x")
    with pytest.raises(DataError, match="dataset weather has no file 'rain.csv'; its files are seattle-weather.csv"):
        fetch.local_path("dataset:weather/rain.csv")


def test_a_path_and_a_dataset_name_are_told_apart_by_the_prefix_alone(tmp_path):
    assert fetch.is_ref("dataset:weather/seattle-weather.csv")
    for path in ("weather/seattle-weather.csv", "data/dataset:x", str(tmp_path / "dataset:y")):
        assert not fetch.is_ref(path)


@pytest.mark.skipif(not MIRROR.is_dir(), reason=f"the shared datasets are not at {MIRROR}")
def test_every_file_in_the_mirror_matches_the_registry(monkeypatch):
    """The registry's checksums are the files': each file the mirror holds is found and verified
    (a gzipped form counts: the mirror keeps EWT's train file and fra.txt as .gz)."""
    monkeypatch.setenv(fetch.ENV, str(MIRROR))
    checked = 0
    for dataset in datasets.DATASETS.values():
        if fetch.status(dataset) == "missing":
            continue
        for file in dataset.files:
            assert fetch.find(dataset, file) is not None, f"{dataset.name}/{file.name}"
            checked += 1
    assert checked >= 19


@pytest.mark.skipif(not MIRROR.is_dir(), reason=f"the shared datasets are not at {MIRROR}")
def test_a_gzipped_form_reads_as_the_file_itself(monkeypatch):
    monkeypatch.setenv(fetch.ENV, str(MIRROR))
    lines = read_lines("dataset:ud_english_ewt/en_ewt-ud-train.conllu")
    raw = gzip.decompress((MIRROR / "ud_english_ewt" / "en_ewt-ud-train.conllu.gz").read_bytes())
    assert _sha(raw) == datasets.DATASETS["ud_english_ewt"].file("en_ewt-ud-train.conllu").sha256
    assert len(lines) == raw.decode().count("\n")
