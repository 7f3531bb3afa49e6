"""read_conllu: words and tags, skipped multiword tokens and empty nodes, errors by line."""

import pytest

from rnnlab.data.conllu import Sentence, read_conllu
from rnnlab.data.errors import DataError

TWO_SENTENCES = (
    "# sent_id = 1\n"
    "# text = I don't know .\n"
    "1\tI\tI\tPRON\tPRP\tCase=Nom\t4\tnsubj\t4:nsubj\t_\n"
    "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t4:aux\t_\n"
    "3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t4:advmod\t_\n"
    "4\tknow\tknow\tVERB\tVB\t_\t0\troot\t0:root\t_\n"
    "5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t4:punct\t_\n"
    "\n"
    "# sent_id = 2\n"
    "1\tSue\tSue\tPROPN\tNNP\t_\t2\tnsubj\t2:nsubj\t_\n"
    "2\tlikes\tlike\tVERB\tVBZ\t_\t0\troot\t0:root\t_\n"
    "2.1\tlikes\tlike\tVERB\tVBZ\t_\t_\t_\t0:root\tCopyOf=2\n"
    "3\ttea\ttea\tNOUN\tNN\t_\t2\tobj\t2:obj\t_\n"
)  # no blank line at the end: the last sentence still counts


def write(tmp_path, text, name="t.conllu"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_words_and_upos(tmp_path):
    sentences = read_conllu(write(tmp_path, TWO_SENTENCES))
    assert sentences == [
        Sentence(["I", "do", "n't", "know", "."], ["PRON", "AUX", "PART", "VERB", "PUNCT"]),
        Sentence(["Sue", "likes", "tea"], ["PROPN", "VERB", "NOUN"]),
    ]
    assert [len(s) for s in sentences] == [5, 3]


def test_each_word_keeps_its_line_in_the_file(tmp_path):
    text = TWO_SENTENCES
    sentences = read_conllu(write(tmp_path, text))
    rows = text.split("\n")
    assert [len(s.lines) for s in sentences] == [5, 3]
    for sentence in sentences:
        for word, line in zip(sentence.words, sentence.lines):
            assert rows[line - 1].split("\t")[1] == word


def test_xpos(tmp_path):
    sentences = read_conllu(write(tmp_path, TWO_SENTENCES), column="xpos")
    assert sentences[0].tags == ["PRP", "VBP", "RB", "VB", "."]


def test_bad_column_name(tmp_path):
    with pytest.raises(ValueError, match="column must be one of \\('upos', 'xpos'\\), got 'deprel'"):
        read_conllu(write(tmp_path, TWO_SENTENCES), column="deprel")


def test_several_blank_lines_between_sentences(tmp_path):
    text = TWO_SENTENCES.replace("\n\n", "\n\n\n\n")
    assert len(read_conllu(write(tmp_path, text))) == 2


def _break_line(text: str, number: int, new_line: str) -> str:
    lines = text.split("\n")
    lines[number - 1] = new_line
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("4\tknow\tknow\tVERB", r"line 7: expected 10 tab-separated columns \(ID FORM .* MISC\), found 4"),
        ("4\tknow\tknow\tVERB\tVB\t_\t0\troot\t0:root\t_\textra", "line 7: expected 10 .* found 11"),
        ("4 know know VERB VB _ 0 root 0:root _", "line 7: expected 10 .* found 1"),
        ("four\tknow\tknow\tVERB\tVB\t_\t0\troot\t0:root\t_", r"line 7: column 1 \(ID\) = 'four': .*not a valid ID"),
        ("4\tknow\tknow\tVERB\tVB\t_\tzero\troot\t0:root\t_", r"line 7: column 7 \(HEAD\) = 'zero'"),
        ("6\tknow\tknow\tVERB\tVB\t_\t0\troot\t0:root\t_", "line 7: word ID 6 out of order: expected 4"),
        ("4\tknow\tknow\t_\tVB\t_\t0\troot\t0:root\t_", "line 7: word 'know' has no UPOS tag"),
    ],
)
def test_malformed_line_is_named(tmp_path, line, message):
    path = write(tmp_path, _break_line(TWO_SENTENCES, 7, line))
    with pytest.raises(DataError, match=rf"t.conllu, {message}"):
        read_conllu(path)


def test_missing_blank_line_between_sentences(tmp_path):
    path = write(tmp_path, TWO_SENTENCES.replace(".\t_\t4\tpunct\t4:punct\t_\n\n", ".\t_\t4\tpunct\t4:punct\t_\n"))
    with pytest.raises(DataError, match="line 10: word ID 1 out of order: expected 6 .*blank line missing"):
        read_conllu(path)


def test_missing_xpos(tmp_path):
    path = write(tmp_path, _break_line(TWO_SENTENCES, 11, "1\tSue\tSue\tPROPN\t_\t_\t2\tnsubj\t2:nsubj\t_"))
    read_conllu(path)  # UPOS is there
    with pytest.raises(DataError, match="line 11: word 'Sue' has no XPOS tag"):
        read_conllu(path, column="xpos")
    sentences = read_conllu(path, column="xpos", require_tags=False)  # text still to be tagged
    assert sentences[1].words[0] == "Sue" and sentences[1].tags[0] is None


def test_only_comments(tmp_path):
    with pytest.raises(DataError, match="t.conllu: contains no sentences"):
        read_conllu(write(tmp_path, "# just a comment\n\n# another\n"))
