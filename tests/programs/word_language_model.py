"""A word-level language model, written for PyTorch: a corpus read from train/valid/test text
files, batchified into columns, an RNN (LSTM, GRU, RNN_TANH, RNN_RELU) or Transformer model,
truncated back-propagation with hidden-state repackaging, gradient clipping, plain SGD written
by hand, learning-rate annealing, the best weights saved and loaded back, and greedy text
generation.

Without --data, a small corpus from a toy grammar is written (by NumPy) to a temporary folder.
Initial weights come from a seeded NumPy generator, so any library that runs this program
starts from the same numbers. Dropout draws from the library's own generator: run with
--dropout 0 to compare loss curves.
"""

import argparse
import math
import os
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# --------------------------------------------------------------------------------------------
# data


class Dictionary:
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self):
        return len(self.idx2word)


class Corpus:
    def __init__(self, path):
        self.dictionary = Dictionary()
        self.train = self.tokenize(os.path.join(path, "train.txt"))
        self.valid = self.tokenize(os.path.join(path, "valid.txt"))
        self.test = self.tokenize(os.path.join(path, "test.txt"))

    def tokenize(self, path):
        assert os.path.exists(path)
        with open(path, encoding="utf8") as f:
            lines = f.read().splitlines()
        for line in lines:
            for word in line.split() + ["<eos>"]:
                self.dictionary.add_word(word)
        idss = []
        for line in lines:
            ids = [self.dictionary.word2idx[w] for w in line.split() + ["<eos>"]]
            idss.append(torch.tensor(ids).type(torch.int64))
        return torch.cat(idss)


def write_toy_corpus(folder, seed):
    """Sentences from a tiny grammar: subject verb object, with an optional adjective."""
    rng = np.random.default_rng(seed)
    subjects = ["the cat", "a dog", "the bird", "my friend", "the old man", "a child"]
    verbs = ["sees", "likes", "chases", "finds", "hears", "wants"]
    objects = ["the ball", "a tree", "the river", "some bread", "the moon", "a song"]
    adjectives = ["red", "big", "quiet", "small", "bright"]
    for name, n in (("train.txt", 160), ("valid.txt", 30), ("test.txt", 30)):
        with open(os.path.join(folder, name), "w", encoding="utf8") as f:
            for _ in range(n):
                s, v, o = (rng.choice(words) for words in (subjects, verbs, objects))
                if rng.random() < 0.4:
                    det, noun = o.split(" ", 1)
                    o = f"{det} {rng.choice(adjectives)} {noun}"
                f.write(f"{s} {v} {o}\n")


# --------------------------------------------------------------------------------------------
# models


class RNNModel(nn.Module):
    """Embedding, a recurrent module, and a linear decoder over the vocabulary."""

    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        if rnn_type in ["LSTM", "GRU"]:
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        else:
            nonlinearity = {"RNN_TANH": "tanh", "RNN_RELU": "relu"}.get(rnn_type)
            if nonlinearity is None:
                raise ValueError(f"unknown --model {rnn_type!r}")
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            if nhid != ninp:
                raise ValueError("When using the tied flag, nhid must be equal to emsize")
            self.decoder.weight = self.encoder.weight
        self.rnn_type = rnn_type
        self.nhid = nhid
        self.nlayers = nlayers

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output).view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.rnn_type == "LSTM":
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))
        return weight.new_zeros(self.nlayers, bsz, self.nhid)


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=500):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        freq = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * freq)
        pe[:, 1::2] = torch.cos(position * freq)
        self.register_buffer("pe", pe.unsqueeze(0).transpose(0, 1))

    def forward(self, x):
        return self.dropout(x + self.pe[: x.size(0), :])


class TransformerModel(nn.Transformer):
    """nn.Transformer's encoder, with its decoder replaced by a linear layer."""

    def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
        super().__init__(d_model=ninp, nhead=nhead, dim_feedforward=nhid,
                         num_encoder_layers=nlayers, num_decoder_layers=1, dropout=dropout)
        self.src_mask = None
        self.pos_encoder = PositionalEncoding(ninp, dropout)
        self.input_emb = nn.Embedding(ntoken, ninp)
        self.ninp = ninp
        self.decoder = nn.Linear(ninp, ntoken)

    @staticmethod
    def causal_mask(sz):
        return torch.triu(torch.full((sz, sz), float("-inf")), diagonal=1)

    def forward(self, src, has_mask=True):
        if has_mask:
            if self.src_mask is None or self.src_mask.size(0) != len(src):
                self.src_mask = self.causal_mask(len(src)).to(src.device)
        else:
            self.src_mask = None
        src = self.input_emb(src) * math.sqrt(self.ninp)
        src = self.pos_encoder(src)
        output = self.encoder(src, mask=self.src_mask)
        output = self.decoder(output)
        return F.log_softmax(output, dim=-1)


def init_weights(model, seed):
    """Uniform weights from NumPy: +-0.1 for the embedding and decoder (decoder bias zero),
    +-1/sqrt(fan_in) elsewhere; layer norms keep their ones and zeros."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                continue
            if name == "decoder.bias":
                nn.init.zeros_(p)
                continue
            if name.startswith(("encoder.weight", "input_emb.", "decoder.")):
                bound = 0.1
            else:
                bound = 1.0 / math.sqrt(p.shape[-1])
            p.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(p.shape))))


# --------------------------------------------------------------------------------------------
# training


def main():
    parser = argparse.ArgumentParser(description="PyTorch toy-corpus RNN/LSTM/Transformer LM")
    parser.add_argument("--data", type=str, default=None, help="folder with train/valid/test.txt")
    parser.add_argument("--model", type=str, default="LSTM",
                        help="RNN_TANH, RNN_RELU, LSTM, GRU, Transformer")
    parser.add_argument("--emsize", type=int, default=16)
    parser.add_argument("--nhid", type=int, default=16)
    parser.add_argument("--nlayers", type=int, default=2)
    parser.add_argument("--lr", type=float, default=20)
    parser.add_argument("--clip", type=float, default=0.25)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=8, metavar="N")
    parser.add_argument("--bptt", type=int, default=12)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--tied", action="store_true")
    parser.add_argument("--seed", type=int, default=1111)
    parser.add_argument("--cuda", action="store_true", default=False)
    parser.add_argument("--log-interval", type=int, default=5, metavar="N")
    parser.add_argument("--save", type=str, default=None, help="where to save the model")
    parser.add_argument("--nhead", type=int, default=2)
    parser.add_argument("--words", type=int, default=12, help="words to generate at the end")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    if torch.cuda.is_available() and not args.cuda:
        print("WARNING: You have a CUDA device, so you should probably run with --cuda.")
    device = torch.device("cuda" if args.cuda else "cpu")

    tmp = tempfile.TemporaryDirectory()
    if args.data is None:
        args.data = tmp.name
        write_toy_corpus(args.data, args.seed)
    if args.save is None:
        args.save = os.path.join(tmp.name, "model.pt")
    corpus = Corpus(args.data)

    def batchify(data, bsz):
        nbatch = data.size(0) // bsz
        data = data.narrow(0, 0, nbatch * bsz)
        data = data.view(bsz, -1).t().contiguous()
        return data.to(device)

    eval_batch_size = 4
    train_data = batchify(corpus.train, args.batch_size)
    val_data = batchify(corpus.valid, eval_batch_size)
    test_data = batchify(corpus.test, eval_batch_size)
    ntokens = len(corpus.dictionary)
    print(f"vocabulary {ntokens} words, {len(train_data)} training steps of {args.batch_size}")

    def build_model():
        if args.model == "Transformer":
            return TransformerModel(ntokens, args.emsize, args.nhead, args.nhid, args.nlayers,
                                    args.dropout)
        return RNNModel(args.model, ntokens, args.emsize, args.nhid, args.nlayers,
                        args.dropout, args.tied)

    model = build_model()
    init_weights(model, args.seed)
    model = model.to(device)
    criterion = nn.NLLLoss()

    def repackage_hidden(h):
        """Detach hidden states from the graph that produced them."""
        if isinstance(h, torch.Tensor):
            return h.detach()
        return tuple(repackage_hidden(v) for v in h)

    def get_batch(source, i):
        seq_len = min(args.bptt, len(source) - 1 - i)
        data = source[i:i + seq_len]
        target = source[i + 1:i + 1 + seq_len].view(-1)
        return data, target

    def evaluate(data_source):
        model.eval()
        total_loss = 0.0
        if args.model != "Transformer":
            hidden = model.init_hidden(eval_batch_size)
        with torch.no_grad():
            for i in range(0, data_source.size(0) - 1, args.bptt):
                data, targets = get_batch(data_source, i)
                if args.model == "Transformer":
                    output = model(data)
                    output = output.view(-1, ntokens)
                else:
                    output, hidden = model(data, hidden)
                    hidden = repackage_hidden(hidden)
                total_loss += len(data) * criterion(output, targets).item()
        return total_loss / (len(data_source) - 1)

    def train(epoch, lr):
        model.train()
        total_loss = 0.0
        start_time = time.time()
        if args.model != "Transformer":
            hidden = model.init_hidden(args.batch_size)
        for batch, i in enumerate(range(0, train_data.size(0) - 1, args.bptt)):
            data, targets = get_batch(train_data, i)
            model.zero_grad()
            if args.model == "Transformer":
                output = model(data)
                output = output.view(-1, ntokens)
            else:
                hidden = repackage_hidden(hidden)
                output, hidden = model(data, hidden)
            loss = criterion(output, targets)
            loss.backward()

            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)

            total_loss += loss.item()
            if batch % args.log_interval == 0 and batch > 0:
                cur_loss = total_loss / args.log_interval
                elapsed = time.time() - start_time
                nbatches = len(train_data) // args.bptt
                print(f"| epoch {epoch:3d} | {batch:5d}/{nbatches:5d} batches | "
                      f"lr {lr:.4f} | ms/batch {elapsed * 1000 / args.log_interval:5.2f} | "
                      f"loss {cur_loss:.6f} | ppl {math.exp(cur_loss):.4f}")
                total_loss = 0
                start_time = time.time()
            if args.dry_run:
                break

    lr = args.lr
    best_val_loss = None
    for epoch in range(1, args.epochs + 1):
        epoch_start_time = time.time()
        train(epoch, lr)
        val_loss = evaluate(val_data)
        print("-" * 89)
        print(f"| end of epoch {epoch:3d} | time: {time.time() - epoch_start_time:5.2f}s | "
              f"valid loss {val_loss:.6f} | "
              f"valid ppl {math.exp(val_loss):.4f}")
        print("-" * 89)
        if not best_val_loss or val_loss < best_val_loss:
            with open(args.save, "wb") as f:
                torch.save(model.state_dict(), f)
            best_val_loss = val_loss
        else:
            lr /= 4.0

    # load the best model back into a fresh one
    model = build_model().to(device)
    with open(args.save, "rb") as f:
        model.load_state_dict(torch.load(f, map_location=device))
    if args.model in ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]:
        model.rnn.flatten_parameters()

    test_loss = evaluate(test_data)
    print("=" * 89)
    print(f"| End of training | test loss {test_loss:.6f} | test ppl {math.exp(test_loss):.4f}")
    print("=" * 89)

    # greedy generation from the reloaded model
    model.eval()
    words = []
    inp = torch.tensor([[corpus.dictionary.word2idx["the"]]], dtype=torch.long).to(device)
    is_transformer = args.model == "Transformer"
    if not is_transformer:
        hidden = model.init_hidden(1)
    with torch.no_grad():
        for _ in range(args.words):
            if is_transformer:
                output = model(inp, False)
                word_idx = torch.argmax(output[-1].squeeze())
                inp = torch.cat([inp, word_idx.view(1, 1)], 0)
            else:
                output, hidden = model(inp, hidden)
                word_idx = output.squeeze().argmax()
                inp.fill_(word_idx)
            words.append(corpus.dictionary.idx2word[word_idx.item()])
    print("generated:", " ".join(words))
    tmp.cleanup()


if __name__ == "__main__":
    main()
