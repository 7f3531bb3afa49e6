"""Section 6: one output per input, then Seq2Seq, on the lecture's own sentence.

The lecture: an LSTM that writes one output per input, given "나는 학생이다" (two words),
can only say "I", "am" and stop; an encoder LSTM that reads the whole sentence, and a
decoder LSTM started from the encoder's final state that writes the answer word by word,
gives "I am a student".

The data is a small Korean -> English corpus (``korean_grammar.py``): copula sentences
(그는 선생님이다 -> he is a teacher), adjectives (그녀는 행복하다 -> she is happy) and
object-verb sentences whose verb moves from the end to the second place (나는 사과를
먹는다 -> i eat an apple), in two tenses and three registers. Korean words are tokens as
written, particle or ending attached ("나는", "학생이다"): exactly what the translate task's
word tokenizer makes of a raw sentence, so ``rnnlab translate`` reads what the model was
trained on. "나는 학생이다" is then two tokens and "i am a student" four, as on the slide.

"나는 학생이다" and four other sentences of its kind (``LECTURE``) are held out of the
corpus: each of their words occurs in training, the sentence never (``check_held_out``).

The one-output-per-input model is ``AlignedTagger`` (embedding -> LSTM -> a softmax at
every input step): output t is read at input t; it learns the answer's first T words (then
<eos> if the answer is shorter; nothing past the input is scored), so for T input tokens
it writes at most T words. The encoder-decoder is ``rnnlab.models.seq2seq.Seq2Seq`` without
attention: the encoder's final state (h_T, c_T) is the decoder's initial state, and the
decoder writes until <eos>. It is a real ``TranslateTask``'s model, prepared from the
corpus file, trained on the task's batches, measured by its ``evaluate`` and
``translate_lines``, and saved as a run directory (``write_run``) that ``rnnlab translate``
and ``rnnlab inspect`` load like any trained translator. Both models have the same sizes
and see the same batches.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from rnnlab.analysis import tour_figures_seq2seq
from rnnlab.data.batching import pad
from rnnlab.models.decoding import greedy_decode
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqBatch
from rnnlab.optim import Adam
from rnnlab.tour.korean_grammar import ADJECTIVES, KINDS, OBJECTS, PRONOUNS, ROLES, VERBS, grammar
from rnnlab.tour.nets import AlignedTagger
from rnnlab.tour.section import Progress, Section
from rnnlab.tour.steps import train_steps
from rnnlab.train.checkpoint import save_checkpoint
from rnnlab.train.config import config_to_dict
from rnnlab.train.loop import Progress as TrainingProgress
from rnnlab.train.tasks.translate import TranslateConfig, TranslateTask, detokenize

# held out of the corpus: the lecture's sentence and four of its kind
LECTURE = (("나는 학생이다", "i am a student"), ("저는 학생입니다", "i am a student"),
           ("그는 선생님이다", "he is a teacher"), ("우리는 사과를 먹는다", "we eat an apple"),
           ("그녀는 행복하다", "she is happy"))
SENTENCE, ANSWER = LECTURE[0]
OBJECT_VERB_SHARE = 1 / 3
EMBED, HIDDEN, BATCH, LR, CLIP, BEAM = 48, 64, 64, 5e-3, 1.0, 4
TEST_SIZE, DEV_SIZE = 500, 250
RUN_DIR = "seq2seq"  # inside the report's folder
# the check: Seq2Seq's held-out exact match is at least MIN_EXACT_MATCH, it translates SENTENCE
# into exactly ANSWER (greedy and beam), and the one-output-per-input LSTM writes no more words
# for SENTENCE than SENTENCE has tokens
MIN_EXACT_MATCH = 0.9


def steps(quick: bool) -> int:
    return 800 if quick else 1400


def cost(quick: bool) -> int:
    return 2 * steps(quick)


def corpus(rng: np.random.Generator) -> list[tuple[str, str, str]]:
    """The grammar's copula and adjective sentences and a random OBJECT_VERB_SHARE of its
    object-verb ones (there are many more of those: keeping them all would leave each copula
    word rarer in training), in the grammar's order."""
    return [pair for pair in grammar() if pair[2] != "object-verb" or rng.random() < OBJECT_VERB_SHARE]


def check_held_out(task: TranslateTask, corpus_sources: list[str]) -> None:
    """Every word of the LECTURE sentences is in the training vocabularies (built from the
    training split only), and no LECTURE sentence is in the corpus."""
    for korean, english in LECTURE:
        if korean in corpus_sources:
            raise RuntimeError(f"held-out sentence {korean!r} is in the training corpus")
        for vocab, tokens in ((task.src_vocab, task.source_tokens(korean)), (task.tgt_vocab, english.split())):
            unseen = [t for t in tokens if t not in vocab]
            if unseen:
                raise RuntimeError(f"held-out sentence {korean!r}: {unseen} never occur in training")


def aligned_batch(batch: Seq2SeqBatch):
    """The same pairs for the one-output-per-input LSTM: output t is read at input t, so the
    targets are the answer's first T words (then <eos> if the answer is shorter); steps past
    the input, or past the <eos>, are not scored."""
    N, T = batch.src.shape
    y = np.zeros((N, T), dtype=np.int64)
    k = min(T, batch.tgt_out.shape[1])
    y[:, :k] = batch.tgt_out[:, :k]  # y_1 .. y_m <eos> <pad> ...
    mask = (np.arange(T)[None] < batch.src_lengths[:, None]) & (y != 0)
    return batch.src, batch.src_lengths, np.where(mask, y, 0), mask


def aligned_decode(tagger: AlignedTagger, sources: list[np.ndarray], eos_id: int):
    """What the tagger writes for each source: its word ids up to the first <eos> (at most
    one per input token), and its output probabilities (N, T, V)."""
    src, lengths = pad(sources)
    logits = tagger.forward(src, lengths)[0]
    p = np.exp(logits - logits.max(axis=2, keepdims=True))
    p /= p.sum(axis=2, keepdims=True)
    out = []
    for row, length in enumerate(lengths):
        ids = p[row, :length].argmax(axis=1).tolist()
        out.append(ids[: ids.index(eos_id)] if eos_id in ids else ids)
    return out, p


def seq2seq_decode(model: Seq2Seq, task: TranslateTask, sources: list[np.ndarray]) -> list[list[int]]:
    """The model's greedy translation of each source, as target ids (no <bos>/<eos>)."""
    src, lengths = pad(sources)
    v = task.tgt_vocab
    return greedy_decode(model, src, lengths, bos_id=v.bos_id, eos_id=v.eos_id, max_len=task.decode_len,
                         pad_id=v.pad_id)


def exact_match(predicted: list, references: list) -> float:
    return float(np.mean([p == r for p, r in zip(predicted, references)]))


def decoder_steps(model: Seq2Seq, task: TranslateTask, sentence: str, top: int = 3):
    """Greedy decoding of one sentence, step by step from the encoder's final state: per
    step the word read, and the ``top`` most probable next words with their probabilities."""
    (src,) = task.encode_sources([sentence])
    memory, state, _ = model.encode(src[None], np.array([len(src)]))
    v = task.tgt_vocab
    token, rows = v.bos_id, []
    for _ in range(task.decode_len):
        logp, state = model.step(np.array([token]), state, memory)
        p = np.exp(logp[0].astype(np.float64))
        p[[v.pad_id, v.bos_id]] = 0.0  # never written (as in greedy_decode)
        best = np.argsort(-p)[:top]
        rows.append((v.tokens[token], [(v.tokens[k], float(p[k])) for k in best]))
        token = int(best[0])
        if token == v.eos_id:
            break
    return rows


def prepare_task(rng: np.random.Generator, run_dir: Path) -> tuple[TranslateTask, list[tuple[str, str]]]:
    """Write the corpus (less the LECTURE sentences) to run_dir/corpus.tsv and the LECTURE
    sentences to lecture.tsv; a TranslateTask reads the corpus, splits off test and dev and
    builds its vocabularies from the rest, as ``rnnlab train translate --data`` would."""
    run_dir.mkdir(parents=True, exist_ok=True)
    held = {korean for korean, _ in LECTURE}
    kept = [(ko, en) for ko, en, _ in corpus(rng) if ko not in held]
    data = run_dir / "corpus.tsv"
    data.write_text("".join(f"{ko}\t{en}\n" for ko, en in kept), encoding="utf-8")
    (run_dir / "lecture.tsv").write_text("".join(f"{ko}\t{en}\n" for ko, en in LECTURE), encoding="utf-8")
    seed, split_seed = (int(s) for s in rng.integers(2**31, size=2))
    config = TranslateConfig(data=str(data), test_size=TEST_SIZE, dev_size=DEV_SIZE, split_seed=split_seed,
                             embed=EMBED, hidden=HIDDEN, attention="none", beam=BEAM, batch_size=BATCH, lr=LR,
                             lr_schedule="constant", clip=CLIP, patience=0, seed=seed)
    config.validate()
    task = TranslateTask(config)
    task.prepare()
    check_held_out(task, [ko for ko, _ in kept])
    return task, kept


def write_run(run_dir: Path, task: TranslateTask, model: Seq2Seq, optimizer: Adam, curve, batches_per_epoch: int,
              seconds: float) -> None:
    """The translator as a run directory: best.npz with what ``rnnlab.train.loop`` saves
    (task, config, meta, progress, log), so ``load_run`` rebuilds task and model from it.
    The config says how many epochs the training steps reached; the log holds the dev exact
    match at every evaluation."""
    steps_done = len(curve.loss)
    epoch, batch = divmod(steps_done, batches_per_epoch)
    config = replace(task.config, epochs=epoch + (batch > 0))
    progress = TrainingProgress(epoch=epoch, batch=batch, lr=config.lr, train_seconds=seconds, done=True)
    log = [{"step": step, "dev_exact_match": score} for step, score in zip(curve.eval_steps, curve.scores)]
    meta = {"task": task.name, "config": config_to_dict(config), "meta": task.meta,
            "progress": asdict(progress), "log": log}
    save_checkpoint(run_dir, "best", model.params, optimizer.state_dict(), meta)


def exact_match_by_kind(outputs: list[str], refs: list[str], kinds: dict[str, str]) -> dict[str, float]:
    right, total = Counter(), Counter()
    for out, ref in zip(outputs, refs):
        right[kinds[ref]] += out == ref
        total[kinds[ref]] += 1
    return {kind: right[kind] / total[kind] for kind in KINDS}


def run(rng: np.random.Generator, quick: bool, progress: Progress, out_dir: Path) -> Section:
    n = steps(quick)
    run_dir = Path(out_dir) / RUN_DIR
    task, kept = prepare_task(rng, run_dir)
    seed, v = task.config.seed, task.tgt_vocab
    model = task.build_model(np.random.default_rng(seed))
    tagger = AlignedTagger(len(task.src_vocab), EMBED, HIDDEN, len(v), rng)

    epochs: list[list[Seq2SeqBatch]] = []  # each epoch's batches, their order drawn from (seed, epoch)

    def batches():
        for k in itertools.count():
            if k == len(epochs):
                epochs.append(task.train_batches(np.random.default_rng([seed, k])))
            yield from epochs[k]

    seq2seq_batches, tagger_batches = batches(), batches()  # both models see the same batches
    dev, test = task.splits["dev"], task.splits["test"]
    dev_tgt = [t.tolist() for t in dev.tgt]
    optimizer = Adam(LR)
    began = time.perf_counter()
    seq2seq_curve = train_steps(model, lambda: next(seq2seq_batches), n, progress, optimizer=optimizer, clip=CLIP,
                                every=max(n // 10, 1),
                                evaluate=lambda: exact_match(seq2seq_decode(model, task, dev.src), dev_tgt))
    write_run(run_dir, task, model, optimizer, seq2seq_curve, len(epochs[0]), time.perf_counter() - began)
    tagger_curve = train_steps(tagger, lambda: aligned_batch(next(tagger_batches)), n, progress, optimizer=Adam(LR),
                               clip=CLIP, every=max(n // 10, 1),
                               evaluate=lambda: exact_match(aligned_decode(tagger, dev.src, v.eos_id)[0], dev_tgt))

    # the random test pairs: Seq2Seq through the task's own evaluation (beam and greedy)
    evaluation = task.evaluate(model, "test")
    translations = evaluation.outputs
    aligned_test = [detokenize(v.decode(ids), "word") for ids in aligned_decode(tagger, test.src, v.eos_id)[0]]
    kinds = {en: kind for _, en, kind in grammar()}
    by_kind = {"seq2seq": exact_match_by_kind(translations.greedy, translations.refs, kinds),
               "aligned": exact_match_by_kind(aligned_test, translations.refs, kinds)}
    # the held-out lecture sentences, as `rnnlab translate` writes them
    sentences, answers = [ko for ko, _ in LECTURE], [en for _, en in LECTURE]
    greedy = task.translate_lines(model, sentences, beam=1)
    beamed = task.translate_lines(model, sentences, beam=BEAM)
    aligned_ids, aligned_p = aligned_decode(tagger, task.encode_sources(sentences), v.eos_id)
    aligned = [detokenize(v.decode(ids), "word") for ids in aligned_ids]
    decoder = decoder_steps(model, task, SENTENCE)
    written = [best[0][0] for _, best in decoder if best[0][0] != v.tokens[v.eos_id]]
    if detokenize(written, "word") != greedy[0]:
        raise RuntimeError(f"decoder_steps wrote {written}, greedy decoding {greedy[0]!r}")

    tokens = task.source_tokens(SENTENCE)
    reordered = next(ko for ko, en in LECTURE if kinds[en] == "object-verb")
    numbers = {
        "seq2seq_exact_match": exact_match(translations.greedy, translations.refs),
        "seq2seq_exact_match_beam": exact_match(translations.beam, translations.refs),
        "seq2seq_bleu": evaluation.metrics["bleu"],
        "aligned_exact_match": exact_match(aligned_test, translations.refs),
        **{f"{name}_exact_match_{kind.replace('-', '_')}": value
           for name, values in by_kind.items() for kind, value in values.items()},
        "sentence_tokens": len(tokens),
        "aligned_sentence_words": len(aligned[0].split()),
        "seq2seq_sentence_words": len(greedy[0].split()),
        "seq2seq_sentence_right_greedy": int(greedy[0] == ANSWER),
        "seq2seq_sentence_right_beam": int(beamed[0] == ANSWER),
        **{f"decoder_step{k + 1}_p": best[0][1] for k, (_, best) in enumerate(decoder)},
        "seq2seq_lecture_right": sum(g == a for g, a in zip(greedy, answers)),
        "aligned_lecture_right": sum(a == b for a, b in zip(aligned, answers)),
        "lecture_sentences": len(LECTURE), "corpus_pairs": len(kept),
        **{f"{split}_pairs": count for split, count in task.meta["pairs"].items()},
        "src_vocab": len(task.src_vocab), "tgt_vocab": len(v),
        "mean_korean_tokens": float(np.mean([len(ko.split()) for ko, _ in kept])),
        "mean_english_words": float(np.mean([len(en.split()) for _, en in kept])),
        "share_lengths_differ": float(np.mean([len(ko.split()) != len(en.split()) for ko, en in kept])),
        "train_steps": n,
    }

    curves_png = out_dir / "s6_seq2seq.png"
    tour_figures_seq2seq.curves(curves_png, {"one output per input (LSTM)": tagger_curve,
                                             "encoder-decoder (Seq2Seq)": seq2seq_curve}, by_kind)
    sentence_png = out_dir / "s6_seq2seq_sentence.png"
    tour_figures_seq2seq.lecture_sentence(sentence_png, tokens, aligned_p[0, : len(tokens)], v.tokens, decoder)
    table = [["Korean (held out)", "reference", "Seq2Seq greedy", f"Seq2Seq beam {BEAM}", "one output per input"]]
    table += [list(row) for row in zip(sentences, answers, greedy, beamed, aligned)]
    holds = bool(numbers["seq2seq_exact_match"] >= MIN_EXACT_MATCH and greedy[0] == ANSWER and beamed[0] == ANSWER
                 and numbers["aligned_sentence_words"] <= len(tokens))
    return Section(
        key="s6_seq2seq", title="6. One output per input, then Seq2Seq",
        claim="An LSTM that emits one output per input, given '나는 학생이다' (two words), can only say "
              "'I', 'am' and stop; an encoder LSTM that reads the whole sentence into its final state, and a "
              "decoder LSTM started from that state that writes the answer word by word, gives 'I am a student'.",
        setup=f"A Korean -> English corpus from a grammar of {len(PRONOUNS)} pronouns, {len(ROLES.split('|'))} "
              f"nouns of persons, {len(ADJECTIVES)} adjectives, {len(VERBS)} verbs and "
              f"{sum(len(v.split('|')) for v in OBJECTS.values())} objects: copula sentences (그는 선생님이다 -> "
              f"he is a teacher), adjectives (그녀는 행복하다 -> she is happy) and object-verb sentences whose "
              f"verb moves from last to second (나는 사과를 먹는다 -> i eat an apple), in two tenses and three "
              f"registers ({len(kept)} pairs; {numbers['mean_korean_tokens']:.2f} Korean tokens -> "
              f"{numbers['mean_english_words']:.2f} English words on average, lengths differ in "
              f"{numbers['share_lengths_differ']:.0%}). Korean tokens are words as written, particle or ending "
              f"attached ('나는', '학생이다'), as the translate task's tokenizer cuts raw text; English tokens "
              f"are words. Held out: '{SENTENCE}' and {len(LECTURE) - 1} more sentences of its kind (each word "
              f"seen in training, the sentence never) and {TEST_SIZE} random test pairs; {DEV_SIZE} dev pairs. "
              f"Both models: embeddings {EMBED}, LSTM H = {HIDDEN}, {n} Adam steps of {BATCH} on the same "
              f"batches. Seq2Seq: rnnlab.models.seq2seq without attention, trained as a TranslateTask and saved "
              f"beside this page: rnnlab translate {run_dir} '{SENTENCE}'.",
        result=f"'{SENTENCE}' ({len(tokens)} tokens): one output per input writes '{aligned[0]}' (and for "
               f"'{reordered}' it must name the verb before reading it: '{aligned[sentences.index(reordered)]}'); Seq2Seq "
               f"writes '{greedy[0]}' (greedy) and '{beamed[0]}' (beam {BEAM}); from the encoder's final state "
               "the decoder wrote " + ", ".join(f"'{best[0][0]}' (p = {best[0][1]:.2f})" for _, best in decoder)
               + f". Held-out exact match: Seq2Seq {numbers['seq2seq_exact_match']:.3f} (beam "
               f"{numbers['seq2seq_exact_match_beam']:.3f}, BLEU {numbers['seq2seq_bleu']:.1f}), one output per "
               f"input {numbers['aligned_exact_match']:.3f}; of the {len(LECTURE)} lecture sentences "
               f"{numbers['seq2seq_lecture_right']} and {numbers['aligned_lecture_right']} right.",
        check=f"Seq2Seq held-out exact match at least {MIN_EXACT_MATCH:g}, '{SENTENCE}' -> exactly '{ANSWER}' "
              f"(greedy and beam), and one output per input writes at most {len(tokens)} words for it",
        holds=holds, numbers=numbers, figures=[curves_png, sentence_png], table=table,
    )
