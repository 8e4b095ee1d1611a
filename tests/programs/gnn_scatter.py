"""Node classification with a small graph neural network whose message passing is written by
hand, the way GNN tutorials do it before they reach for a graph library: an ``edge_index``
of (source, target) pairs, messages gathered with ``x[src]`` and summed into their targets with
``index_add_`` / ``scatter_add_``, an undirected edge set made with ``flip`` and
``unique(dim=1)``, symmetric degree normalisation (``bincount``, ``pow(-0.5)`` and
``masked_fill`` for isolated nodes), neighbourhood mean and max through
``scatter_reduce('mean' / 'amax')``, a GAT-style softmax over each node's incoming edges, a
spectrally normalised root weight and a weight-normalised output layer
(``torch.nn.utils.parametrizations.spectral_norm`` / ``weight_norm``), ``F.dropout`` with the
module's training flag, Adam with weight decay, train/validation/test masks, a
``@torch.no_grad()`` test function as in the PyG examples, and early stopping that keeps the
best state dict.

The graph (a stochastic block model with a few isolated nodes), the node features, the initial
weights and spectral norm's starting vectors come from seeded NumPy generators, and dropout is
off by default (``--dropout 0``), so the program prints the same numbers under any library.
"""

import argparse
import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

CLASSES, FEATURES = 3, 8


def make_graph(n, rng, p_in=0.08, p_out=0.03, isolated=4):
    """A stochastic block model: nodes of one class link more often; a few nodes stay alone."""
    labels = rng.integers(0, CLASSES, n)
    same = labels[:, None] == labels[None, :]
    prob = np.where(same, p_in, p_out)
    adj = rng.random((n, n)) < prob  # directed draws, some pairs both ways, some loops
    adj[:isolated, :] = False
    adj[:, :isolated] = False
    src, dst = np.nonzero(adj)
    centres = rng.normal(0, 1, (CLASSES, FEATURES))
    feats = centres[labels] * 0.3 + rng.normal(0, 1, (n, FEATURES))
    return (feats.astype(np.float32), np.stack([src, dst]).astype(np.int64), labels)


def to_undirected(edge_index):
    """Both directions of every edge, each pair once, sorted, self loops removed."""
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    edge_index = torch.unique(edge_index, dim=1)
    return edge_index[:, edge_index[0] != edge_index[1]]


def gcn_norm(edge_index, num_nodes):
    """D^-1/2 A D^-1/2 edge weights; isolated nodes get 0 instead of inf."""
    row, col = edge_index
    deg = torch.bincount(col, minlength=num_nodes).float()
    deg_inv_sqrt = deg.pow(-0.5)
    deg_inv_sqrt = deg_inv_sqrt.masked_fill(deg_inv_sqrt == float("inf"), 0.0)
    return deg_inv_sqrt[row] * deg_inv_sqrt[col], deg


class GCNLayer(nn.Module):
    """out_i = W x_i / (d_i + 1) + sum_j norm_ij W x_j, the sum by ``index_add_``."""

    def __init__(self, d_in, d_out):
        super().__init__()
        self.lin = nn.Linear(d_in, d_out, bias=False)
        self.bias = nn.Parameter(torch.zeros(d_out))

    def forward(self, x, edge_index, norm, deg):
        h = self.lin(x)
        row, col = edge_index
        messages = h[row] * norm.unsqueeze(-1)
        out = torch.zeros_like(h).index_add_(0, col, messages)
        out = out + h / (deg + 1).unsqueeze(-1)  # the self loop
        return out + self.bias


class GATLayer(nn.Module):
    """Single-head graph attention: scores on the edges, a softmax over each node's incoming
    edges (max by ``scatter_reduce('amax')``, sums by ``index_add``), weighted messages."""

    def __init__(self, d_in, d_out, negative_slope=0.2):
        super().__init__()
        self.lin = nn.Linear(d_in, d_out, bias=False)
        self.att_src = nn.Parameter(torch.empty(d_out))
        self.att_dst = nn.Parameter(torch.empty(d_out))
        self.negative_slope = negative_slope

    def forward(self, x, edge_index):
        h = self.lin(x)
        n = h.size(0)
        loops = torch.arange(n, device=x.device)
        row = torch.cat([edge_index[0], loops])  # add self loops
        col = torch.cat([edge_index[1], loops])
        alpha_src, alpha_dst = (h * self.att_src).sum(-1), (h * self.att_dst).sum(-1)
        e = F.leaky_relu(alpha_src.index_select(0, row) + alpha_dst.index_select(0, col),
                         self.negative_slope)
        e_max = torch.full((n,), float("-inf"), device=x.device).scatter_reduce(
            0, col, e, reduce="amax", include_self=True)
        w = (e - e_max[col]).exp()
        denom = torch.zeros(n, device=x.device).index_add(0, col, w)
        attn = w / denom[col]
        self.last_attention = attn.detach()
        return torch.zeros_like(h).index_add_(0, col, h[row] * attn.unsqueeze(-1))


class SAGELayer(nn.Module):
    """GraphSAGE with mean and max aggregators (``scatter_reduce``) and a sum channel
    (``scatter_add_``) scaled by log-degree."""

    def __init__(self, d_in, d_out):
        super().__init__()
        self.lin_self = nn.Linear(d_in, d_out)
        self.lin_mean = nn.Linear(d_in, d_out, bias=False)
        self.lin_max = nn.Linear(d_in, d_out, bias=False)
        self.lin_sum = nn.Linear(d_in, d_out, bias=False)

    def forward(self, x, edge_index, deg):
        row, col = edge_index
        index = col.unsqueeze(-1).expand(-1, x.size(1))
        msgs = x[row]
        mean = x.new_zeros(x.shape).scatter_reduce(0, index, msgs, reduce="mean",
                                                   include_self=False)
        amax = x.new_zeros(x.shape).scatter_reduce(0, index, msgs, reduce="amax",
                                                   include_self=False)
        total = torch.zeros_like(x).scatter_add_(0, index, msgs)
        scale = torch.log1p(deg).unsqueeze(-1) / (deg.clamp(min=1).unsqueeze(-1))
        return (self.lin_self(x) + self.lin_mean(mean) + self.lin_max(amax)
                + self.lin_sum(total * scale))


class Net(nn.Module):
    def __init__(self, hidden=16, dropout=0.5):
        super().__init__()
        self.conv1 = GCNLayer(FEATURES, hidden)
        self.att = GATLayer(hidden, hidden)
        self.conv2 = SAGELayer(hidden, hidden)
        # a Lipschitz bound on the root weight of the SAGE layer
        self.conv2.lin_self = spectral_norm(self.conv2.lin_self)
        self.out = weight_norm(nn.Linear(hidden, CLASSES))
        self.dropout = dropout

    def forward(self, x, edge_index, norm, deg):
        x = F.dropout(x, p=self.dropout, training=self.training)
        x = F.relu(self.conv1(x, edge_index, norm, deg))
        x = x + F.elu(self.att(x, edge_index))
        x = F.dropout(x, p=self.dropout, training=self.training)
        x = F.elu(self.conv2(x, edge_index, deg))
        return self.out(x)


def main():
    parser = argparse.ArgumentParser(description="hand-written message passing on a SBM graph")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--nodes", type=int, default=150)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--patience", type=int, default=8)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(args.seed)

    rng = np.random.default_rng(args.seed)
    feats, edges, labels = make_graph(args.nodes, rng)
    x = torch.from_numpy(feats).to(device)
    edge_index = to_undirected(torch.from_numpy(edges).to(device))
    y = torch.from_numpy(labels).to(device)
    split = torch.from_numpy(rng.permutation(args.nodes)).to(device)
    train_mask = torch.zeros(args.nodes, dtype=torch.bool, device=device)
    val_mask = torch.zeros_like(train_mask)
    test_mask = torch.zeros_like(train_mask)
    train_mask[split[:60]] = True
    val_mask[split[60:100]] = True
    test_mask[split[100:]] = True
    norm, deg = gcn_norm(edge_index, args.nodes)
    print(f"nodes {args.nodes} edges {edge_index.size(1)} isolated {int((deg == 0).sum())} "
          f"max degree {int(deg.max())} train {int(train_mask.sum())} val {int(val_mask.sum())}")
    print(f"norm sum {norm.sum().item():.5f} class counts {torch.bincount(y).tolist()}")

    model = Net(dropout=args.dropout).to(device)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("original0"):  # weight norm's g: the rows' norms of v
                continue
            bound = 1 / math.sqrt(p.shape[-1]) if p.dim() > 1 else 0.1
            p.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(p.shape))))
        v = model.out.parametrizations.weight.original1
        model.out.parametrizations.weight.original0.copy_(v.norm(dim=1, keepdim=True))
        # spectral norm starts its power iteration from random vectors: start it from NumPy's
        sn = model.conv2.lin_self.parametrizations.weight[0]
        sn._u.copy_(F.normalize(torch.from_numpy(rng.normal(0, 1, sn._u.shape)), dim=0))
        sn._v.copy_(F.normalize(torch.from_numpy(rng.normal(0, 1, sn._v.shape)), dim=0))
    print("parameters:", ", ".join(f"{n} {tuple(p.shape)}" for n, p in model.named_parameters()))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr,
                                 weight_decay=args.weight_decay)

    @torch.no_grad()
    def test():
        model.eval()
        logits = model(x, edge_index, norm, deg)
        pred = logits.argmax(dim=-1)
        accs = []
        for mask in [train_mask, val_mask, test_mask]:
            accs.append(int((pred[mask] == y[mask]).sum()) / int(mask.sum()))
        return (*accs, F.cross_entropy(logits[val_mask], y[val_mask]).item())

    best_val, best_epoch, bad_epochs, best_state = -1.0, 0, 0, None
    for epoch in range(1, args.epochs + 1):
        model.train()
        optimizer.zero_grad()
        out = model(x, edge_index, norm, deg)
        loss = F.nll_loss(F.log_softmax(out, dim=1)[train_mask], y[train_mask])
        loss.backward()
        optimizer.step()

        train_acc, val_acc, _, val_loss = test()
        if val_acc > best_val:
            best_val, best_epoch, bad_epochs = val_acc, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad_epochs += 1
        if epoch % 2 == 0 or bad_epochs == 0:
            print(f"Epoch: {epoch:03d}, Loss: {loss.item():.5f}, Val loss: {val_loss:.5f}, "
                  f"Train: {train_acc:.4f}, Val: {val_acc:.4f}")
        if bad_epochs >= args.patience:
            print(f"early stopping at epoch {epoch}: no improvement for {bad_epochs} epochs")
            break

    sigma = torch.linalg.matrix_norm(model.conv2.lin_self.parametrizations.weight.original, 2)
    print(f"spectral norm of the raw SAGE root weight {sigma.item():.5f}, of the used one "
          f"{torch.linalg.matrix_norm(model.conv2.lin_self.weight, 2).item():.5f}")
    attn = model.att.last_attention
    print(f"attention: max {attn.max().item():.5f} min {attn.min().item():.5f} "
          f"self-loop mean {attn[-args.nodes:].mean().item():.5f}")
    g = model.out.parametrizations.weight.original0
    print(f"weight norm g {g.flatten().tolist()[0]:.5f} effective row norms "
          + " ".join(f"{v:.5f}" for v in model.out.weight.norm(dim=1).tolist()))
    model.load_state_dict(best_state)
    _, val_acc, test_acc, _ = test()
    with torch.no_grad():
        logits = model(x, edge_index, norm, deg)
        probs = logits.softmax(dim=-1)
    print(f"best epoch {best_epoch} val {val_acc:.4f} (recorded {best_val:.4f}) "
          f"test {test_acc:.4f}")
    print("first node probabilities:", " ".join(f"{v:.4f}" for v in probs[0].tolist()))
    print("mean embedding norm:", f"{logits.norm(dim=1).mean().item():.5f}")


if __name__ == "__main__":
    main()
