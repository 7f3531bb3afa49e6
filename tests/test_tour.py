"""The lecture tour: the probes it reads, the small models it trains, its tasks, and the
whole ``rnnlab tour --quick`` run down to a report that a real browser displays."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from rnnlab import GRU, LSTM, RNN
from rnnlab.analysis.gradients import hidden_state_gradients, kernel_cache
from rnnlab.cli import main
from rnnlab.gradcheck import numerical_gradient, relative_error
from rnnlab.models.classifier import SequenceBatch, SequenceClassifier
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqBatch
from rnnlab.optim import SGD
from rnnlab.threads import blas_threads, choose_threads, current_blas_threads
from rnnlab.tour import korean_grammar, s1_order, s2_shared, s4_vanishing, s5_gates, s6_seq2seq
from rnnlab.tour.nets import MLP, AlignedTagger
from rnnlab.tour.runner import SECTIONS
from rnnlab.tour.steps import train_steps
from rnnlab.train.run import load_run
from rnnlab.train.tasks.translate import TranslateTask

# ----------------------------------------------------------------------------------------
# dL/dh_t replayed from the cache equals what the layer's own backward gives
# ----------------------------------------------------------------------------------------


def _layers(rng):
    D, H = 3, 5
    return [RNN(D, H, nonlinearity=n, rng=rng, dtype=np.float64) for n in ("tanh", "relu", "sigmoid")] + [
        LSTM(D, H, rng=rng, dtype=np.float64), GRU(D, H, rng=rng, dtype=np.float64, update_bias=0.5)]


@pytest.mark.parametrize("k", range(5))
def test_hidden_state_gradients_equal_the_layers_backward_at_every_step(k):
    rng = np.random.default_rng(k)
    layer = _layers(rng)[k]
    N, T, H = 4, 6, layer.hidden_size
    x = rng.standard_normal((N, T, layer.input_size))
    state0 = rng.standard_normal((1, N, H))
    state0 = (state0, rng.standard_normal((1, N, H))) if isinstance(layer, LSTM) else state0
    out, _, cache = layer.forward(x, state=state0)
    dh_T = rng.standard_normal((N, H))
    dh, dc = hidden_state_gradients(kernel_cache(cache), dh_T)
    assert dh.shape == (T + 1, N, H)
    for t in range(T):
        # dL/dh_t is the gradient on the initial state of the same layer restarted after step t
        if t == 0:
            start = state0
        elif isinstance(layer, LSTM):
            start = (out[None, :, t - 1], kernel_cache(cache).c[t - 1][None])
        else:
            start = out[None, :, t - 1]
        _, _, suffix = layer.forward(x[:, t:], state=start)
        dstate = (dh_T[None], np.zeros((1, N, H))) if isinstance(layer, LSTM) else dh_T[None]
        _, d0, _ = layer.backward(np.zeros((N, T - t, H)), dstate, suffix)
        if isinstance(layer, LSTM):
            np.testing.assert_allclose(dh[t], d0[0][0], rtol=1e-10, atol=1e-12)
            # the restart sees c_t only as a state; dc also counts the path through h_t = o tanh(c_t)
            through_h = 0.0
            if t > 0:
                kc = kernel_cache(cache)
                through_h = d0[0][0] * kc.o[t - 1] * (1 - kc.tanh_c[t - 1] ** 2)
            np.testing.assert_allclose(dc[t], d0[1][0] + through_h, rtol=1e-10, atol=1e-12)
        else:
            assert dc is None
            np.testing.assert_allclose(dh[t], d0[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(dh[T], dh_T)


def test_hidden_state_gradients_refuse_what_they_cannot_read():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 2))
    with pytest.raises(ValueError, match="full-length"):
        kernel_cache(RNN(2, 3, rng=rng, dtype=np.float64).forward(x, lengths=np.array([4, 2, 3]))[2])
    with pytest.raises(ValueError, match="single-layer"):
        kernel_cache(LSTM(2, 3, num_layers=2, rng=rng, dtype=np.float64).forward(x)[2])
    with pytest.raises(ValueError, match="RNNCache, LSTMCache or GRUCache"):
        hidden_state_gradients(object(), np.zeros((3, 3)))


# ----------------------------------------------------------------------------------------
# the tour's small models: whole-model gradients against finite differences
# ----------------------------------------------------------------------------------------


def _check_gradients(model, batch):
    loss, grads, _ = model.loss_and_grads(batch, None)
    assert set(grads) == set(model.params)
    for name, p in model.params.items():
        numeric = numerical_gradient(lambda: model.loss_and_grads(batch, None)[0], p)
        assert relative_error(grads[name], numeric) < 1e-6, name


@pytest.mark.parametrize("objective", ["softmax", "mse"])
def test_mlp_gradient(objective):
    rng = np.random.default_rng(2)
    model = MLP(5, 4, 3 if objective == "softmax" else 1, objective, rng, dtype=np.float64)
    x = rng.standard_normal((6, 5))
    y = rng.integers(0, 3, size=6) if objective == "softmax" else rng.standard_normal(6)
    _check_gradients(model, (x, y))


@pytest.mark.parametrize("make", [lambda rng: RNN(3, 4, nonlinearity="relu", rng=rng, dtype=np.float64),
                                  lambda rng: LSTM(3, 4, rng=rng, dtype=np.float64)])
def test_recurrent_reader_gradient_with_lengths(make):
    rng = np.random.default_rng(3)
    model = SequenceClassifier.reading(make(rng), 3, rng)
    for p in model.params.values():
        p += 0.1 * rng.standard_normal(p.shape)  # non-zero biases
    x = rng.standard_normal((4, 5, 3))
    _check_gradients(model, SequenceBatch(x, np.array([5, 2, 4, 3]), rng.integers(0, 3, size=4)))


def test_aligned_tagger_gradient_with_mask():
    rng = np.random.default_rng(4)
    model = AlignedTagger(6, 3, 4, 5, rng, dtype=np.float64)
    ids = rng.integers(1, 6, size=(3, 5))
    ids[1, 3:] = 0
    lengths = (ids != 0).sum(axis=1)
    _check_gradients(model, (ids, lengths, rng.integers(0, 5, size=(3, 5)), ids != 0))


def test_mlp_rejects_an_unknown_objective():
    with pytest.raises(ValueError, match="objective"):
        MLP(2, 2, 2, "hinge", np.random.default_rng(0))


# ----------------------------------------------------------------------------------------
# the training loop: divergence and early stops still complete the progress bar
# ----------------------------------------------------------------------------------------


class _Exploding:
    """A one-parameter model whose loss stops being finite at its third step."""

    def __init__(self):
        self.params = {"w": np.ones(2)}
        self.calls = 0

    def loss_and_grads(self, batch, rng, carry):
        self.calls += 1
        loss = float("inf") if self.calls == 3 else 1.0
        return loss, {"w": np.ones(2)}, None


def test_fit_stops_a_diverged_run_and_counts_every_step():
    done = []
    curve = train_steps(_Exploding(), lambda: None, 10, done.append, optimizer=SGD(0.1), clip=None,
                allow_divergence=True)
    assert curve.diverged_at == 3 and len(curve.loss) == 2 and sum(done) == 10
    with pytest.raises(FloatingPointError):
        train_steps(_Exploding(), lambda: None, 10, done.append, optimizer=SGD(0.1), clip=None)


def test_fit_stops_early_once_solved_and_counts_every_step():
    done = []
    model = _Exploding()
    model.calls = -100  # never explodes here
    curve = train_steps(model, lambda: None, 100, done.append, optimizer=SGD(0.0), evaluate=lambda: 1.0,
                every=10, stop_at=0.99)
    assert curve.eval_steps == [0, 10] and sum(done) == 100


def test_blas_threads_sets_the_count_inside_and_restores_it_after():
    before = current_blas_threads()
    if before is None:
        pytest.skip("no BLAS library reports its thread count here")
    n = 2 if before == 1 else 1  # a count different from the current one
    with blas_threads(n):
        assert current_blas_threads() == n
    assert current_blas_threads() == before
    with pytest.raises(RuntimeError), blas_threads(n):  # restored when the block raises too
        raise RuntimeError
    assert current_blas_threads() == before


@pytest.mark.parametrize("requested, cores, load, threads", [
    (0, 2, 0.1, 2), (0, 2, 1.2, 1), (0, 2, 5.0, 1), (0, 8, 2.6, 5), (3, 2, 1.0, 3)])
def test_threads_are_the_free_cores_unless_asked(requested, cores, load, threads):
    assert choose_threads(requested, cores, load)[0] == threads


# ----------------------------------------------------------------------------------------
# the generated tasks mean what the sections say
# ----------------------------------------------------------------------------------------


def test_order_classes_share_their_bag_of_words():
    ids, y = s1_order.order_task(np.random.default_rng(5), 200)
    assert 0.3 < y.mean() < 0.7
    for row, label in zip(ids, y):
        assert (row == 0).sum() == 1 and (row == 1).sum() == 1
        assert label == (np.argmax(row == 0) < np.argmax(row == 1))
    swapped = np.where(ids == 0, 1, np.where(ids == 1, 0, ids))
    np.testing.assert_array_equal(s1_order.bag_of_words(ids), s1_order.bag_of_words(swapped))


def test_bigram_labels_match_the_sequences():
    rng = np.random.default_rng(6)
    lengths = rng.integers(4, 21, size=300)
    ids, y = s2_shared.bigram_task(rng, lengths)
    for row, length, label in zip(ids, lengths, y):
        seq = row[:length].tolist()
        present = any(a == 0 and b == 1 for a, b in zip(seq, seq[1:]))
        assert present == bool(label)


def test_marker_task_targets_follow_the_marker():
    ids, y, store = s5_gates.marker_task(np.random.default_rng(7), 100)
    rows = np.arange(100)
    assert np.all(ids[rows, store - 1] == s5_gates.MARKER) and np.all(ids[rows, store] == y)
    assert np.all((ids == s5_gates.MARKER).sum(axis=1) == 1)


def test_the_grammar_translates_by_the_rules():
    """Particles by the noun's last sound, am / is / are, a / an, plurals, eats, the past,
    the registers; and the lecture's sentences are among its sentences."""
    pairs = {ko: en for ko, en, _ in korean_grammar.grammar()}
    expected = {"나는 사과를 먹는다": "i eat an apple", "그는 사과를 먹는다": "he eats an apple",
                "그녀가 물을 마셨다": "she drank water", "우리는 학생이었습니다": "we were students",
                "저는 의사예요": "i am a doctor", "제가 학생이에요": "i am a student",
                "그들이 아이예요": "they are children", "너는 배우이다": "you are an actor",
                "내가 책을 읽었다": "i read a book", "그는 책을 좋아해요": "he likes books",
                "그녀는 행복합니다": "she is happy", "우리가 바빴어요": "we were busy",
                "그들은 시계를 좋아한다": "they like watches", "네가 빵을 만들었다": "you made bread",
                **dict(s6_seq2seq.LECTURE)}
    assert {ko: pairs.get(ko) for ko in expected} == expected
    for unspoken in ("저는 학생이다", "나는 학생입니다", "너는 학생이에요", "나가 학생이다", "나는 사과을 먹는다"):
        assert unspoken not in pairs
    assert len(pairs) == len(korean_grammar.grammar())  # one translation per sentence


def test_translating_the_grammar_needs_reordering_and_other_lengths():
    """Object-verb sentences put the verb last in Korean and second in English; copula and
    adjective sentences are always longer in English than in Korean tokens."""
    verbs = {}
    for ko, en, kind in korean_grammar.grammar():
        ko_words, en_words = ko.split(), en.split()
        if kind == "object-verb":
            assert len(ko_words) == 3
            verbs.setdefault(ko_words[2], set()).add(en_words[1].removesuffix("s"))
        else:
            assert len(en_words) > len(ko_words) == 2
    # the Korean verb, read last, says which English verb comes second (eats / eat alike)
    assert len(verbs) == 6 * len(korean_grammar.VERBS) and all(len(words) == 1 for words in verbs.values())


def test_lecture_sentences_are_held_out_but_every_word_of_them_is_seen(tmp_path, monkeypatch):
    task, kept = s6_seq2seq.prepare_task(np.random.default_rng(0), tmp_path)
    lines = (tmp_path / "corpus.tsv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(kept) > 2000
    sources = [line.split("\t")[0] for line in lines]
    for korean, english in s6_seq2seq.LECTURE:
        assert korean not in sources
        assert all(word in task.src_vocab for word in korean.split())  # built from train only
        assert all(word in task.tgt_vocab for word in english.split())
    with pytest.raises(RuntimeError, match="is in the training corpus"):
        s6_seq2seq.check_held_out(task, [*sources, s6_seq2seq.SENTENCE])
    monkeypatch.setattr(s6_seq2seq, "LECTURE", (("나는 고양이이다", "i am a cat"),))
    with pytest.raises(RuntimeError, match="never occur in training"):
        s6_seq2seq.check_held_out(task, sources)


def test_aligned_targets_are_the_answer_cut_at_the_input_length():
    src = np.array([[4, 5, 0], [4, 6, 7]])
    tgt_out = np.array([[8, 9, 10, 11, 3], [8, 12, 3, 0, 0]])  # 4 words + <eos>; 2 words + <eos>
    batch = Seq2SeqBatch(src, np.array([2, 3]), np.zeros_like(tgt_out), tgt_out, np.array([5, 3]))
    ids, lengths, y, mask = s6_seq2seq.aligned_batch(batch)
    np.testing.assert_array_equal(y, [[8, 9, 0], [8, 12, 3]])
    np.testing.assert_array_equal(mask, [[True, True, False], [True, True, True]])


# ----------------------------------------------------------------------------------------
# the whole tour, quick, and its report in a real browser
# ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_tour(tmp_path_factory):
    out = tmp_path_factory.mktemp("tour")
    assert main(["tour", "--quick", "--out", str(out)]) == 0
    return out


def test_quick_tour_writes_report_numbers_and_figures(quick_tour):
    record = json.loads((quick_tour / "numbers.json").read_text())
    assert list(record["sections"]) == [m.__name__.rsplit(".", 1)[-1] for m in SECTIONS]
    page = (quick_tour / "report.html").read_text()
    for key, section in record["sections"].items():
        assert section["figures"] and section["numbers"], key
        for name in section["figures"]:
            png = quick_tour / name
            assert png.stat().st_size > 10_000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
            assert name in page
        assert f'id="{key}"' in page
    assert page.count("data:image/png;base64,") == sum(len(s["figures"]) for s in record["sections"].values())
    assert record["meta"]["mode"] == "quick"


def test_every_claim_of_the_lecture_holds_in_the_quick_tour(quick_tour):
    """Each section checks its claim against its own measurements; in the quick run too."""
    record = json.loads((quick_tour / "numbers.json").read_text())
    failed = {key: section["title"] for key, section in record["sections"].items() if not section["holds"]}
    assert not failed, failed


def test_tour_numbers_are_the_run_s_own(quick_tour):
    """What the page says is what the run measured and checked (e.g. section 1's accuracies and
    criterion), and section 1 measured what it claims: the MLP over the words stays at chance."""
    record = json.loads((quick_tour / "numbers.json").read_text())
    page = (quick_tour / "report.html").read_text()
    numbers = record["sections"]["s1_order"]["numbers"]
    assert f"MLP {numbers['mlp_accuracy']:.3f}, RNN {numbers['rnn_accuracy']:.3f}" in page
    assert f"MLP accuracy within {s1_order.MAX_MLP_FROM_CHANCE:g} of chance" in page
    assert numbers["chance"] == s1_order.CHANCE
    assert abs(numbers["mlp_accuracy"] - s1_order.CHANCE) <= s1_order.MAX_MLP_FROM_CHANCE


def test_vanishing_section_measures_the_gru_beside_the_rnn_and_the_lstm(quick_tour):
    """Section 4 shows what the GRU measured (gradient reach at initialisation, solved
    distance) on the page and in numbers.json, and says what its update gate does."""
    record = json.loads((quick_tour / "numbers.json").read_text())
    numbers = record["sections"]["s4_vanishing"]["numbers"]
    page = (quick_tour / "report.html").read_text()
    for cell in ("rnn", "lstm", "gru"):
        assert {f"{cell}_grad_ratio_h0_init", f"{cell}_grad_ratio_h0_trained", f"{cell}_solved_up_to"} <= set(numbers)
    assert f"GRU {numbers['gru_grad_ratio_h0_init']:.2g}; trained" in page
    assert f"GRU k = {numbers['gru_solved_up_to']} (of" in page
    assert "one gate playing forget and input at once (f = z, i = 1 - z)" in page
    assert numbers["gru_grad_ratio_h0_init"] >= s4_vanishing.MIN_GRAD_RATIO_FACTOR * numbers["rnn_grad_ratio_h0_init"]


def test_section_6_verdict_is_computed_from_its_numbers(quick_tour):
    """The page states the bar the code checks, the lecture's sentence and both models' answers."""
    record = json.loads((quick_tour / "numbers.json").read_text())
    section = record["sections"]["s6_seq2seq"]
    numbers, page = section["numbers"], (quick_tour / "report.html").read_text()
    assert f"Seq2Seq held-out exact match at least {s6_seq2seq.MIN_EXACT_MATCH:g}" in page
    assert f"Held-out exact match: Seq2Seq {numbers['seq2seq_exact_match']:.3f}" in page
    expected = (numbers["seq2seq_exact_match"] >= s6_seq2seq.MIN_EXACT_MATCH
                and numbers["seq2seq_sentence_right_greedy"] == numbers["seq2seq_sentence_right_beam"] == 1
                and numbers["aligned_sentence_words"] <= numbers["sentence_tokens"])
    assert section["holds"] == expected
    assert numbers["sentence_tokens"] == 2 and numbers["seq2seq_sentence_words"] == 4


def test_quick_tour_saves_a_translator_that_rnnlab_translate_and_inspect_load(quick_tour, capsys, tmp_path):
    run = quick_tour / s6_seq2seq.RUN_DIR
    task, model = load_run(run)
    assert isinstance(task, TranslateTask) and isinstance(model, Seq2Seq)
    assert task.config.attention == "none" and model.attention is None
    assert task.config.data == str(run / "corpus.tsv")
    capsys.readouterr()
    assert main(["translate", str(run), s6_seq2seq.SENTENCE]) == 0
    assert capsys.readouterr().out == s6_seq2seq.ANSWER + "\n"
    assert main(["inspect", str(run), "--input", s6_seq2seq.SENTENCE, "--out", str(tmp_path / "inspect")]) == 0
    assert (tmp_path / "inspect" / "index.html").is_file()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
IMAGE_CHECK = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const ok = images.filter(i => i.complete && i.naturalWidth > 0).length;
  const out = document.createElement("pre");
  out.id = "image-check";
  out.textContent = "images " + ok + "/" + images.length;
  document.body.appendChild(out);
});
</script>"""


def _chromium(tmp_path, *args):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'chromium-profile'}"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_report_opens_in_chromium_with_every_image_loaded(quick_tour, tmp_path):
    # a copy of the page with a script that counts the images the browser decoded
    probe = tmp_path / "report_probe.html"
    probe.write_text((quick_tour / "report.html").read_text().replace("</body>", IMAGE_CHECK + "</body>"))
    result = _chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    expected = (quick_tour / "report.html").read_text().count("<img ")
    assert f"images {expected}/{expected}" in result.stdout, result.stderr[-2000:]
    assert expected >= len(SECTIONS)

    screenshot = quick_tour / "report_screenshot.png"
    result = _chromium(tmp_path, "--hide-scrollbars", "--window-size=1200,2400",
                       f"--screenshot={screenshot}", (quick_tour / "report.html").as_uri())
    assert screenshot.exists() and screenshot.stat().st_size > 20_000, result.stderr[-2000:]
