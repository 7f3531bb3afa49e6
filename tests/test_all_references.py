"""BLEU against every reference the corpus holds (``rnnlab.analysis.all_references``)."""

import pytest

from rnnlab.analysis.all_references import every_reference
from rnnlab.train.tasks.translate import corpus_bleu

CORPUS = (["You're late.", "you're late. ", "You're late.", "I'm here."],
          ["Tu es en retard.", "Vous êtes en retard.", "tu es en retard.", "Je suis là."])


def test_each_pair_gets_its_own_reference_first_then_the_other_distinct_translations():
    refs = every_reference(["YOU'RE LATE.", "I'm here.", "Unseen."],
                           ["Vous êtes en retard.", "Je suis là.", "Inconnu."], CORPUS)
    assert refs == [["Vous êtes en retard.", "Tu es en retard."], ["Je suis là."], ["Inconnu."]]


def test_a_valid_alternative_scores_as_right_only_against_all_references():
    hypotheses = ["tu es en retard.", "je suis là."]
    own = ["Vous êtes en retard.", "Je suis là."]
    every = every_reference(["You're late.", "I'm here."], own, CORPUS)
    assert corpus_bleu(hypotheses, every) == pytest.approx(100.0)
    assert corpus_bleu(hypotheses, own) < 60
    # padding shorter lists with their first reference changes nothing: one list per pair
    # of a single reference scores as the plain one-reference call
    assert corpus_bleu(hypotheses, [[r] for r in own]) == corpus_bleu(hypotheses, own)


def test_shorter_reference_lists_are_padded_with_their_own_first_reference():
    import sacrebleu

    hypotheses = ["retard.", "je suis là."]  # a short hypothesis: an empty pad would be its closest length
    references = [["Tu es en retard."], ["Je suis là.", "Je suis ici."]]
    padded = [["Tu es en retard.", "Je suis là."], ["Tu es en retard.", "Je suis ici."]]
    expected = sacrebleu.corpus_bleu(hypotheses, padded, lowercase=True).score
    assert corpus_bleu(hypotheses, references) == pytest.approx(expected)
    assert expected != pytest.approx(sacrebleu.corpus_bleu(
        hypotheses, [padded[0], ["", "Je suis ici."]], lowercase=True).score)
