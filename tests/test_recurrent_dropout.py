"""Recurrent (variational) dropout: one mask per sequence, layer and direction, on h_{t-1}
in the recurrent product only, the same at every step, drawn from the rng the caller passes.

The gradients with a fixed mask are checked against finite differences in
``test_recurrent_gradcheck.py`` and the fast kernels against the reference loops with a mask
in ``test_recurrent_consistency.py``; here: what the mask is, where it is drawn, and that
it changes nothing when it is off or all ones.
"""

import numpy as np
import pytest
from recurrent_helpers import LENGTHS, D, H, N, T, make_layer, random_state, state_parts

from rnnlab.layers.dropout import dropout_mask
from rnnlab.layers.gru import gru_backward, gru_forward, gru_forward_reference
from rnnlab.layers.lstm import lstm_backward, lstm_forward, lstm_forward_reference
from rnnlab.layers.rnn import rnn_backward, rnn_forward, rnn_forward_reference

CELLS = ["rnn", "lstm", "gru"]
P = 0.4
KERNELS = {"rnn": (rnn_forward, rnn_backward), "lstm": (lstm_forward, lstm_backward),
           "gru": (gru_forward, gru_backward)}
REFERENCE_FORWARD = {"rnn": rnn_forward_reference, "lstm": lstm_forward_reference, "gru": gru_forward_reference}


def _kernel_problem(cell, rng):
    layer = make_layer(cell)
    x = rng.standard_normal((T, N, D))
    state0 = [rng.standard_normal((N, H)) for _ in range(2 if cell == "lstm" else 1)]
    return layer._weights(0, 0), x, state0


@pytest.mark.parametrize("cell", CELLS)
def test_a_mask_of_ones_equals_no_mask(cell):
    """Multiplying by 1 is exact: the masked path computes bit for bit what the plain one does."""
    rng = np.random.default_rng(0)
    weights, x, state0 = _kernel_problem(cell, rng)
    forward, backward = KERNELS[cell]
    dh = rng.standard_normal((T, N, H))
    dstate_T = [rng.standard_normal((N, H)) for _ in state0]
    results = []
    for mask in (None, np.ones((N, H))):
        h, state_T, cache = forward(x, *state0, *weights, mask=mask)
        results.append((h, state_parts(state_T), backward(dh, *dstate_T, cache)))
    (h0, s0, b0), (h1, s1, b1) = results
    np.testing.assert_array_equal(h0, h1)
    for a, b in zip(s0, s1):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(b0[:-1], b1[:-1]):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(b0[-1], b1[-1]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cell", CELLS)
def test_the_mask_reads_h_prev_in_the_recurrent_product_only(cell):
    """Step 1 from h_0 with mask m equals step 1 from h_0 * m in the recurrent product and
    h_0 itself on the direct path; with m = 0 the recurrent product sees nothing."""
    rng = np.random.default_rng(1)
    weights, x, state0 = _kernel_problem(cell, rng)
    forward = REFERENCE_FORWARD[cell]
    zero = np.zeros((N, H))
    h_masked, *_ = forward(x[:1], *state0, *weights, mask=zero)
    zero_state = [zero] + state0[1:]  # h_0 = 0; the LSTM keeps its c_0
    h_from_zero, *_ = forward(x[:1], *zero_state, *weights)
    if cell == "gru":  # h_1 = (1 - z) n + z h_0: the direct path still carries h_0
        W_x, W_h, b, b_hn = weights
        a = x[0] @ W_x + b
        z = 1 / (1 + np.exp(-a[:, H : 2 * H]))
        r = 1 / (1 + np.exp(-a[:, :H]))
        n = np.tanh(a[:, 2 * H :] + r * b_hn)
        np.testing.assert_allclose(h_masked[0], (1 - z) * n + z * state0[0], atol=1e-12)
        assert not np.allclose(h_masked[0], h_from_zero[0])
    else:  # the RNN and the LSTM read h_{t-1} only through W_h
        np.testing.assert_allclose(h_masked[0], h_from_zero[0], atol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
def test_layer_draws_one_scaled_mask_per_sequence_layer_and_direction(cell):
    layer = make_layer(cell, num_layers=2, bidirectional=True, recurrent_dropout=P)
    x = np.random.default_rng(2).standard_normal((N, T, D))
    _, _, cache = layer.forward(x, rng=np.random.default_rng(3))
    assert cache.masks.shape == (4, N, H) and cache.masks.dtype == layer.dtype
    assert set(np.unique(cache.masks)) == {0.0, 1 / (1 - P)}  # kept units scaled by 1 / (1 - p)
    for layer_index, caches in enumerate(cache.caches):  # each kernel got its own row of masks
        for direction, kernel_cache in enumerate(caches):
            np.testing.assert_array_equal(kernel_cache.mask, cache.masks[2 * layer_index + direction])
    assert not np.array_equal(cache.masks[0], cache.masks[1])


@pytest.mark.parametrize("cell", CELLS)
def test_off_without_an_rng_and_nothing_drawn_when_p_is_zero(cell):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((N, T, D))
    dropping = make_layer(cell, 2, True, recurrent_dropout=P)
    plain = make_layer(cell, 2, True)
    out_eval, _, cache = dropping.forward(x, lengths=LENGTHS)  # evaluation: no rng
    assert cache.masks is None
    np.testing.assert_array_equal(out_eval, plain.forward(x, lengths=LENGTHS)[0])
    generator = np.random.default_rng(5)
    before = generator.bit_generator.state
    out_p0, _, cache = plain.forward(x, lengths=LENGTHS, rng=generator)  # p = 0: the rng is not touched
    assert cache.masks is None and generator.bit_generator.state == before
    np.testing.assert_array_equal(out_p0, out_eval)
    out_train, _, _ = dropping.forward(x, lengths=LENGTHS, rng=generator)
    assert not np.allclose(out_train, out_eval)


@pytest.mark.parametrize("cell", CELLS)
def test_each_sequence_keeps_its_own_mask_in_a_padded_batch(cell):
    """The masks are drawn in the caller's row order, sequence-major (N, L * dirs, H), and
    sorted with the batch: sequence n, run alone through the reference loop with row n of
    that draw, gives the batch's rows."""
    rng = np.random.default_rng(6)
    layer = make_layer(cell, recurrent_dropout=P)
    x = rng.standard_normal((N, T, D))
    state0 = random_state(layer, rng)
    out, _, cache = layer.forward(x, lengths=LENGTHS, state=state0, rng=np.random.default_rng(7))
    assert cache.layout.order is not None  # the rows really were reordered
    masks = dropout_mask((N, 1, H), P, np.random.default_rng(7), np.float64).transpose(1, 0, 2)  # the same draw
    assert not np.array_equal(masks, cache.masks)  # ... which the batch holds sorted
    for n, length in enumerate(LENGTHS):
        start = [s[0, n : n + 1] for s in state_parts(state0)]
        alone, *_ = REFERENCE_FORWARD[cell](x[n : n + 1, :length].swapaxes(0, 1), *start, *layer._weights(0, 0),
                                            mask=masks[0, n : n + 1])
        np.testing.assert_allclose(out[n, :length], alone[:, 0], atol=1e-12)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, "0.2", True])
def test_recurrent_dropout_must_be_a_probability_below_one(bad):
    with pytest.raises(ValueError, match=r"recurrent_dropout must be a probability in \[0, 1\)"):
        make_layer("gru", recurrent_dropout=bad)


# ----- every model draws the masks from its training rng, and only while training ----------


def _models_and_batches(recurrent_dropout):
    """One small model of each kind with recurrent dropout p, and a batch it reads."""
    from test_seq2seq import _batch as seq2seq_batch
    from test_tagger import SIZES as TAGGER_SIZES
    from test_tagger import _batch as tagger_batch

    from rnnlab.models.charlm import CharLM, StreamBatch
    from rnnlab.models.classifier import SequenceBatch, SequenceClassifier
    from rnnlab.models.forecaster import Forecaster, WindowBatch
    from rnnlab.models.seq2seq import Seq2Seq
    from rnnlab.models.tagger import Tagger

    rng = np.random.default_rng(0)
    common = dict(cell="gru", hidden=4, layers=2, dropout=0.0, rng=rng, recurrent_dropout=recurrent_dropout)
    return [
        (SequenceClassifier(num_classes=3, bidirectional=True, input_size=2, **common),
         SequenceBatch(rng.standard_normal((3, 5, 2)).astype(np.float32), np.array([5, 3, 4]), np.array([0, 2, 1]))),
        (Forecaster(input_size=3, target_index=0, bidirectional=False, **common),
         WindowBatch(rng.standard_normal((4, 6, 3)).astype(np.float32), rng.standard_normal(4).astype(np.float32))),
        (CharLM(vocab_size=5, embed=2, **common), StreamBatch(rng.integers(0, 5, (2, 6)), rng.integers(0, 5, (2, 6)))),
        (Tagger(**TAGGER_SIZES, bidirectional=True, **common), tagger_batch(rng)),
        (Seq2Seq(src_vocab=7, tgt_vocab=9, embed=2, bidirectional=True, attention="general",
                 **{k: v for k, v in common.items() if k != "dropout"}), seq2seq_batch()),
    ]


@pytest.mark.parametrize("index", range(5), ids=["classifier", "forecaster", "charlm", "tagger", "seq2seq"])
def test_every_model_draws_recurrent_dropout_from_its_training_rng_only(index, monkeypatch):
    from rnnlab.layers.stack import RecurrentStack

    masks_seen = []
    forward = RecurrentStack.forward

    def recording_forward(self, *args, **kwargs):
        out, state, cache = forward(self, *args, **kwargs)
        masks_seen.append((self.recurrent_dropout > 0, cache.masks is not None))
        return out, state, cache

    monkeypatch.setattr(RecurrentStack, "forward", recording_forward)
    model, batch = _models_and_batches(0.5)[index]
    model.loss_and_grads(batch, np.random.default_rng(1))
    # every recurrent layer with the option dropped units while training (the tagger's
    # character RNN, which reads each distinct form once per batch, has none by design)
    assert any(p for p, _ in masks_seen) and all(p == masked for p, masked in masks_seen)
    masks_seen.clear()
    model.trace(batch)  # evaluation: no rng
    assert masks_seen and not any(masked for _, masked in masks_seen)
    plain, _ = _models_and_batches(0.0)[index]  # p = 0: the same run as a model without the option
    generator = np.random.default_rng(1)
    loss_plain = plain.loss_and_grads(batch, generator)[0]
    assert loss_plain == model.loss_and_grads(batch, None)[0]


TASK_CASES = {  # task -> (required options, the meta its model_options read)
    "classify": ({"train": "a.ts", "test": "b.ts"},
                 {"labels": {"tokens": ["up", "down"]}, "kind": "ts", "input_size": 2}),
    "forecast": ({"data": "w.csv", "target": "temp"}, {"inputs": ["temp", "wind"], "target_index": 0}),
    "lm": ({"data": "t.txt"}, {"chars": list("abcde")}),
    "tag": ({"train": "a.conllu", "test": "b.conllu"},
            {"words": {"tokens": ["<pad>", "<unk>", "a"]}, "chars": {"tokens": ["<pad>", "a"]},
             "tags": {"tokens": ["DET", "NOUN"]}, "word_counts": [0, 0, 3]}),
}


@pytest.mark.parametrize("name", TASK_CASES)
def test_every_task_builds_its_model_with_the_cell_and_recurrent_dropout_it_was_given(name):
    from rnnlab.models.parts import CELLS
    from rnnlab.train.config import resolve_config
    from rnnlab.train.tasks import task_class

    required, meta = TASK_CASES[name]
    Task_ = task_class(name)
    task = Task_(resolve_config(Task_.Config, None, {**required, "cell": "gru", "recurrent_dropout": 0.3}), meta)
    options = task.model_options()
    assert options["cell"] == "gru" and options["recurrent_dropout"] == 0.3
    model = task.build_model(np.random.default_rng(0))
    layers = [v for v in vars(model).values() if isinstance(v, CELLS["gru"])]
    assert layers and all(layer.recurrent_dropout == (0.0 if layer is getattr(model, "char_rnn", None) else 0.3)
                          for layer in layers)
