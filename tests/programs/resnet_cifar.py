"""A small ResNet for CIFAR-sized images, trained with the pieces of a typical CIFAR training
script: ``BasicBlock``s (3x3 convolutions, batch norm, a residual add and a strided 1x1
downsample), ``AdaptiveAvgPool2d`` and ``flatten``; a ``TensorDataset`` and ``DataLoader``;
SGD with Nesterov momentum and weight decay in two parameter groups (no decay for biases and
batch-norm parameters); a linear warm-up followed by cosine annealing through ``SequentialLR``;
``CrossEntropyLoss(label_smoothing=0.1)``; ``clip_grad_norm_``; an exponential moving average
of the weights kept by ``torch.optim.swa_utils.AveragedModel``; a forward hook that gathers
feature statistics and a full backward hook on the classifier; activation checkpointing of one
stage with ``torch.utils.checkpoint``; evaluation under ``@torch.no_grad()`` with top-1/top-5
accuracy as the ImageNet example computes it; and a checkpoint dict written with ``torch.save`` to a
temporary directory, read back with ``torch.load`` and resumed.

The 3x32x32 images (ten classes of coloured, oriented gratings) and the initial weights come
from seeded NumPy generators, and the loader shuffles with a NumPy sampler, so the program
prints the same numbers under any library. ``--sampler torch`` instead draws the images and
the shuffling from a seeded ``torch.Generator``: reproducible under one library, but the
numbers then depend on that library's random streams.
"""

import argparse
import copy
import math
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.checkpoint import checkpoint
from torch.utils.data import DataLoader, Sampler, TensorDataset

CLASSES = 10


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)


class ResNet(nn.Module):
    def __init__(self, widths=(8, 16, 32), num_classes=CLASSES, use_checkpoint=True):
        super().__init__()
        self.use_checkpoint = use_checkpoint
        self.conv1 = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.layer1 = BasicBlock(widths[0], widths[0])
        self.layer2 = BasicBlock(widths[0], widths[1], stride=2)
        self.layer3 = BasicBlock(widths[1], widths[2], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[2], num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer1(out)
        if self.use_checkpoint and self.training and torch.is_grad_enabled():
            # trade compute for memory on the middle stage: its activations are recomputed
            # in the backward pass (its batch norms therefore see the batch twice)
            out = checkpoint(self.layer2, out, use_reentrant=False)
        else:
            out = self.layer2(out)
        out = self.layer3(out)
        out = self.avgpool(out)
        out = torch.flatten(out, 1)
        return self.fc(out)


def make_data(n, rng):
    """Coloured gratings: the class sets the stripes' angle and the dominant colour channel."""
    labels = rng.integers(0, CLASSES, n)
    yy, xx = np.mgrid[0:32, 0:32]
    ang = labels[:, None, None] * np.pi / CLASSES + rng.normal(0, 0.05, (n, 1, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    wave = np.sin((xx * np.cos(ang) + yy * np.sin(ang)) * 0.6 + phase)
    colour = np.eye(3)[labels % 3][:, :, None, None] * 0.5 + 0.5
    img = colour * wave[:, None] + 0.4 * rng.standard_normal((n, 3, 32, 32))
    return img.astype(np.float32), labels


def make_data_torch(n, g):
    labels = torch.randint(0, CLASSES, (n,), generator=g)
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    ang = labels[:, None, None] * math.pi / CLASSES + 0.05 * torch.randn(n, 1, 1, generator=g)
    phase = 2 * math.pi * torch.rand(n, 1, 1, generator=g)
    wave = torch.sin((xx * torch.cos(ang) + yy * torch.sin(ang)) * 0.6 + phase)
    colour = torch.eye(3)[labels % 3][:, :, None, None] * 0.5 + 0.5
    img = colour * wave[:, None] + 0.4 * torch.randn(n, 3, 32, 32, generator=g)
    return img, labels


class NumpyShuffle(Sampler):
    """A fresh permutation per epoch from a seeded NumPy generator."""

    def __init__(self, n, seed):
        self.n, self.rng = n, np.random.default_rng(seed)

    def __iter__(self):
        return iter(self.rng.permutation(self.n).tolist())

    def __len__(self):
        return self.n


def init_weights(model, rng):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):  # kaiming normal, fan_out, as torchvision does
                fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
                w = rng.normal(0, math.sqrt(2.0 / fan_out), tuple(m.weight.shape))
                m.weight.copy_(torch.from_numpy(w))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                bound = 1 / math.sqrt(m.in_features)
                m.weight.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(m.weight.shape))))
                m.bias.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(m.bias.shape))))


class AverageMeter:
    """Computes and stores the average and current value (as in the ImageNet example)."""

    def __init__(self):
        self.sum, self.count = 0.0, 0

    def update(self, val, n=1):
        self.sum += val * n
        self.count += n

    @property
    def avg(self):
        return self.sum / self.count


def accuracy(output, target, topk=(1,)):
    """Computes the accuracy over the k top predictions for the specified values of k."""
    maxk = max(topk)
    batch_size = target.size(0)
    _, pred = output.topk(maxk, 1, True, True)
    pred = pred.t()
    correct = pred.eq(target.view(1, -1).expand_as(pred))
    res = []
    for k in topk:
        correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
        res.append(correct_k.mul_(100.0 / batch_size))
    return res


@torch.no_grad()
def evaluate(model, loader, device, criterion, channels_last=False):
    model.eval()
    losses, top1, top5 = AverageMeter(), AverageMeter(), AverageMeter()
    for images, targets in loader:
        images, targets = images.to(device), targets.to(device)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        outputs = model(images)
        acc1, acc5 = accuracy(outputs, targets, topk=(1, 5))
        losses.update(criterion(outputs, targets).item(), images.size(0))
        top1.update(acc1[0].item(), images.size(0))
        top5.update(acc5[0].item(), images.size(0))
    return losses.avg, top1.avg, top5.avg


def main():
    parser = argparse.ArgumentParser(description="ResNet on CIFAR-shaped synthetic data")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--wd", type=float, default=5e-4)
    parser.add_argument("--warmup", type=int, default=4, help="warm-up steps")
    parser.add_argument("--ema-decay", type=float, default=0.9)
    parser.add_argument("--sampler", choices=["numpy", "torch"], default="numpy")
    parser.add_argument("--no-checkpoint", action="store_true")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    if device.type == "cuda":
        torch.cuda.manual_seed_all(args.seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False

    rng = np.random.default_rng(args.seed)
    if args.sampler == "numpy":
        x_train, y_train = make_data(192, rng)
        x_val, y_val = make_data(96, rng)
        train_set = TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train))
        val_set = TensorDataset(torch.from_numpy(x_val), torch.from_numpy(y_val))
        train_loader = DataLoader(train_set, batch_size=args.batch_size,
                                  sampler=NumpyShuffle(len(train_set), 7), drop_last=True)
    else:
        g = torch.Generator().manual_seed(2024)
        train_set = TensorDataset(*make_data_torch(192, g))
        val_set = TensorDataset(*make_data_torch(96, g))
        train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                                  generator=g, drop_last=True)
    val_loader = DataLoader(val_set, batch_size=48, shuffle=False)
    print(f"train batches {len(train_loader)} val batches {len(val_loader)}")

    model = ResNet(use_checkpoint=not args.no_checkpoint).to(device)
    init_weights(model, rng)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"parameters {n_params}")

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or name.endswith("bias") else decay).append(p)
    optimizer = torch.optim.SGD([{"params": decay, "weight_decay": args.wd},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=args.lr, momentum=args.momentum, nesterov=True)
    total_steps = args.epochs * len(train_loader)
    warmup = LinearLR(optimizer, start_factor=0.1, end_factor=1.0, total_iters=args.warmup)
    cosine = CosineAnnealingLR(optimizer, T_max=total_steps - args.warmup, eta_min=1e-4)
    scheduler = SequentialLR(optimizer, [warmup, cosine], milestones=[args.warmup])
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(args.ema_decay),
                        use_buffers=True)

    feature_stats = {}

    def save_stats(name):
        def hook(module, inputs, output):
            feature_stats[name] = (output.mean().item(), output.std().item(),
                                   (output > 0).float().mean().item())
        return hook

    handles = [getattr(model, n).register_forward_hook(save_stats(n))
               for n in ("layer1", "layer2", "layer3")]
    head_grads = []

    def save_head_grads(module, grad_input, grad_output):
        # grad_input: w.r.t. the pooled features; grad_output: w.r.t. the logits
        head_grads.append((grad_input[0].norm().item(), grad_output[0].abs().sum().item()))

    handles.append(model.fc.register_full_backward_hook(save_head_grads))

    step = 0
    for epoch in range(args.epochs):
        model.train()
        for images, targets in train_loader:
            images, targets = images.to(device), targets.to(device)
            if args.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            optimizer.zero_grad(set_to_none=True)
            outputs = model(images)
            loss = criterion(outputs, targets)
            loss.backward()
            grad_norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=2.0)
            optimizer.step()
            scheduler.step()
            ema.update_parameters(model)
            step += 1
            if step % 3 == 0:
                print(f"epoch {epoch} step {step} loss {loss.item():.5f} "
                      f"grad norm {grad_norm.item():.5f} lr {scheduler.get_last_lr()[0]:.6f} "
                      f"feature grad {head_grads[-1][0]:.5f} logit grad {head_grads[-1][1]:.5f}")
        s = feature_stats["layer2"]
        print(f"epoch {epoch} layer2 features: mean {s[0]:.5f} std {s[1]:.5f} "
              f"active {s[2]:.4f}")
        val_loss, val_acc, val_acc5 = evaluate(model, val_loader, device, criterion,
                                               args.channels_last)
        ema_loss, ema_acc, _ = evaluate(ema.module, val_loader, device, criterion,
                                        args.channels_last)
        print(f"epoch {epoch} val loss {val_loss:.5f} acc@1 {val_acc:.2f} acc@5 {val_acc5:.2f} "
              f"ema val loss {ema_loss:.5f} acc@1 {ema_acc:.2f}")
        for name in ("layer1", "layer2", "layer3"):
            m, sd, act = feature_stats[name]
            print(f"  eval {name}: mean {m:.5f} std {sd:.5f} active {act:.4f}")
    for h in handles:
        h.remove()
    bn = model.layer2.bn1
    print(f"layer2.bn1 running mean norm {bn.running_mean.norm().item():.5f} "
          f"var mean {bn.running_var.mean().item():.5f} batches {bn.num_batches_tracked.item()}")
    print(f"head backward hook calls {len(head_grads)}")
    print(f"ema averaged {ema.n_averaged.item()} fc weight norm "
          f"{ema.module.fc.weight.norm().item():.5f} vs model {model.fc.weight.norm().item():.5f}")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "checkpoint.pth")
        torch.save({"epoch": args.epochs, "model": model.state_dict(),
                    "ema": ema.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "best_acc": val_acc}, path)
        ckpt = torch.load(path, map_location=device, weights_only=True)
        restored = ResNet(use_checkpoint=False).to(device)
        restored.load_state_dict(ckpt["model"])
        restored_ema = AveragedModel(copy.deepcopy(restored),
                                     multi_avg_fn=get_ema_multi_avg_fn(args.ema_decay),
                                     use_buffers=True)
        restored_ema.load_state_dict(ckpt["ema"])
        opt2 = torch.optim.SGD([{"params": [p for p in restored.parameters() if p.ndim > 1],
                                 "weight_decay": args.wd},
                                {"params": [p for p in restored.parameters() if p.ndim <= 1],
                                 "weight_decay": 0.0}],
                               lr=args.lr, momentum=args.momentum, nesterov=True)
        opt2.load_state_dict(ckpt["optimizer"])
    print(f"checkpoint: epoch {ckpt['epoch']} best acc {ckpt['best_acc']:.2f} "
          f"keys {len(ckpt['model'])} momentum buffers {len(opt2.state)}")
    _, acc2, _ = evaluate(restored, val_loader, device, criterion)
    _, ema_acc2, _ = evaluate(restored_ema.module, val_loader, device, criterion)
    print(f"restored acc {acc2:.2f} ema acc {ema_acc2:.2f}")

    # one more step from the restored state: the same update as the original would make
    restored.train()
    images, targets = next(iter(DataLoader(train_set, batch_size=args.batch_size)))
    images, targets = images.to(device), targets.to(device)
    opt2.zero_grad(set_to_none=True)
    loss = criterion(restored(images), targets)
    loss.backward()
    opt2.step()
    print(f"resumed step loss {loss.item():.5f} fc weight norm "
          f"{restored.fc.weight.norm().item():.5f}")


if __name__ == "__main__":
    main()
