"""Text normalization, tokenizers, CTC decoding on hand-made outputs, and model shapes."""
from __future__ import annotations

import math

import pytest
import torch

from taskhub import UserError
from taskhub_speech.decoding import Decoder, DecoderConfig, greedy_ids
from taskhub_speech.metrics import edit_distance
from taskhub_speech.text import BpeTokenizer, CharTokenizer, Normalization, number_words


def test_normalization_case_punctuation_numbers():
    norm = Normalization()
    assert norm("Hello, World!  It's 1890.") == "hello world it's one thousand eight hundred ninety"
    assert norm("'quoted' -- text") == "quoted text"
    assert Normalization(lowercase=False, punctuation="keep", numbers="keep")("4 7 # 1") == "4 7 # 1"
    assert number_words(0) == "zero" and number_words(2_000_015) == "two million fifteen"
    with pytest.raises(UserError, match="punctuation"):
        Normalization(punctuation="strip")


def test_char_tokenizer_roundtrip_and_oov():
    tok = CharTokenizer.fit(["ab c", "cab"])
    assert tok.symbols == ["<blank>", " ", "a", "b", "c"]
    assert tok.decode(tok.encode("ab c")) == "ab c"
    assert tok.oov("abz") == {"z"}
    assert tok.encode("az") == tok.encode("a")  # OOV characters cannot be targets


def test_bpe_tokenizer_roundtrip_and_state():
    texts = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 20
    tok = BpeTokenizer.fit(texts, vocab_size=30)
    ids = tok.encode("the cat sat")
    assert all(i > 0 for i in ids) and tok.decode(ids) == "the cat sat"
    from taskhub_speech.text import tokenizer_from_state

    again = tokenizer_from_state(tok.state_dict())
    assert again.symbols == tok.symbols


def _ctc_frames(frames: list[int], vocab: int, sharp: float = 8.0) -> torch.Tensor:
    logits = torch.zeros(len(frames), vocab)
    for t, i in enumerate(frames):
        logits[t, i] = sharp
    return logits.log_softmax(-1)


def test_greedy_collapses_repeats_and_blanks():
    # a a _ a b b _  ->  "a a b" ids [1, 1, 2]; padding frames beyond the length are ignored
    lp = _ctc_frames([1, 1, 0, 1, 2, 2, 0, 3, 3], vocab=4).unsqueeze(0)
    assert greedy_ids(lp, torch.tensor([7])) == [[1, 1, 2]]


def test_greedy_and_beam_decoders_agree_on_clear_outputs():
    tok = CharTokenizer(list(" ab"))  # 0 blank, 1 space, 2 a, 3 b
    frames = [2, 2, 0, 3, 1, 1, 2, 0, 0, 2]   # "ab aa"
    lp = torch.stack([_ctc_frames(frames, 4), _ctc_frames([3, 0, 3] + [0] * 7, 4)])
    lengths = torch.tensor([10, 3])
    greedy = Decoder(DecoderConfig(type="greedy"), tok)(lp, lengths)
    assert greedy == ["ab aa", "bb"]
    beam = Decoder(DecoderConfig(type="beam", beam_width=8), tok)(lp, lengths)
    assert beam == greedy


def test_beam_finds_sequence_greedy_misses():
    # Two frames of (blank 0.4, a 0.35, b 0.25): greedy's best path is blank-blank -> "" (0.16), but the
    # paths of "a" (a-a, a-blank, blank-a) sum to 0.1225 + 0.14 + 0.14 = 0.40: beam search finds it.
    p = torch.tensor([[0.4, 0.35, 0.25], [0.4, 0.35, 0.25]])
    lp = p.log().unsqueeze(0)
    tok = CharTokenizer(list("ab"))
    assert Decoder(DecoderConfig(type="greedy"), tok)(lp, torch.tensor([2])) == [""]
    assert Decoder(DecoderConfig(type="beam", beam_width=8), tok)(lp, torch.tensor([2])) == ["a"]


def test_decoder_config_errors():
    tok = CharTokenizer(list("ab"))
    with pytest.raises(UserError, match="greedy or beam"):
        Decoder(DecoderConfig(type="viterbi"), tok)
    with pytest.raises(UserError, match="lm_path"):
        Decoder(DecoderConfig(type="beam", lm_path="/nonexistent/lm.arpa"), tok)(torch.zeros(1, 2, 3), torch.tensor([2]))


def test_edit_distance():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("a b".split(), "a c b".split()) == 1


@pytest.mark.parametrize("name,kwargs", [
    ("CRNN", {"channels": (8, 8), "time_strides": (2, 1), "hidden_size": 16, "num_layers": 1}),
    ("BiLSTM", {"hidden_size": 16, "num_layers": 1, "stack": 3}),
    ("QuartzNet", {"channels": 16, "blocks": (5,), "repeat": 1}),
])
def test_feature_models_shapes_and_lengths(name, kwargs):
    from taskhub_speech import models

    model = getattr(models, name)(num_features=20, vocab_size=7, **kwargs).eval()
    x, lengths = torch.randn(3, 37, 20), torch.tensor([37, 30, 11])
    log_probs, out = model(x, lengths)
    assert log_probs.shape[0] == 3 and log_probs.shape[2] == 7
    assert int(out.max()) == log_probs.shape[1]
    assert torch.equal(out, model.output_lengths(lengths))
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(()), atol=1e-4)


def test_small_wav2vec2_from_config_no_download():
    from taskhub_speech.models import Wav2Vec2

    cfg = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64,
           "conv_dim": [16, 16], "conv_stride": [5, 4], "conv_kernel": [10, 4], "num_conv_pos_embeddings": 16,
           "num_conv_pos_embedding_groups": 2}
    model = Wav2Vec2(num_features=1, vocab_size=9, config=cfg).eval()
    x, lengths = torch.randn(2, 4000, 1), torch.tensor([4000, 2500])
    with torch.no_grad():
        log_probs, out = model(x, lengths)
    assert log_probs.shape[:2] == (2, int(out.max())) and log_probs.shape[2] == 9
    assert math.isclose(float(log_probs[0].exp().sum(-1).mean()), 1.0, rel_tol=1e-4)
