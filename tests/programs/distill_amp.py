"""Knowledge distillation of a teacher MLP into a smaller student, in the style of the
distillation tutorials and current mixed-precision training scripts: the teacher is trained
first, then frozen with ``requires_grad_(False)`` and ``.eval()``; the student learns from
``KLDivLoss(reduction='batchmean')`` between temperature-scaled ``log_softmax`` outputs (with
``log_target=True`` or ``False``) plus ``CrossEntropyLoss`` on the labels, under
``torch.autocast`` with a ``torch.amp.GradScaler`` (``scale(loss).backward()``, ``unscale_``,
``clip_grad_norm_``, ``step``, ``update``); ``AdamW(amsgrad=True)`` with parameter groups picked
from ``named_parameters()``, ``ReduceLROnPlateau`` on the validation loss, and evaluation under
``torch.inference_mode()``.

Mixed precision follows the usual choice: float16 with loss scaling on CUDA, bfloat16 (no
scaling) on the CPU; ``--amp-dtype`` picks one for both, and ``--amp-dtype none`` turns
autocast and the scaler off through their ``enabled=`` flags. The clustered points and the
initial weights come from seeded NumPy generators and batches from a seeded NumPy permutation,
so the program prints the same numbers under any library.
"""

import argparse
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FEATURES, CLASSES = 12, 5


def mlp(sizes):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def init_weights(model, rng):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight"):
                bound = math.sqrt(6 / p.shape[1])  # kaiming uniform for ReLU
                p.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(p.shape))))
            else:
                p.copy_(torch.from_numpy(rng.uniform(-0.05, 0.05, tuple(p.shape))))


def make_data(n, rng):
    """Points around class centres, pushed through a fixed nonlinearity so that a linear model
    cannot separate them well."""
    centres = np.random.default_rng(0).normal(0, 1.5, (CLASSES, FEATURES))
    labels = rng.integers(0, CLASSES, n)
    x = centres[labels] + rng.normal(0, 1.2, (n, FEATURES))
    x = np.tanh(x) + 0.1 * x ** 2
    return x.astype(np.float32), labels


class DistillationLoss(nn.Module):
    """Hinton et al.'s loss: alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE."""

    def __init__(self, temperature, alpha, log_target):
        super().__init__()
        self.t, self.alpha, self.log_target = temperature, alpha, log_target
        self.kl = nn.KLDivLoss(reduction="batchmean", log_target=log_target)
        self.ce = nn.CrossEntropyLoss()

    def forward(self, student_logits, teacher_logits, labels):
        s = F.log_softmax(student_logits / self.t, dim=-1)
        if self.log_target:
            t = F.log_softmax(teacher_logits / self.t, dim=-1)
        else:
            t = F.softmax(teacher_logits / self.t, dim=-1)
        kd = self.kl(s, t) * self.t ** 2
        ce = self.ce(student_logits, labels)
        return self.alpha * kd + (1 - self.alpha) * ce, kd, ce


@torch.inference_mode()
def evaluate(model, x, y, amp):
    model.eval()
    with torch.autocast(**amp):
        logits = model(x).float()  # the loss and the softmax in float32
    loss = F.cross_entropy(logits, y)
    acc = (logits.argmax(dim=1) == y).float().mean()
    return loss.item(), acc.item()


def batches(n, size, rng):
    perm = rng.permutation(n)
    for i in range(0, n - size + 1, size):
        yield torch.from_numpy(perm[i:i + size])


def main():
    parser = argparse.ArgumentParser(description="knowledge distillation with AMP")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp-dtype", choices=["auto", "float16", "bfloat16", "none"],
                        default="auto")
    parser.add_argument("--teacher-epochs", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=4.0)
    parser.add_argument("--alpha", type=float, default=0.7)
    parser.add_argument("--log-target", action="store_true")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.amp_dtype == "auto":
        amp_dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    else:
        amp_dtype = getattr(torch, args.amp_dtype, None)
    use_amp = amp_dtype is not None
    amp = {"device_type": device.type, "dtype": amp_dtype or torch.float32, "enabled": use_amp}
    print(f"autocast {use_amp} dtype {args.amp_dtype}")

    rng = np.random.default_rng(7)
    x_np, y_np = make_data(768, rng)
    xv_np, yv_np = make_data(256, rng)
    x, y = torch.from_numpy(x_np).to(device), torch.from_numpy(y_np).to(device)
    xv, yv = torch.from_numpy(xv_np).to(device), torch.from_numpy(yv_np).to(device)
    mean, std = x.mean(0, keepdim=True), x.std(0, keepdim=True)
    x, xv = (x - mean) / std, (xv - mean) / std

    teacher = mlp([FEATURES, 64, 64, CLASSES]).to(device)
    student = mlp([FEATURES, 12, CLASSES]).to(device)
    init_weights(teacher, rng)
    init_weights(student, rng)
    print("teacher parameters", sum(p.numel() for p in teacher.parameters()),
          "student parameters", sum(p.numel() for p in student.parameters()))

    # 1. the teacher: plain float32 training
    t_opt = torch.optim.Adam(teacher.parameters(), lr=3e-3)
    for epoch in range(args.teacher_epochs):
        teacher.train()
        total = 0.0
        for idx in batches(len(x), args.batch_size, rng):
            idx = idx.to(device)
            loss = F.cross_entropy(teacher(x[idx]), y[idx])
            t_opt.zero_grad()
            loss.backward()
            t_opt.step()
            total += loss.item()
        vloss, vacc = evaluate(teacher, xv, yv, {**amp, "enabled": False})
        print(f"teacher epoch {epoch}: train loss {total / (len(x) // args.batch_size):.5f} "
              f"val loss {vloss:.5f} acc {vacc:.4f}")

    teacher.requires_grad_(False)
    teacher.eval()
    trainable = [n for n, p in teacher.named_parameters() if p.requires_grad]
    print("teacher trainable tensors after freezing:", len(trainable))

    # 2. the student, distilled under autocast
    decay = [p for n, p in student.named_parameters() if n.endswith("weight")]
    no_decay = [p for n, p in student.named_parameters() if not n.endswith("weight")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-2, betas=(0.9, 0.99), amsgrad=True)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5,
                                                         patience=0, threshold=0.1)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16,
                                  init_scale=2.0 ** 12, growth_interval=8)
    criterion = DistillationLoss(args.temperature, args.alpha, args.log_target)
    for epoch in range(args.epochs):
        student.train()
        sums = np.zeros(3)
        steps = 0
        for idx in batches(len(x), args.batch_size, rng):
            idx = idx.to(device)
            xb, yb = x[idx], y[idx]
            with torch.autocast(**amp):
                with torch.no_grad():
                    t_logits = teacher(xb)
                s_logits = student(xb)
            loss, kd, ce = criterion(s_logits.float(), t_logits.float(), yb)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            grad_norm = nn.utils.clip_grad_norm_(student.parameters(), max_norm=1.0)
            scaler.step(opt)
            scaler.update()
            sums += [loss.item(), kd.item(), ce.item()]
            steps += 1
        vloss, vacc = evaluate(student, xv, yv, amp)
        plateau.step(vloss)
        avg = sums / steps
        print(f"student epoch {epoch}: loss {avg[0]:.4f} kd {avg[1]:.4f} ce {avg[2]:.4f} "
              f"grad norm {grad_norm.item():.4f} val loss {vloss:.4f} acc {vacc:.4f} "
              f"lr {opt.param_groups[0]['lr']:.5f} scale {scaler.get_scale():.0f}")

    # agreement of the two models on the validation set
    with torch.inference_mode():
        t_pred = teacher(xv).argmax(1)
        s_logits = student(xv)
        s_pred = s_logits.argmax(1)
        kl = F.kl_div(F.log_softmax(s_logits, 1), F.log_softmax(teacher(xv), 1),
                      reduction="batchmean", log_target=True)
    print(f"student/teacher agreement {(t_pred == s_pred).float().mean().item():.4f} "
          f"KL {kl.item():.5f}")
    state = opt.state[decay[0]]
    print(f"amsgrad max_exp_avg_sq sum {state['max_exp_avg_sq'].sum().item():.6f} "
          f"steps {int(state['step'])}")


if __name__ == "__main__":
    main()
