"""Binary segmentation with a small U-Net, in the style of the segmentation tutorials: an
encoder of convolutions with group norm and max pooling, a decoder that upsamples by a
transposed convolution on one level and by bilinear ``F.interpolate`` on the other, skip
connections by ``torch.cat``, a loss that adds ``BCEWithLogitsLoss(pos_weight=...)`` to a
soft Dice term, SGD with Nesterov momentum and ``ReduceLROnPlateau`` on a validation loss,
and a custom ``Dataset`` served by a ``DataLoader`` with a ``collate_fn``.

Images (noisy discs on a gradient background) and the initial weights come from seeded NumPy
generators and the loader does not shuffle, so the program prints the same numbers under any
library that runs it.
"""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.GroupNorm(2, cout),
                         nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, padding=1),
                         nn.ReLU(inplace=True))


class UNet(nn.Module):
    def __init__(self, c=4):
        super().__init__()
        self.enc1, self.enc2, self.mid = block(1, c), block(c, 2 * c), block(2 * c, 4 * c)
        self.up2 = nn.ConvTranspose2d(4 * c, 2 * c, 2, stride=2)
        self.dec2 = block(4 * c, 2 * c)
        self.dec1 = block(2 * c + c, c)
        self.head = nn.Conv2d(c, 1, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(m), e2], dim=1))
        up = F.interpolate(d2, scale_factor=2, mode="bilinear", align_corners=True)
        d1 = self.dec1(torch.cat([up, e1], dim=1))
        return self.head(d1)


class Discs(Dataset):
    def __init__(self, n, seed):
        rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[0:16, 0:16]
        cy, cx = rng.uniform(4, 12, (2, n, 1, 1))
        r = rng.uniform(2, 4, (n, 1, 1))
        self.masks = ((yy - cy) ** 2 + (xx - cx) ** 2 < r ** 2).astype(np.float32)
        background = (xx / 16.0)[None] * rng.uniform(0, 1, (n, 1, 1))
        self.images = (self.masks + background
                       + 0.3 * rng.standard_normal(self.masks.shape)).astype(np.float32)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return {"image": torch.from_numpy(self.images[i])[None], "mask": self.masks[i]}


def collate(items):
    images = torch.stack([it["image"] for it in items])
    masks = torch.from_numpy(np.stack([it["mask"] for it in items]))[:, None]
    return images, masks


def dice_loss(logits, target, eps=1.0):
    p = torch.sigmoid(logits)
    inter = (p * target).sum(dim=(1, 2, 3))
    union = p.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3))
    return (1 - (2 * inter + eps) / (union + eps)).mean()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    device = torch.device(args.device)
    rng = np.random.default_rng(2)
    train = DataLoader(Discs(64, 1), batch_size=16, shuffle=False, collate_fn=collate)
    val = DataLoader(Discs(32, 2), batch_size=32, collate_fn=collate)
    model = UNet().to(device)
    with torch.no_grad():
        for p in model.parameters():
            fan_in = p[0].numel() if p.dim() > 1 else 4
            p.copy_(torch.from_numpy(rng.normal(0, np.sqrt(2 / fan_in), tuple(p.shape))))
    bce = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0], device=device))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5,
                                                         patience=0)

    for epoch in range(args.epochs):
        model.train()
        total = 0.0
        for images, masks in train:
            images, masks = images.to(device), masks.to(device)
            logits = model(images)
            loss = bce(logits, masks) + dice_loss(logits, masks)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * images.size(0)
        model.eval()
        with torch.no_grad():
            images, masks = next(iter(val))
            images, masks = images.to(device), masks.to(device)
            logits = model(images)
            vloss = bce(logits, masks) + dice_loss(logits, masks)
            pred = logits > 0
            iou = ((pred & (masks > 0)).sum() / (pred | (masks > 0)).sum()).item()
        plateau.step(vloss)
        print(f"epoch {epoch}: train loss {total / len(train.dataset):.5f} "
              f"val loss {vloss.item():.5f} IoU {iou:.4f} lr {opt.param_groups[0]['lr']:.4f}")


if __name__ == "__main__":
    main()
