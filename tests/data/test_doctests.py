"""The examples in the data modules' docstrings run and print what they show."""

import doctest

import pytest

from rnnlab.data import batching, series, text, vocab


@pytest.mark.parametrize("module", [batching, series, text, vocab], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
