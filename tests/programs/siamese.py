"""Metric learning in the style of PyTorch's siamese-network example, with the tools such
programs reach for: a shared embedding network, a contrastive loss written by hand on
``pairwise_distance``, a triplet margin loss, ``cdist`` and ``topk`` for retrieval,
L2-normalised embeddings compared by ``einsum``, ``OneCycleLR``, gradient clipping, and a state
dict saved to and reloaded from memory.

Samples are noisy 8x8 templates of 5 classes drawn by NumPy; pairs and triplets are chosen by
NumPy and the initial weights come from a seeded NumPy generator, so the program prints the
same numbers under any library that runs it.
"""

import argparse
import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = 5


class EmbeddingNet(nn.Module):
    def __init__(self, dim=8):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.GELU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.GELU(), nn.AdaptiveAvgPool2d(1))
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(16, 32), nn.SiLU(), nn.Linear(32, dim))
        self.register_buffer("scale", torch.tensor(1.0))

    def forward(self, x):
        return self.fc(self.conv(x)) * self.scale


def contrastive_loss(a, b, same, margin=1.0):
    d = F.pairwise_distance(a, b)
    return torch.mean(same * d.pow(2) + (1 - same) * torch.clamp(margin - d, min=0.0).pow(2))


def make_data(n, rng, templates):
    labels = rng.integers(0, CLASSES, n)
    x = templates[labels] + 0.3 * rng.standard_normal((n, 1, 8, 8))
    return x.astype(np.float32), labels


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    device = torch.device(args.device)
    rng = np.random.default_rng(7)
    templates = rng.standard_normal((CLASSES, 1, 8, 8))
    x_np, y_np = make_data(200, rng, templates)
    x = torch.from_numpy(x_np).to(device)
    y = torch.from_numpy(y_np).to(device)

    net = EmbeddingNet().to(device)
    with torch.no_grad():
        for p in net.parameters():
            fan_in = p[0].numel() if p.dim() > 1 else p.numel()
            p.copy_(torch.from_numpy(rng.uniform(-1, 1, tuple(p.shape)) / np.sqrt(fan_in)))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-2, total_steps=args.steps)
    triplet = nn.TripletMarginLoss(margin=0.5)

    for step in range(args.steps):
        i = rng.integers(0, 200, 32)
        j = rng.integers(0, 200, 32)
        same = (y[i] == y[j]).float()
        # triplets: anchor, a sample of its class, a sample of another class
        anchors = rng.integers(0, 200, 16)
        pos = np.array([rng.choice(np.flatnonzero(y_np == y_np[a])) for a in anchors])
        neg = np.array([rng.choice(np.flatnonzero(y_np != y_np[a])) for a in anchors])
        ea, eb = net(x[i]), net(x[j])
        loss_c = contrastive_loss(ea, eb, same)
        loss_t = triplet(net(x[anchors]), net(x[pos]), net(x[neg]))
        loss = loss_c + loss_t
        opt.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm=5.0)
        opt.step()
        sched.step()
        if step % 3 == 0:
            print(f"step {step}: contrastive {loss_c.item():.5f} triplet {loss_t.item():.5f} "
                  f"grad norm {norm.item():.4f} lr {sched.get_last_lr()[0]:.6f}")

    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    buf.seek(0)
    net2 = EmbeddingNet().to(device)
    net2.load_state_dict(torch.load(buf))
    net2.eval()
    with torch.no_grad():
        emb = net2(x)
        dist = torch.cdist(emb, emb, compute_mode="donot_use_mm_for_euclid_dist")
        dist.fill_diagonal_(float("inf"))
        top_d, top_idx = dist.topk(3, dim=1, largest=False)
        hits = (y[top_idx[:, 0]] == y).float().mean()
        votes = torch.zeros(200, CLASSES, device=device).scatter_add_(
            1, y[top_idx], torch.ones_like(top_d))
        knn_acc = (votes.argmax(1) == y).float().mean()
        unit = F.normalize(emb, dim=1)
        cos = torch.einsum("id,id->i", unit, unit[top_idx[:, 0]])
        centroids = torch.stack([emb[y == c].mean(0) for c in range(CLASSES)])
        nearest = torch.cdist(emb, centroids).argmin(1)
    print(f"nearest-neighbour accuracy {hits.item():.4f}, 3-NN vote accuracy "
          f"{knn_acc.item():.4f}, centroid accuracy {(nearest == y).float().mean().item():.4f}")
    print(f"mean nearest-neighbour distance {top_d[:, 0].mean().item():.5f}, "
          f"cosine {cos.mean().item():.5f}")


if __name__ == "__main__":
    main()
