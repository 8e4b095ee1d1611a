"""A character-level LSTM language model written in the older PyTorch style that many programs
in the wild still use and that PyTorch 2.x still runs (with deprecation warnings): Variable
wrappers, the legacy ``torch.Tensor(...)`` and ``weight.new(...)`` constructors,
``clip_grad_norm`` without the underscore, ``p.data.add_(-lr, p.grad.data)``, ``F.softmax``
without ``dim``, ``size_average=False``, ``volatile=True`` for evaluation.

The text and the initial weights come from seeded NumPy generators, so any library that runs
this program starts from the same numbers.
"""

import argparse
import math
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable

warnings.simplefilter("ignore")  # the deprecation warnings are the point of this program

ALPHABET = "abcdefgh "


def make_text(n, seed):
    """Words made of a few repeating syllables, so that the next character is predictable."""
    rng = np.random.RandomState(seed)
    syllables = ["ab", "cad", "efg", "hea", "bed"]
    words = []
    while sum(len(w) + 1 for w in words) < n:
        words.append("".join(syllables[i] for i in rng.randint(0, len(syllables), 2)))
    return " ".join(words)[:n]


class CharLSTM(nn.Module):
    def __init__(self, nchars, nhid, nlayers):
        super(CharLSTM, self).__init__()  # noqa: UP008
        self.encoder = nn.Embedding(nchars, nhid)
        self.rnn = nn.LSTM(nhid, nhid, nlayers)
        self.decoder = nn.Linear(nhid, nchars)
        self.nhid, self.nlayers = nhid, nlayers

    def forward(self, input, hidden):
        output, hidden = self.rnn(self.encoder(input), hidden)
        decoded = self.decoder(output.view(output.size(0) * output.size(1), output.size(2)))
        return decoded.view(output.size(0), output.size(1), decoded.size(1)), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters()).data
        return (Variable(weight.new(self.nlayers, bsz, self.nhid).zero_()),
                Variable(weight.new(self.nlayers, bsz, self.nhid).zero_()))


def repackage_hidden(h):
    if type(h) == Variable or isinstance(h, torch.Tensor):  # noqa: E721
        return Variable(h.data)
    return tuple(repackage_hidden(v) for v in h)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cuda", action="store_true")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--lr", type=float, default=2.0)
    parser.add_argument("--clip", type=float, default=0.5)
    parser.add_argument("--bptt", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    if args.cuda:
        torch.cuda.manual_seed(args.seed)

    text = make_text(400, args.seed)
    ids = torch.LongTensor([ALPHABET.index(c) for c in text])
    bsz = 4
    data = ids[: (len(ids) // bsz) * bsz].view(bsz, -1).t().contiguous()
    if args.cuda:
        data = data.cuda()

    model = CharLSTM(len(ALPHABET), 12, 2)
    rng = np.random.RandomState(args.seed)
    for p in model.parameters():
        p.data.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, p.size()).astype(np.float32)))
    if args.cuda:
        model.cuda()
    criterion = nn.CrossEntropyLoss(size_average=True)
    lr = args.lr

    def evaluate():
        model.eval()
        hidden = model.init_hidden(bsz)
        total = 0.0
        for i in range(0, data.size(0) - 1, args.bptt):
            seq_len = min(args.bptt, data.size(0) - 1 - i)
            inp = Variable(data[i:i + seq_len], volatile=True)
            target = Variable(data[i + 1:i + 1 + seq_len].view(-1))
            output, hidden = model(inp, hidden)
            total += seq_len * criterion(output.view(-1, len(ALPHABET)), target).data.item()
            hidden = repackage_hidden(hidden)
        return total / (data.size(0) - 1)

    for epoch in range(1, args.epochs + 1):
        model.train()
        hidden = model.init_hidden(bsz)
        total_loss = 0
        nbatches = 0
        for i in range(0, data.size(0) - 1, args.bptt):
            seq_len = min(args.bptt, data.size(0) - 1 - i)
            inp = Variable(data[i:i + seq_len])
            target = Variable(data[i + 1:i + 1 + seq_len].view(-1))
            hidden = repackage_hidden(hidden)
            model.zero_grad()
            output, hidden = model(inp, hidden)
            loss = criterion(output.view(-1, len(ALPHABET)), target)
            loss.backward()
            torch.nn.utils.clip_grad_norm(model.parameters(), args.clip)
            for p in model.parameters():
                p.data.add_(-lr, p.grad.data)
            total_loss += loss.data
            nbatches += 1
        cur_loss = total_loss.item() / nbatches
        val = evaluate()
        print(f"| epoch {epoch:3d} | lr {lr:.2f} | loss {cur_loss:.6f} | "
              f"ppl {math.exp(cur_loss):.4f} | eval {val:.6f}")
        lr *= 0.8

    # a softmax over the next character after "ca", the old way
    model.eval()
    hidden = model.init_hidden(1)
    prime = Variable(torch.LongTensor([[ALPHABET.index("c")], [ALPHABET.index("a")]]))
    if args.cuda:
        prime = prime.cuda()
    output, hidden = model(prime, hidden)
    probs = F.softmax(output[-1])
    top = probs.data.cpu().numpy().ravel()
    print("after 'ca':", " ".join(f"{c}={p:.4f}" for c, p in zip(ALPHABET, top)))

    # one REINFORCE-style update with rewards in a legacy Tensor
    rewards = [1.0, 0.5, -0.25, 2.0]
    rewards = torch.Tensor(rewards)
    rewards = (rewards - rewards.mean()) / (rewards.std() + np.finfo(np.float32).eps)
    print("normalised rewards:", " ".join(f"{r:.6f}" for r in rewards.tolist()))
    flat = torch.nn.utils.parameters_to_vector(model.parameters())
    print(f"parameters: {flat.numel()} norm {flat.norm().item():.6f}")
    mse = nn.MSELoss(size_average=False)
    print(f"mse sum {mse(Variable(flat[:4].cpu()), rewards).item():.6f}")


if __name__ == "__main__":
    main()
