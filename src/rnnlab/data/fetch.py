"""Files of the registered datasets, found in the data folder or downloaded into it.

The data folder is ``$RNNLAB_DATA`` when set, else a per-user cache (``platformdirs``:
``~/.cache/rnnlab/data`` on Linux). A file ``dataset:NAME/FILE`` lives at
``DATA/NAME/FILE`` (or in another stored form its dataset accepts, e.g. ``FILE.gz``); a
file that is there is checked against its checksum every time it is used. A missing one is
downloaded with ``pooch`` (retried on failure, written to a temporary file and renamed only
once its SHA-256 matches, so a failed or interrupted download leaves nothing behind; pooch
does not resume a partial download, it starts it again). An archive (zip, wheel) is
unpacked by pooch's ``Unzip``, and only the member kept.

Every failure is one ``DataError``: a checksum that does not match names the file, the
expected and the actual hash; no network names the URL and where to put the file by hand.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from rnnlab.data.datasets import DATASETS, PREFIX, DataFile, Dataset, parse_ref
from rnnlab.data.errors import DataError

ENV = "RNNLAB_DATA"
RETRIES = 2


def data_dir() -> Path:
    """Where dataset files are looked for and downloaded to."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("rnnlab")) / "data"


def is_ref(value: str | os.PathLike) -> bool:
    """A dataset reference ``dataset:NAME/FILE``, not a path (told apart by the prefix alone)."""
    return isinstance(value, str) and value.startswith(PREFIX)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def git_blob_of(path: Path) -> str:
    """The git blob id of a file's content (SHA-1 of ``blob <size>\\0<content>``)."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's own id


def _verify(path: Path, expected_sha256: str | None, git_blob: str | None, where: str) -> None:
    if expected_sha256 is not None:
        actual = sha256_of(path)
        if actual != expected_sha256:
            raise DataError(f"{path}: sha256 is {actual}, expected {expected_sha256} for {where} "
                            f"(a damaged or different file: delete it and run again to download it)")
    elif git_blob is not None and git_blob_of(path) != git_blob:
        raise DataError(f"{path}: git blob id is {git_blob_of(path)}, expected {git_blob} for {where} "
                        f"(a damaged or different file: delete it and run again to download it)")


def find(dataset: Dataset, file: DataFile, root: Path | None = None) -> Path | None:
    """The stored, verified file, or None when it is not in the data folder."""
    root = data_dir() if root is None else root
    forms = {file.name: file.sha256, **file.also}
    for name, sha in forms.items():
        path = root / dataset.name / name
        if path.is_file():
            _verify(path, sha, file.git_blob if name == file.name else None, f"{PREFIX}{dataset.name}/{file.name}")
            return path
    return None


def local_path(ref: str) -> Path:
    """The local file of ``dataset:NAME/FILE``, downloaded first when missing."""
    try:
        dataset, file = parse_ref(ref)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    return find(dataset, file) or download(dataset, file, data_dir())


def download(dataset: Dataset, file: DataFile, root: Path) -> Path:
    """Fetch one file of ``dataset`` into root/NAME/ and return its path."""
    where = f"{PREFIX}{dataset.name}/{file.name}"
    target = root / dataset.name / file.name
    if file.source is None:
        raise DataError(f"{where}: not downloadable ({dataset.origin}); put the file at {target}")
    source = file.source
    by_hand = (f"download {source.url}" + (f", take {source.member} out of it," if source.member else "")
               + f" and save it as {target}")
    created = not target.parent.exists()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{target.parent}: cannot create the data folder ({exc.strerror or exc}); "
                        f"set {ENV} to a writable folder, or {by_hand}") from None
    import pooch
    import requests

    archive = source.url.rsplit("/", 1)[-1]
    fetched_name = archive if source.member else file.name
    fetcher = pooch.create(path=target.parent, base_url="", retry_if_failed=RETRIES,
                           registry={fetched_name: f"sha256:{source.sha256}" if source.sha256 else None},
                           urls={fetched_name: source.url})
    processor = pooch.Unzip(members=[source.member], extract_dir=f".{archive}.unpacked") if source.member else None
    try:
        result = fetcher.fetch(fetched_name, processor=processor, progressbar=True)
    except ValueError as exc:  # pooch: the downloaded file's hash does not match (it was not kept)
        _remove_if_empty(target.parent, created)
        raise DataError(f"{where}: {exc} ({source.url}); nothing was kept") from None
    except (requests.exceptions.RequestException, OSError) as exc:
        _remove_if_empty(target.parent, created)
        raise DataError(f"{where}: cannot download {source.url} ({type(exc).__name__}); "
                        f"without network, {by_hand}") from None
    if source.member:
        member = Path(result[0])
        try:
            _verify(member, file.sha256, file.git_blob, where)
            os.replace(member, target)
        finally:
            shutil.rmtree(target.parent / f".{archive}.unpacked", ignore_errors=True)
            (target.parent / archive).unlink(missing_ok=True)
    else:
        try:
            _verify(Path(result), file.sha256, file.git_blob, where)
        except DataError:
            Path(result).unlink(missing_ok=True)
            raise
    return target


def _remove_if_empty(folder: Path, created: bool) -> None:
    if created and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def status(dataset: Dataset, root: Path | None = None) -> str:
    """"cached" when every file is in the data folder, "partial", or "missing"."""
    root = data_dir() if root is None else root
    present = [any((root / dataset.name / name).is_file() for name in (f.name, *f.also)) for f in dataset.files]
    return "cached" if all(present) else "partial" if any(present) else "missing"


def get(name: str, root: Path | None = None) -> list[Path]:
    """Every file of dataset ``name`` in root (default: the data folder), downloading what is missing."""
    if name not in DATASETS:
        raise DataError(f"no dataset named {name!r}; datasets are {', '.join(DATASETS)}")
    dataset = DATASETS[name]
    root = data_dir() if root is None else Path(root)
    return [find(dataset, f, root) or download(dataset, f, root) for f in dataset.files]


def size_of(dataset: Dataset, root: Path | None = None) -> int | None:
    """Bytes of the dataset's files in the data folder (None when not all are there)."""
    root = data_dir() if root is None else root
    paths = [next((root / dataset.name / n for n in (f.name, *f.also) if (root / dataset.name / n).is_file()), None)
             for f in dataset.files]
    return None if None in paths else sum(p.stat().st_size for p in paths)
