"""Text models: padding never changes a prediction, word vectors load, tokenizers round-trip."""
from __future__ import annotations

import pytest
import torch

from taskhub import UserError
from taskhub_text.models import BagOfEmbeddings, CNNClassifier, HFClassifier, RecurrentClassifier, make_embedding
from taskhub_text.task import Collate
from taskhub_text.tokenization import TextTokenizer, train_tokenizer

torch.set_num_threads(1)

SENTENCE = torch.tensor([5, 9, 3, 7])
OTHERS = [torch.tensor([4, 4, 8, 12, 6, 2, 9, 11, 3, 10, 5]), torch.tensor([7]), torch.tensor([2, 3, 4, 5, 6, 7, 8, 9, 10])]


def _alone_and_batched(model: torch.nn.Module, sentence: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    collate = Collate(pad_id=0)
    alone = collate([(sentence, torch.tensor(0))])
    batch = collate([(OTHERS[0], torch.tensor(0)), (sentence, torch.tensor(0)), *[(o, torch.tensor(0)) for o in OTHERS[1:]]])
    assert batch["input_ids"].shape[1] > len(sentence)  # the sentence really is padded in the batch
    model.eval()
    with torch.no_grad():
        return model(alone["input_ids"], alone["lengths"])[0], model(batch["input_ids"], batch["lengths"])[1]


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_recurrent_padding_never_changes_the_prediction(cell, pooling, bidirectional):
    torch.manual_seed(0)
    model = RecurrentClassifier(20, 3, pad_id=0, cell=cell, embedding_dim=8, hidden_size=6, num_layers=2,
                                bidirectional=bidirectional, pooling=pooling)
    alone, batched = _alone_and_batched(model, SENTENCE)
    torch.testing.assert_close(alone, batched, rtol=1e-5, atol=1e-6)


def test_recurrent_word_dropout_only_while_training():
    torch.manual_seed(0)
    model = RecurrentClassifier(20, 2, pad_id=0, embedding_dim=8, hidden_size=6, dropout=0.0, embedding_dropout=0.0,
                                word_dropout=0.5, pooling="mean")
    ids, lengths = SENTENCE[None, :].repeat(16, 1), torch.full((16,), len(SENTENCE))
    model.train()
    out = model(ids, lengths)
    assert not torch.allclose(out, out[:1].expand_as(out))  # rows differ: words were dropped at random
    alone, batched = _alone_and_batched(model, SENTENCE)  # eval: no word dropout, padding still ignored
    torch.testing.assert_close(alone, batched, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(model(ids, lengths), alone.expand(16, -1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("sentence", [SENTENCE, torch.tensor([5, 9]), torch.tensor([6, 3, 5, 9, 11, 2, 4])])
def test_cnn_padding_never_changes_the_prediction(sentence):
    torch.manual_seed(0)
    model = CNNClassifier(20, 2, pad_id=0, embedding_dim=8, filter_sizes=(2, 3, 5), num_filters=4)
    alone, batched = _alone_and_batched(model, sentence)
    torch.testing.assert_close(alone, batched, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ngrams", [1, 2, 3])
def test_bag_of_embeddings_padding_never_changes_the_prediction(ngrams):
    torch.manual_seed(0)
    model = BagOfEmbeddings(20, 2, pad_id=0, embedding_dim=8, ngrams=ngrams, buckets=97, hidden=5)
    alone, batched = _alone_and_batched(model, SENTENCE)
    torch.testing.assert_close(alone, batched, rtol=1e-5, atol=1e-6)


def test_bag_of_bigrams_tells_word_order_apart():
    torch.manual_seed(0)
    model = BagOfEmbeddings(20, 2, pad_id=0, embedding_dim=8, ngrams=2, buckets=97).eval()
    lengths = torch.tensor([2, 2])
    out = model(torch.tensor([[3, 4], [4, 3]]), lengths)
    assert not torch.allclose(out[0], out[1])
    unigram = BagOfEmbeddings(20, 2, pad_id=0, embedding_dim=8, ngrams=1).eval()
    out = unigram(torch.tensor([[3, 4], [4, 3]]), lengths)
    torch.testing.assert_close(out[0], out[1])


def test_small_transformer_from_config_needs_no_download():
    torch.manual_seed(0)
    model = HFClassifier(20, 2, pad_id=0, config={"model_type": "bert", "hidden_size": 16, "num_hidden_layers": 1,
                                                   "num_attention_heads": 2, "intermediate_size": 32})
    alone, batched = _alone_and_batched(model, SENTENCE)
    torch.testing.assert_close(alone, batched, rtol=1e-4, atol=1e-5)


def test_word_vectors_load_by_token_and_can_be_frozen(tmp_path):
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("3 4\ngood 1 2 3 4\nBad -1 -2 -3 -4\nunused 9 9 9 9\n")  # word2vec header, mixed case
    vocab = ["[PAD]", "[UNK]", "good", "bad"]
    emb = make_embedding(4, 4, pad_id=0, vectors=str(vectors), freeze=True, vocab=vocab)
    torch.testing.assert_close(emb.weight[2], torch.tensor([1.0, 2, 3, 4]))
    torch.testing.assert_close(emb.weight[3], torch.tensor([-1.0, -2, -3, -4]))
    assert emb.weight[0].abs().sum() == 0 and not emb.weight.requires_grad
    with pytest.raises(UserError, match="embedding_dim=8"):
        make_embedding(4, 8, pad_id=0, vectors=str(vectors), vocab=vocab)
    with pytest.raises(UserError, match="file not found"):
        make_embedding(4, 4, pad_id=0, vectors=str(tmp_path / "nope.txt"), vocab=vocab)


@pytest.mark.parametrize("kind", ["word", "wordpiece", "bpe"])
def test_tokenizers_round_trip_through_json(kind):
    texts = ["The food was NOT good.", "great service, lovely staff", "an unbelievably bad ending"] * 10
    tok = train_tokenizer(texts, kind=kind, vocab_size=300, lowercase=True, max_length=5)
    again = TextTokenizer.from_json(tok.to_json(), tok.max_length)
    sample = ["the FOOD was great, not bad at all", "zzzz unseen", ""]
    assert tok.encode(sample) == again.encode(sample)
    assert tok.encode(["the food"]) == tok.encode(["THE FOOD"])  # lower-cased
    assert all(1 <= len(ids) <= 5 for ids in tok.encode(sample))  # truncated, never empty
    assert tok.pad_id == 0 and tok.vocab()[tok.pad_id] == "[PAD]"
