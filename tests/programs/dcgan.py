"""A small DCGAN in the style of PyTorch's examples: a generator of transposed convolutions
with batch norm and a convolutional discriminator with leaky ReLUs, trained against each other
with binary cross-entropy and Adam(betas=(0.5, 0.999)).

The 16x16 "images" (blurred bars) and the latent noise are drawn by NumPy, and the initial
weights come from a seeded NumPy generator through the usual ``weights_init`` hook applied with
``Module.apply``, so the program prints the same numbers under any library that runs it.
"""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

NZ, NGF, NDF = 8, 8, 8


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(NZ, NGF * 2, 4, 1, 0, bias=False),  # 1 -> 4
            nn.BatchNorm2d(NGF * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False),  # 4 -> 8
            nn.BatchNorm2d(NGF),
            nn.ReLU(True),
            nn.ConvTranspose2d(NGF, 1, 4, 2, 1, bias=False),  # 8 -> 16
            nn.Tanh(),
        )

    def forward(self, z):
        return self.main(z)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(1, NDF, 4, 2, 1, bias=False),  # 16 -> 8
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(NDF, NDF * 2, 4, 2, 1, bias=False),  # 8 -> 4
            nn.BatchNorm2d(NDF * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(NDF * 2, 1, 4, 1, 0, bias=False),  # 4 -> 1
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.main(x).view(-1, 1).squeeze(1)


def make_images(n, rng):
    """Blurred bars at random angles, scaled to [-1, 1] like normalised images."""
    yy, xx = np.mgrid[0:16, 0:16] - 7.5
    ang = rng.uniform(0, np.pi, (n, 1, 1))
    dist = np.abs(xx * np.sin(ang) - yy * np.cos(ang))
    img = np.exp(-dist ** 2 / 4.0) * 2 - 1
    return img.astype(np.float32)[:, None]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--iters", type=int, default=12)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    device = torch.device(args.device)
    rng = np.random.default_rng(0)

    def weights_init(m):
        classname = m.__class__.__name__
        with torch.no_grad():
            if classname.find("Conv") != -1:
                m.weight.copy_(torch.from_numpy(rng.normal(0.0, 0.02, tuple(m.weight.shape))))
            elif classname.find("BatchNorm") != -1:
                m.weight.copy_(torch.from_numpy(rng.normal(1.0, 0.02, tuple(m.weight.shape))))
                m.bias.data.fill_(0)

    netG = Generator().to(device)
    netG.apply(weights_init)
    netD = Discriminator().to(device)
    netD.apply(weights_init)
    print("generator parameters:", sum(p.numel() for p in netG.parameters()))
    print("discriminator parameters:", sum(p.numel() for p in netD.parameters()))

    criterion = nn.BCELoss()
    fixed_noise = torch.from_numpy(rng.standard_normal((4, NZ, 1, 1)).astype(np.float32))
    fixed_noise = fixed_noise.to(device)
    real_label, fake_label = 1.0, 0.0
    optimizerD = optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))

    for i in range(args.iters):
        real = torch.from_numpy(make_images(args.batch, rng)).to(device)
        b = real.size(0)
        # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        label = torch.full((b,), real_label, dtype=real.dtype, device=device)
        output = netD(real)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        noise = torch.from_numpy(rng.standard_normal((b, NZ, 1, 1)).astype(np.float32))
        fake = netG(noise.to(device))
        label.fill_(fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()
        # (2) update G: maximize log(D(G(z)))
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()
        print(f"[{i}/{args.iters}] Loss_D: {errD.item():.5f} Loss_G: {errG.item():.5f} "
              f"D(x): {D_x:.5f} D(G(z)): {D_G_z1:.5f} / {D_G_z2:.5f}")

    netG.eval()
    with torch.no_grad():
        sample = netG(fixed_noise).cpu()
    print("sample shape:", tuple(sample.shape))
    print(f"sample mean {sample.mean().item():.5f} std {sample.std().item():.5f}")
    bn_mean = netG.main[1].running_mean.abs().sum().item()
    print(f"running mean of G's first batch norm: {bn_mean:.5f}")


if __name__ == "__main__":
    main()
