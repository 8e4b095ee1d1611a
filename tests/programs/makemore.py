"""makemore, the character-level name models of the "zero to hero" lectures, on a small list
of names the program holds:

1. bigram counts in an int32 matrix (``N[ix1, ix2] += 1``), smoothed probabilities
   (``P.sum(1, keepdims=True)``), the average negative log likelihood, and names sampled with
   ``torch.multinomial(..., generator=g)`` from a seeded ``torch.Generator``;
2. the same bigram model as a one-layer network: ``F.one_hot`` inputs, softmax by hand,
   plain gradient descent on ``W.data``;
3. an MLP with a character embedding table ``C[X]``, ``torch.tanh``, ``F.cross_entropy``,
   minibatches, a learning-rate step, and sampling.

The weights and minibatch indices come from NumPy, so PyTorch and gpuarr print the same
losses; tests/test_programs_tutorials.py compares them. Sampled names follow each library's
own random numbers, so those lines start with "sample" and the test checks them apart (that
each name is made of the alphabet and that a reseeded generator repeats itself).
"""

import argparse

import numpy as np
import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
p.add_argument("--steps", type=int, default=60)
args = p.parse_args()
device = torch.device(args.device)

words = """emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail emily
elizabeth mila ella avery sofia camila aria scarlett victoria madison luna grace chloe penelope
layla riley zoey nora lily eleanor hannah lillian addison aubrey ellie stella natalie zoe leah
hazel violet aurora savannah audrey brooklyn bella claire skylar lucy paisley everly anna
caroline nova genesis emilia kennedy samantha maya willow kinsley naomi aaliyah elena sarah
ariana allison gabriella alice madelyn cora ruby eva serenity autumn adeline hailey gianna
valentina isla eliana quinn nevaeh ivy sadie piper lydia alexa josephine emery julia delilah
arianna vivian kaylee sophie brielle madeline liam noah oliver elijah william james benjamin
lucas henry alexander mason michael ethan daniel jacob logan jackson levi sebastian mateo jack
owen theodore aiden samuel joseph john david wyatt matthew luke asher carter julian grayson leo
jayden gabriel isaac lincoln anthony hudson dylan ezra thomas charles christopher jaxon maverick
josiah isaiah andrew elias joshua nathan caleb ryan adrian miles eli nolan christian aaron
cameron ezekiel colton luca landon hunter jonathan santiago axel easton cooper jeremiah angel
roman connor jameson robert greyson jordan ian carson jaxson leonardo nicholas dominic austin
everett brooks xavier kai jose parker adam jace wesley kayden silas""".split()
print("words:", len(words), "shortest:", min(len(w) for w in words),
      "longest:", max(len(w) for w in words))

chars = sorted(list(set(''.join(words))))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi['.'] = 0
itos = {i: s for s, i in stoi.items()}
V = len(stoi)
print("vocabulary:", V)

# --- 1. counting bigrams ---------------------------------------------------------------------
N = torch.zeros((V, V), dtype=torch.int32, device=device)
for w in words:
    chs = ['.'] + list(w) + ['.']
    for ch1, ch2 in zip(chs, chs[1:]):
        N[stoi[ch1], stoi[ch2]] += 1
print("bigrams:", N.sum().item(), "distinct:", (N > 0).sum().item(), N.dtype)
top = torch.topk(N.flatten(), 3)
print("most common:", [(itos[i // V] + itos[i % V], c)
                       for i, c in zip(top.indices.tolist(), top.values.tolist())])
print("row '.':", N[0].tolist())

P = (N + 1).float()
P /= P.sum(1, keepdims=True)
print("rows sum to one:", torch.allclose(P.sum(1), torch.ones(V, device=device)))

log_likelihood = 0.0
n = 0
for w in words:
    chs = ['.'] + list(w) + ['.']
    for ch1, ch2 in zip(chs, chs[1:]):
        logprob = torch.log(P[stoi[ch1], stoi[ch2]])
        log_likelihood += logprob
        n += 1
nll = -log_likelihood
print(f'{nll=}')
print(f'{nll/n}')


def sample_names(P, g, k):
    out = []
    for _ in range(k):
        name = []
        ix = 0
        while True:
            p = P[ix]
            ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
            if ix == 0:
                break
            name.append(itos[ix])
        out.append(''.join(name))
    return out


g = torch.Generator(device=device).manual_seed(2147483647)
first = sample_names(P, g, 5)
g = torch.Generator(device=device).manual_seed(2147483647)
again = sample_names(P, g, 5)
print("sample counts:", " ".join(first))
print("reseeded generator repeats:", first == again)
print("uniform draw in range:", 0 <= torch.rand(1, generator=g, device=device).item() < 1)

# --- 2. the bigram model as a neural net --------------------------------------------------------
xs, ys = [], []
for w in words:
    chs = ['.'] + list(w) + ['.']
    for ch1, ch2 in zip(chs, chs[1:]):
        xs.append(stoi[ch1])
        ys.append(stoi[ch2])
xs = torch.tensor(xs, device=device)
ys = torch.tensor(ys, device=device)
num = xs.nelement()
print('number of examples: ', num)

rng = np.random.default_rng(2147483647)
W = torch.tensor(rng.standard_normal((V, V)), dtype=torch.float32, device=device,
                 requires_grad=True)
xenc = F.one_hot(xs, num_classes=V).float()
print("one-hot:", tuple(xenc.shape), xenc.dtype, xenc.sum().item())
for k in range(30):
    logits = xenc @ W  # predict log-counts
    counts = logits.exp()  # counts, equivalent to N
    probs = counts / counts.sum(1, keepdims=True)  # probabilities for next character
    loss = -probs[torch.arange(num, device=device), ys].log().mean() + 0.01 * (W ** 2).mean()
    if k % 3 == 0:
        print(f"bigram net step {k}: {loss.item():.6f}")
    W.grad = None
    loss.backward()
    W.data += -50 * W.grad

# --- 3. an MLP on three characters of context ----------------------------------------------------
block_size = 3


def build_dataset(words):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + '.':
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    X = torch.tensor(X, device=device)
    Y = torch.tensor(Y, device=device)
    print(X.shape, Y.shape)
    return X, Y


n1 = int(0.8 * len(words))
Xtr, Ytr = build_dataset(words[:n1])
Xdev, Ydev = build_dataset(words[n1:])

n_embd, n_hidden = 6, 64


def param(*shape, scale=1.0):
    return torch.tensor(scale * rng.standard_normal(shape), dtype=torch.float32, device=device)


C = param(V, n_embd)
W1 = param(n_embd * block_size, n_hidden, scale=(5 / 3) / (n_embd * block_size) ** 0.5)
b1 = param(n_hidden, scale=0.01)
W2 = param(n_hidden, V, scale=0.1)
b2 = torch.zeros(V, device=device)
parameters = [C, W1, b1, W2, b2]
print("parameters:", sum(p.nelement() for p in parameters))
for p in parameters:
    p.requires_grad = True

lossi = []
for i in range(args.steps):
    ix = torch.from_numpy(rng.integers(0, Xtr.shape[0], (32,))).to(device)
    emb = C[Xtr[ix]]  # (32, 3, n_embd)
    h = torch.tanh(emb.view(-1, n_embd * block_size) @ W1 + b1)
    logits = h @ W2 + b2
    loss = F.cross_entropy(logits, Ytr[ix])
    for p in parameters:
        p.grad = None
    loss.backward()
    lr = 0.1 if i < args.steps // 2 else 0.01
    for p in parameters:
        p.data += -lr * p.grad
    lossi.append(loss.log10().item())
    if i % 10 == 0:
        print(f"{i:4d}/{args.steps}: {loss.item():.6f}")


@torch.no_grad()
def split_loss(split):
    x, y = {'train': (Xtr, Ytr), 'val': (Xdev, Ydev)}[split]
    emb = C[x]
    h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)
    logits = h @ W2 + b2
    loss = F.cross_entropy(logits, y)
    print(split, f"{loss.item():.6f}")


split_loss('train')
split_loss('val')
print(f"mean log10 loss: {torch.tensor(lossi).mean().item():.6f}")

# greedy completion is deterministic; sampling follows the generator
context = [0] * block_size
greedy = []
for _ in range(8):
    emb = C[torch.tensor([context], device=device)]
    h = torch.tanh(emb.view(1, -1) @ W1 + b1)
    ix = torch.argmax(h @ W2 + b2, dim=1).item()
    if ix == 0:
        break
    greedy.append(itos[ix])
    context = context[1:] + [ix]
print("greedy:", ''.join(greedy))

g = torch.Generator(device=device).manual_seed(2147483647 + 10)
names = []
for _ in range(5):
    out = []
    context = [0] * block_size
    while True:
        emb = C[torch.tensor([context], device=device)]
        h = torch.tanh(emb.view(1, -1) @ W1 + b1)
        logits = h @ W2 + b2
        probs = F.softmax(logits, dim=1)
        ix = torch.multinomial(probs, num_samples=1, generator=g).item()
        context = context[1:] + [ix]
        if ix == 0:
            break
        out.append(ix)
    names.append(''.join(itos[i] for i in out))
print("sample mlp:", " ".join(names))
