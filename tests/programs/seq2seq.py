"""Sequence-to-sequence learning with attention, in the style of PyTorch's translation
tutorials: the task is to reverse variable-length digit strings. A bidirectional GRU encoder
reads padded batches through ``pack_padded_sequence``; a GRU decoder with additive attention
over the encoder states (masked at the padding with ``masked_fill(-inf)``) is trained with
teacher forcing by ``CrossEntropyLoss(ignore_index=PAD)``, then decodes greedily.

Strings, padding and initial weights come from seeded NumPy generators, so the program prints
the same numbers under any library that runs it.
"""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

PAD, SOS, EOS = 0, 1, 2
VOCAB = 13  # PAD, SOS, EOS and the digits 0-9
EMB, HID = 12, 16


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, EMB, padding_idx=PAD)
        self.rnn = nn.GRU(EMB, HID, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * HID, HID)

    def forward(self, src, lengths):
        packed = pack_padded_sequence(self.embed(src), lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        out, h = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        h = torch.tanh(self.bridge(torch.cat([h[0], h[1]], dim=1)))
        return out, h


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, EMB, padding_idx=PAD)
        self.att_q = nn.Linear(HID, HID, bias=False)
        self.att_k = nn.Linear(2 * HID, HID)
        self.att_v = nn.Linear(HID, 1, bias=False)
        self.rnn = nn.GRUCell(EMB + 2 * HID, HID)
        self.out = nn.Linear(HID, VOCAB)

    def step(self, tok, h, enc, mask):
        scores = self.att_v(torch.tanh(self.att_q(h).unsqueeze(1) + self.att_k(enc))).squeeze(2)
        scores = scores.masked_fill(~mask, float("-inf"))
        attn = F.softmax(scores, dim=1)
        context = torch.bmm(attn.unsqueeze(1), enc).squeeze(1)
        h = self.rnn(torch.cat([self.embed(tok), context], dim=1), h)
        return self.out(h), h, attn


def make_batch(n, rng, device):
    seqs = [rng.integers(3, VOCAB, rng.integers(2, 7)) for _ in range(n)]
    src = pad_sequence([torch.from_numpy(s) for s in seqs], batch_first=True, padding_value=PAD)
    tgt = pad_sequence([torch.from_numpy(np.concatenate([s[::-1], [EOS]])) for s in seqs],
                       batch_first=True, padding_value=PAD)
    lengths = torch.tensor([len(s) for s in seqs])
    return src.to(device), lengths.to(device), tgt.to(device)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=120)
    args = parser.parse_args()
    device = torch.device(args.device)
    rng = np.random.default_rng(5)
    enc, dec = Encoder().to(device), Decoder().to(device)
    params = list(enc.parameters()) + list(dec.parameters())
    with torch.no_grad():
        for p in params:
            p.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, tuple(p.shape))))
        enc.embed.weight[PAD].zero_()
        dec.embed.weight[PAD].zero_()
    opt = torch.optim.Adam(params, lr=1e-2)
    criterion = nn.CrossEntropyLoss(ignore_index=PAD)

    for step in range(args.steps):
        src, lengths, tgt = make_batch(24, rng, device)
        enc_out, h = enc(src, lengths)
        mask = src != PAD
        tok = torch.full((src.size(0),), SOS, dtype=torch.long, device=device)
        logits = []
        for t in range(tgt.size(1)):
            out, h, _ = dec.step(tok, h, enc_out, mask)
            logits.append(out)
            tok = tgt[:, t]  # teacher forcing
        logits = torch.stack(logits, dim=1)
        loss = criterion(logits.reshape(-1, VOCAB), tgt.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_value_(params, 1.0)
        opt.step()
        if step % 20 == 19:
            print(f"step {step + 1}: loss {loss.item():.5f} "
                  f"pad embedding norm {dec.embed.weight[PAD].norm().item():.1f}")

    enc.eval()
    dec.eval()
    with torch.no_grad():
        src, lengths, tgt = make_batch(6, rng, device)
        enc_out, h = enc(src, lengths)
        mask = src != PAD
        tok = torch.full((src.size(0),), SOS, dtype=torch.long, device=device)
        decoded, attn_mass = [], []
        for _ in range(tgt.size(1)):
            out, h, attn = dec.step(tok, h, enc_out, mask)
            tok = out.argmax(1)
            decoded.append(tok)
            attn_mass.append(attn.max(1).values)
        decoded = torch.stack(decoded, 1)
    correct = ((decoded == tgt) | (tgt == PAD)).all(1)
    print("sequences reversed correctly:", int(correct.sum()), "of", len(correct))
    print(f"mean peak attention {torch.stack(attn_mass).mean().item():.4f}")
    print("first source", src[0].tolist(), "decoded", decoded[0].tolist())


if __name__ == "__main__":
    main()
