"""``rnnlab export`` of models that generate: a language model's step graph, looped with its
state by the caller, gives the model's next-character distributions, test loss and line
scores; a translator's encoder and decoder-step graphs, looped greedily, give the
translations of ``translate_lines(beam=1)``, the test split's greedy BLEU and its
teacher-forced loss to 1e-5."""

import numpy as np
import pytest
from export_helpers import (
    DATA,
    decoded,
    encode_text,
    export,
    garbage_padding,
    need,
    onnxruntime,
    outputs,
    predicted,
    sentencepiece_model,
    train,
)

from rnnlab.cli import main
from rnnlab.data.batching import pad
from rnnlab.losses import log_softmax
from rnnlab.train.run import load_run
from rnnlab.train.tasks.translate import corpus_bleu, detokenize

SHAKESPEARE = DATA / "tinyshakespeare" / "input.txt"
ENG_FRA = DATA / "eng_fra_tatoeba" / "fra.txt.gz"


def _probabilities(logits: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(logits.astype(np.float64)))


def _states(step: dict) -> dict:
    """A step's h_out (, c_out) as the next step's h_in (, c_in)."""
    return {name.replace("_out", "_in"): v for name, v in step.items() if name in ("h_out", "c_out")}


# ----- lm ------------------------------------------------------------------------------------

LANGUAGE_MODELS = {"lstm-2-layers": ["--cell", "lstm", "--layers", "2"], "gru": ["--cell", "gru"]}


@pytest.fixture(scope="module", params=list(LANGUAGE_MODELS))
def language_model(request, tmp_path_factory):
    need(SHAKESPEARE)
    root = tmp_path_factory.mktemp(request.param)
    text = root / "slice.txt"
    text.write_text(SHAKESPEARE.read_text(encoding="utf-8")[:4000], encoding="utf-8")
    run = train("lm", root / "run", "--data", str(text), "--hidden", "12", "--embed", "5", "--seq-len", "16",
                 "--batch-size", "4", "--patience", "0", *LANGUAGE_MODELS[request.param])
    return run, text


def test_the_step_graph_looped_over_a_prime_gives_the_models_next_character_distribution(language_model, capsys):
    run, _ = language_model
    session, meta = export(run, capsys)
    task, model = load_run(run)
    ids = {c: i for i, c in enumerate(meta["vocab"])}
    prime = np.array([ids[c] for c in "First Citizen:\nBefore we"])
    L, H = model.rnn.num_layers, model.rnn.hidden_size
    state = {i.name: np.zeros((L, 1, H), np.float32) for i in session.get_inputs() if i.name.endswith("_in")}
    assert len(state) == model.rnn.kernel.num_states
    for k in prime:  # one character at a time, the state handed back each time
        out = outputs(session, {"x": np.array([[k]]), "lengths": np.array([1]), **state})
        state = _states(out)
    logits, carry = model.logits(prime[None])
    np.testing.assert_allclose(out["probs"][0, 0], _probabilities(logits[0, -1]), atol=1e-5)
    # the whole prime in one call ends in the same state
    whole = outputs(session, {"x": prime[None], "lengths": np.array([len(prime)]),
                                 **{k: np.zeros_like(v) for k, v in state.items()}})
    for name, v in _states(whole).items():
        np.testing.assert_allclose(v, state[name], atol=1e-5)
    for _ in range(20):  # generating: the likeliest character fed back, by both
        k = int(out["probs"][0, 0].argmax())
        logits, carry = model.logits(np.array([[k]]), carry)
        out = outputs(session, {"x": np.array([[k]]), "lengths": np.array([1]), **state})
        state = _states(out)
        np.testing.assert_allclose(out["probs"][0, 0], _probabilities(logits[0, -1]), atol=1e-5)
        np.testing.assert_allclose(out["log_probs"][0, 0], np.log(_probabilities(logits[0, -1])), atol=1e-4)


def test_the_step_graph_scores_text_as_rnnlab(language_model, tmp_path, capsys):
    run, text = language_model
    session, meta = export(run, capsys)
    task, model = load_run(run)
    task.prepare()
    ids = {c: i for i, c in enumerate(meta["vocab"])}
    L, H = model.rnn.num_layers, model.rnn.hidden_size
    # the test part read as one stream, in two calls that carry the state
    test = np.array([ids[c] for c in text.read_text(encoding="utf-8")[-200:]])  # 5 % of 4000 characters
    state = {i.name: np.zeros((L, 1, H), np.float32) for i in session.get_inputs() if i.name.endswith("_in")}
    total = 0.0
    for lo, hi in ((0, 77), (77, len(test) - 1)):
        out = outputs(session, {"x": test[None, lo:hi], "lengths": np.array([hi - lo]), **state})
        total -= out["log_probs"][0, np.arange(hi - lo), test[lo + 1 : hi + 1]].astype(np.float64).sum()
        state = _states(out)
    assert total / (len(test) - 1) == pytest.approx(task.evaluate(model, "test").metrics["loss"], abs=1e-5)

    # rnnlab predict's score of each line: read after a newline, its characters and the newline
    lines = [line for line in text.read_text(encoding="utf-8")[-600:].splitlines()[1:]]
    (tmp_path / "lines.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    streams = [np.array([ids[c] for c in "\n" + line + "\n"]) for line in lines]
    x, lengths = pad([s[:-1] for s in streams])
    zeros = {k: np.zeros((L, len(lines), H), np.float32) for k in state}
    log_p = outputs(session, {"x": garbage_padding(x, lengths, 9), "lengths": lengths, **zeros})["log_probs"]
    scores = [-log_p[n, np.arange(len(s) - 1), s[1:]].astype(np.float64).mean() for n, s in enumerate(streams)]
    printed = [float(v) for v in predicted(run, tmp_path / "lines.txt", capsys)]
    np.testing.assert_allclose(scores, printed, atol=5e-5 + 1e-5)  # predict prints 4 decimals


# ----- translate -----------------------------------------------------------------------------

TRANSLATORS = {  # a bidirectional 2-layer LSTM with general attention, a GRU with dot, a tanh RNN without
    "lstm-bi-2-layers-general": ["--cell", "lstm", "--bidirectional", "--layers", "2", "--attention", "general"],
    "gru-dot": ["--cell", "gru", "--attention", "dot"],
    "rnn-none": ["--cell", "rnn", "--attention", "none"],
    "lstm-subwords": ["--src-tokens", "subword", "--src-subwords", "120", "--tgt-tokens", "subword",
                      "--tgt-subwords", "150"],
}


@pytest.fixture(scope="module", params=list(TRANSLATORS))
def translator(request, tmp_path_factory):
    need(ENG_FRA)
    import gzip

    root = tmp_path_factory.mktemp(request.param)
    with gzip.open(ENG_FRA, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    pairs = root / "pairs.tsv"
    pairs.write_text("\n".join(lines[20000:140000:1500]) + "\n", encoding="utf-8")  # 80 pairs, 3-10 words
    run = train("translate", root / "run", "--data", str(pairs), "--test-size", "12", "--dev-size", "10",
                 "--hidden", "8", "--embed", "6", "--batch-size", "8", "--beam", "3", "--max-len", "9",
                 *TRANSLATORS[request.param])
    return run, pairs


def _greedy(encoder, decoder, x: np.ndarray, lengths: np.ndarray, target: dict) -> list[list[int]]:
    """Greedy decoding with the two graphs, as a program without rnnlab would loop them."""
    memory = outputs(encoder, {"x": x, "lengths": lengths})
    state = _states(memory)
    y = np.full(len(x), target["bos"])
    out, done = [[] for _ in x], np.zeros(len(x), dtype=bool)
    for _ in range(target["max_decode_len"]):
        step = outputs(decoder, {"y": y, "memory": memory["memory"], "memory_lengths": memory["memory_lengths"],
                                    **state})
        state = _states(step)
        log_p = step["log_probs"]
        log_p[:, target["never"]] = -np.inf
        y = log_p.argmax(axis=1)
        for n in np.flatnonzero(~done):
            if y[n] == target["eos"]:
                done[n] = True
            else:
                out[n].append(int(y[n]))
        if done.all():
            break
    return out


def _joiner(tokens: str, subwords: str | None):
    """Target tokens -> text as the metadata says (``preprocessing.target.detokenize``)."""
    if tokens == "subword":
        return sentencepiece_model(subwords).decode_pieces
    return lambda pieces: detokenize(pieces, tokens)


def test_the_encoder_and_decoder_step_translate_greedily_as_rnnlab(translator, capsys):
    ort = onnxruntime()
    run, pairs = translator
    capsys.readouterr()
    assert main(["export", str(run), "--out", str(run / "fr-en.onnx")]) == 0
    assert capsys.readouterr().out.split() == ["wrote", str(run / "fr-en.encoder.onnx"),
                                               "wrote", str(run / "fr-en.decoder.onnx")]
    encoder, decoder = (ort.InferenceSession(str(run / f"fr-en.{part}.onnx"), providers=["CPUExecutionProvider"])
                        for part in ("encoder", "decoder"))
    meta = decoded(decoder)
    assert meta == decoded(encoder) | {"graph": "decoder"}
    rules, vocab, target_vocab = meta["preprocessing"], meta["vocab"], meta["target_vocab"]
    task, model = load_run(run)
    sources = [line.split("\t")[0] for line in pairs.read_text(encoding="utf-8").splitlines()[:25]]
    sources.append(sources[0] + " " + sources[1])  # longer than max_len: the encoder reads 9 tokens
    subwords = meta.get("subwords", {})
    assert set(subwords) == ({"src", "tgt"} if "subwords" in run.parent.name else set())
    x, lengths = pad([np.array(encode_text(s, rules, vocab, subwords.get("src"))) for s in sources])
    assert lengths.max() > rules["max_len"]
    ids = _greedy(encoder, decoder, garbage_padding(x, lengths, 4), lengths, rules["target"])
    join = _joiner(rules["target"]["tokens"], subwords.get("tgt"))
    ours = [join([target_vocab[k] for k in y]) for y in ids]
    assert ours == task.translate_lines(model, sources, beam=1)

    # the test split: greedy BLEU, and the teacher-forced loss stepping through the references
    task.prepare()
    test = task.splits["test"]
    x, lengths = pad(test.src)
    hypotheses = [join([target_vocab[k] for k in y]) for y in _greedy(encoder, decoder, x, lengths, rules["target"])]
    scores = task.evaluate(model, "test").metrics
    assert corpus_bleu(hypotheses, test.refs) == pytest.approx(scores["bleu_greedy"], abs=1e-9)
    memory = outputs(encoder, {"x": x, "lengths": lengths})
    state, target = _states(memory), rules["target"]
    y_in, _ = pad([np.concatenate([[target["bos"]], t]) for t in test.tgt])
    y_out, _ = pad([np.concatenate([t, [target["eos"]]]) for t in test.tgt])
    nll, count = 0.0, 0
    for s in range(y_in.shape[1]):
        step = outputs(decoder, {"y": y_in[:, s], "memory": memory["memory"],
                                    "memory_lengths": memory["memory_lengths"], **state})
        state = _states(step)
        real = y_out[:, s] != target["pad"]
        nll -= step["log_probs"][real, y_out[real, s]].astype(np.float64).sum()
        count += int(real.sum())
    assert nll / count == pytest.approx(scores["loss"], abs=1e-5)
