"""The public datasets rnnlab's recipes train on, by name: where each file comes from, its
checksum, licence and citation.

A recipe (or your own TOML file) names a file of a dataset as ``dataset:NAME/FILE``, e.g.
``dataset:ud_english_ewt/en_ewt-ud-train.conllu``; anything else is a path. The file is
looked up in the data folder (``RNNLAB_DATA``, or a per-user cache, ``rnnlab.data.fetch``)
under ``NAME/FILE``, and downloaded there when missing. An offline mirror is just a folder
with the same layout: ``RNNLAB_DATA=../shared/data`` is one.

Every file is checked by its SHA-256 (for the full NSMC, whose publisher gives no checksum,
by its git blob id at the pinned commit). A file may also be stored in another form the
readers take, e.g. gzip-compressed (``also``), with that form's own checksum.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PREFIX = "dataset:"


@dataclass(frozen=True)
class Source:
    """Where a file is downloaded from: ``url``, checked by ``sha256`` (None: the file
    itself is checked after download instead), and for an archive the ``member`` to take."""

    url: str
    sha256: str | None
    member: str | None = None


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset: its name, checksum (``sha256``, or ``git_blob`` where only a git
    blob id is published), other stored forms the readers also take (name -> sha256), and
    its source (None: only in the project's mirror)."""

    name: str
    sha256: str | None
    source: Source | None
    also: dict[str, str] = field(default_factory=dict)
    git_blob: str | None = None


@dataclass(frozen=True)
class Dataset:
    name: str
    task: str
    description: str
    licence: str
    citation: str
    origin: str
    files: tuple[DataFile, ...]

    def file(self, name: str) -> DataFile:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def downloadable(self) -> bool:
        return all(f.source is not None for f in self.files)


def _github(repo: str, commit: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path.replace(' ', '%20')}"


def _pypi_wheel(name: str, version: str) -> str:
    wheel = f"{name}-{version}-py3-none-any.whl"
    return f"https://files.pythonhosted.org/packages/py3/{name[0]}/{name}/{wheel}"


EWT = "UniversalDependencies/UD_English-EWT"
EWT_TAG = "r2.16"
VEGA = _pypi_wheel("vega_datasets", "0.9.0")
VEGA_SHA = "3d7c63917be6ca9b154b565f4779a31fedce57b01b5b9d99d8a34a7608062a1d"
AEON = _pypi_wheel("aeon", "1.6.0")
AEON_SHA = "d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409"
FRA_ZIP = _github("genimind/seq2seq", "4f3f8eb0adde54fcc8b89394336b002e7961244c", "fra-eng.zip")
FRA_ZIP_SHA = "16c4f7d0df9e7c5e6c54cdb0447f3f4a18a55052ff5e2e0b27dd4a06c0e49d04"
KOR = "r0cd7b/nlp_with_rnns_and_attention", "875d03899a2c217633fa28e8917a8b26382c5269"
UCI = "kvrao/sentiment_analysis", "462f7304ab341f1b5014e6eae56100bfe35d703a"
NSMC = "e9t/nsmc", "cc0670e872d4ac27bfe36c87456783004b39ef6c"

DATASETS: dict[str, Dataset] = {d.name: d for d in (
    Dataset(
        "ud_english_ewt", "tag", "Universal Dependencies English Web Treebank r2.16 (UPOS/XPOS)",
        "CC BY-SA 4.0", "Silveira et al., A Gold Standard Dependency Corpus for English, LREC 2014",
        f"github.com/{EWT} (tag {EWT_TAG})",
        (DataFile("en_ewt-ud-train.conllu",
                  "3fb78e2b55482c8ee00caa653af436c88c9e5bc9a73ce26e4ae3ddc79d2b7e7b",
                  Source(_github(EWT, EWT_TAG, "en_ewt-ud-train.conllu"),
                         "3fb78e2b55482c8ee00caa653af436c88c9e5bc9a73ce26e4ae3ddc79d2b7e7b"),
                  also={"en_ewt-ud-train.conllu.gz": "bd47e08c9e18ec12d319e84df2ccdb272ff6de1d0dba5761117d3caf8b358f7b"}),
         DataFile("en_ewt-ud-dev.conllu", "531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6",
                  Source(_github(EWT, EWT_TAG, "en_ewt-ud-dev.conllu"),
                         "531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6")),
         DataFile("en_ewt-ud-test.conllu", "e266e515a0a7547657ed3d90d9ba46487d6bd251f27ad4269d4e8a427c8555cd",
                  Source(_github(EWT, EWT_TAG, "en_ewt-ud-test.conllu"),
                         "e266e515a0a7547657ed3d90d9ba46487d6bd251f27ad4269d4e8a427c8555cd")),
         DataFile("LICENSE.txt", "b3d1b0f4c6ae151f7eb78738f46ebd5ee140f8a7f76501ba26af123140d35ae7",
                  Source(_github(EWT, EWT_TAG, "LICENSE.txt"),
                         "b3d1b0f4c6ae151f7eb78738f46ebd5ee140f8a7f76501ba26af123140d35ae7")))),
    Dataset(
        "tinyshakespeare", "lm", "Tiny Shakespeare, 1.1 M characters (char-rnn)", "public domain text",
        "Karpathy, The Unreasonable Effectiveness of Recurrent Neural Networks, 2015",
        "github.com/karpathy/char-rnn (commit 6f9487a)",
        (DataFile("input.txt", "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                  Source(_github("karpathy/char-rnn", "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e",
                                 "data/tinyshakespeare/input.txt"),
                         "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed")),)),
    Dataset(
        "kor_eng_tatoeba", "translate", "Korean-English sentence pairs, 5,749 (ManyThings/Tatoeba, 2023-02-20)",
        "CC BY 2.0 FR", "Tatoeba (tatoeba.org) via manythings.org/anki; attribution per line",
        f"github.com/{KOR[0]} (commit 875d038)",
        (DataFile("kor.txt", "6c9d8de3e500306997e4083274fb0038ef521651ffb2b7923e4e607a59d09dbc",
                  Source(_github(*KOR, "kor-eng/kor.txt"),
                         "6c9d8de3e500306997e4083274fb0038ef521651ffb2b7923e4e607a59d09dbc")),
         DataFile("_about.txt", "14edaa774978b74d57a316ed402880c69af8de5c0087e6705b9eb5557621c65e",
                  Source(_github(*KOR, "kor-eng/_about.txt"),
                         "14edaa774978b74d57a316ed402880c69af8de5c0087e6705b9eb5557621c65e")))),
    Dataset(
        "eng_fra_tatoeba", "translate", "English-French sentence pairs, 142,787 (ManyThings/Tatoeba, 2017-09-29)",
        "CC BY 2.0 FR", "Tatoeba (tatoeba.org) via manythings.org/anki",
        "github.com/genimind/seq2seq (commit 4f3f8eb), fra-eng.zip",
        (DataFile("fra.txt", "2546838ae46e0eac4c02ab7032ea0a02a006074a5340077a36a9444f41e02888",
                  Source(FRA_ZIP, FRA_ZIP_SHA, member="fra.txt"),
                  also={"fra.txt.gz": "ec59d6aaba2103a1320330f39bec51dbebbb20cb6bbe9976bd16b0622c965a50"}),
         DataFile("_about.txt", "359011f5738272138286287b44db215d184823911eb049da2160a6ac6933d6c9",
                  Source(FRA_ZIP, FRA_ZIP_SHA, member="_about.txt")))),
    Dataset(
        "weather", "forecast", "Seattle daily weather 2012-2015 and hourly temperature 2010 (NOAA)",
        "public domain (NOAA); vega_datasets MIT", "vega_datasets 0.9.0 (NOAA data)",
        "PyPI vega_datasets 0.9.0",
        (DataFile("seattle-weather.csv", "62f0609f787158128aa2bd102967173a4953122dd4f872bf1d502cae1037df0b",
                  Source(VEGA, VEGA_SHA, member="vega_datasets/_data/seattle-weather.csv")),
         DataFile("seattle-temps.csv", "c220666521ff4bec4ffb6f0d9acfdc5c1056564b1aad6f78d3b06aa0a0c8b085",
                  Source(VEGA, VEGA_SHA, member="vega_datasets/_data/seattle-temps.csv")))),
    Dataset(
        "japanese_vowels", "classify", "UCI Japanese Vowels: 9 speakers, 12 LPC coefficients, 7-29 frames",
        "CC BY 4.0 (UCI)", "Kudo, Toyama, Shimbo, Multidimensional curve classification using "
        "passing-through regions, Pattern Recognition Letters 1999; doi:10.24432/C5NS47",
        "PyPI aeon 1.6.0 (UEA/UCR .ts files)",
        (DataFile("JapaneseVowels_TRAIN.ts", "68a430eabd919cc77f40b1f5f3bc0dcafacc1486bca9260785aeb7d262cc78cd",
                  Source(AEON, AEON_SHA, member="aeon/datasets/data/JapaneseVowels/JapaneseVowels_TRAIN.ts")),
         DataFile("JapaneseVowels_TEST.ts", "b3d41d6a0ca3bcad3afb9ca7d4365382aa51341e2e58bae2a574babdda5b9462",
                  Source(AEON, AEON_SHA, member="aeon/datasets/data/JapaneseVowels/JapaneseVowels_TEST.ts")))),
    Dataset(
        "sentiment_labelled_sentences", "classify", "UCI Sentiment Labelled Sentences: Amazon, IMDb, Yelp, "
        "1,000 each", "CC BY 4.0 (UCI)", "Kotzias et al., From Group to Individual Labels using Deep "
        "Features, KDD 2015", f"github.com/{UCI[0]} (commit 462f730)",
        tuple(DataFile(name, sha, Source(_github(*UCI, f"sentiment labelled sentences/{name}"), sha)) for name, sha in (
            ("amazon_cells_labelled.txt", "47003fc0a0d4840b00e96e715b6189bad09e7443a3da41c4cbe12ffc79f86ae3"),
            ("imdb_labelled.txt", "c662b9360c1652babb990d164835af12aa105db7991f1fdb19038115f0e93de8"),
            ("yelp_labelled.txt", "b565b1eeb864d76842588c3a256731b08bcdd9faf6de507bfe211a96f8b81912"),
            ("readme.txt", "736c26aa54e3614459e50314ece0698051f0923d108ed53938dcb1aa0483bfd4")))),
    Dataset(
        "nsmc", "classify", "Naver Sentiment Movie Corpus v1.0: 150,000 train + 50,000 test Korean reviews",
        "CC0 1.0", "Park, Naver Sentiment Movie Corpus v1.0, 2016, github.com/e9t/nsmc",
        f"github.com/{NSMC[0]} (commit cc0670e)",
        (DataFile("ratings_train.txt", None, Source(_github(*NSMC, "ratings_train.txt"), None),
                  git_blob="ac0dba272895dc1d0b3dd5f11afbeaeb7abe7876"),
         DataFile("ratings_test.txt", None, Source(_github(*NSMC, "ratings_test.txt"), None),
                  git_blob="b6cfcd8cd1557bcd9bf06617b0e429ed73e9a367"))),
    Dataset(
        "nsmc_sample", "classify", "a balanced 10,000 + 2,000 sample of NSMC reviews, made for this project "
        "from e9t/nsmc's raw files", "CC0 1.0", "Park, Naver Sentiment Movie Corpus v1.0, 2016",
        "rnnlab's data mirror only (built from github.com/e9t/nsmc raw/ files; not downloadable)",
        (DataFile("nsmc_sample_train.tsv", "f45b74a20ae888cfd3fe3b76709f3b00752cda54be8f7bc087651e2be39f243e", None),
         DataFile("nsmc_sample_test.tsv", "9be004b40f6be42c76c46dad92f42e25de88aa8349f302b0fb762e3b856dbdf1", None))),
)}


def parse_ref(ref: str) -> tuple[Dataset, DataFile]:
    """``dataset:NAME/FILE`` -> the dataset and the file; a ValueError names what is unknown."""
    body = ref[len(PREFIX):] if ref.startswith(PREFIX) else ref
    name, _, file = body.partition("/")
    if name not in DATASETS:
        raise ValueError(f"{ref}: no dataset named {name!r}; datasets are {', '.join(DATASETS)} (rnnlab data list)")
    dataset = DATASETS[name]
    try:
        return dataset, dataset.file(file)
    except KeyError:
        names = ", ".join(f.name for f in dataset.files)
        raise ValueError(f"{ref}: dataset {name} has no file {file!r}; its files are {names}") from None
