"""Actor-critic on a cart-pole, written for PyTorch: one network with an action head (a
Categorical policy) and a value head, the policy loss weighted by the advantage, a smooth-L1
value loss, Adam, and a saved-and-restored checkpoint of the model and the optimizer.

The environment is a small NumPy cart-pole (the classic dynamics) defined below, so the program
needs no gym. The initial weights come from a seeded NumPy generator; with ``--sampler numpy``
the actions are drawn from the policy's probabilities by a seeded NumPy generator too, so that
any library running this program sees the same episodes.
"""

import argparse
import math
import os
import tempfile
from collections import namedtuple
from itertools import count

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import Categorical

SavedAction = namedtuple("SavedAction", ["log_prob", "value"])


class CartPoleEnv:
    """Balance a pole on a cart with pushes of +-10 N; reward 1 per step until the pole falls
    past 12 degrees, the cart leaves [-2.4, 2.4] or ``limit`` steps pass."""

    reward_threshold = 475.0

    def __init__(self, limit=500):
        self.limit = limit
        self.np_random = np.random.default_rng()
        self.state = np.zeros(4)
        self.t = 0

    def reset(self, seed=None):
        if seed is not None:
            self.np_random = np.random.default_rng(seed)
        self.state = self.np_random.uniform(low=-0.05, high=0.05, size=(4,))
        self.t = 0
        return np.array(self.state, dtype=np.float32), {}

    def step(self, action):
        g, m_cart, m_pole, half_len, dt = 9.8, 1.0, 0.1, 0.5, 0.02
        x, v, th, w = self.state
        f = 10.0 if action == 1 else -10.0
        m = m_cart + m_pole
        c, s = np.cos(th), np.sin(th)
        k = (f + m_pole * half_len * w * w * s) / m
        alpha = (g * s - c * k) / (half_len * (4.0 / 3.0 - m_pole * c * c / m))
        a = k - m_pole * half_len * alpha * c / m
        self.state = np.array([x + dt * v, v + dt * a, th + dt * w, w + dt * alpha])
        self.t += 1
        fell = abs(self.state[0]) > 2.4 or abs(self.state[2]) > 12 * math.pi / 180
        return np.array(self.state, dtype=np.float32), 1.0, bool(fell), self.t >= self.limit, {}


class Policy(nn.Module):
    """Actor and critic sharing one hidden layer."""

    def __init__(self):
        super().__init__()
        self.affine1 = nn.Linear(4, 128)
        self.action_head = nn.Linear(128, 2)
        self.value_head = nn.Linear(128, 1)
        self.saved_actions = []
        self.rewards = []

    def forward(self, x):
        x = F.relu(self.affine1(x))
        action_prob = F.softmax(self.action_head(x), dim=-1)
        state_values = self.value_head(x)
        return action_prob, state_values


def main():
    parser = argparse.ArgumentParser(description="PyTorch actor-critic example")
    parser.add_argument("--gamma", type=float, default=0.99, metavar="G")
    parser.add_argument("--seed", type=int, default=543, metavar="N")
    parser.add_argument("--log-interval", type=int, default=10, metavar="N")
    parser.add_argument("--max-episodes", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=3e-2)
    parser.add_argument("--sampler", choices=["torch", "numpy"], default="torch")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    env = CartPoleEnv()
    env.reset(seed=args.seed)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    action_rng = np.random.default_rng(args.seed)

    model = Policy()
    rng = np.random.default_rng(args.seed)
    with torch.no_grad():
        for p in model.parameters():
            bound = 1.0 / math.sqrt(p.shape[-1])
            p.copy_(torch.tensor(rng.uniform(-bound, bound, size=tuple(p.shape)),
                                 dtype=torch.float32))
    model = model.to(device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    eps = np.finfo(np.float32).eps.item()

    def select_action(state):
        state = torch.from_numpy(state).float().to(device)
        probs, state_value = model(state)
        m = Categorical(probs)
        if args.sampler == "torch":
            action = m.sample()
        else:
            u = action_rng.random()
            action = (probs.cumsum(0) < u).sum().clamp(max=probs.numel() - 1)
        model.saved_actions.append(SavedAction(m.log_prob(action), state_value))
        return action.item()

    def finish_episode():
        R = 0
        saved_actions = model.saved_actions
        policy_losses = []
        value_losses = []
        returns = []
        for r in model.rewards[::-1]:
            R = r + args.gamma * R
            returns.insert(0, R)
        returns = torch.tensor(returns, device=device)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for (log_prob, value), R in zip(saved_actions, returns):
            advantage = R - value.item()
            policy_losses.append(-log_prob * advantage)
            value_losses.append(F.smooth_l1_loss(value, torch.tensor([R], device=device)))
        optimizer.zero_grad()
        loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum()
        loss.backward()
        optimizer.step()
        del model.rewards[:]
        del model.saved_actions[:]
        return loss.item(), torch.stack(value_losses).sum().item()

    running_reward = 10
    tmp = tempfile.TemporaryDirectory()
    checkpoint = os.path.join(tmp.name, "actor_critic.pt")
    for i_episode in count(1):
        state, _ = env.reset()
        ep_reward = 0
        for t in range(1, 10000):  # noqa: B007 (t is printed when solved)
            action = select_action(state)
            state, reward, done, truncated, _ = env.step(action)
            model.rewards.append(reward)
            ep_reward += reward
            if done or truncated:
                break
        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
        loss, value_loss = finish_episode()
        if i_episode % args.log_interval == 0:
            print(f"Episode {i_episode}\tLast reward: {ep_reward:.2f}\t"
                  f"Average reward: {running_reward:.4f}\t"
                  f"loss: {loss:.6f}\tvalue loss: {value_loss:.6f}")
            torch.save({"episode": i_episode, "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "running_reward": running_reward}, checkpoint)
        if running_reward > env.reward_threshold:
            print(f"Solved! Running reward is now {running_reward} and "
                  f"the last episode runs to {t} time steps!")
            break
        if i_episode >= args.max_episodes:
            break

    # resume from the last checkpoint into fresh objects and check the values it carries
    ckpt = torch.load(checkpoint, map_location=device)
    restored = Policy().to(device)
    restored.load_state_dict(ckpt["model"])
    opt2 = optim.Adam(restored.parameters(), lr=args.lr)
    opt2.load_state_dict(ckpt["optimizer"])
    probe = torch.zeros(4, device=device)
    with torch.no_grad():
        probs, value = restored(probe)
    print("restored episode {} running reward {:.4f} probs {:.6f} {:.6f} value {:.6f}".format(
        ckpt["episode"], ckpt["running_reward"], probs[0].item(), probs[1].item(),
        value.item()))
    print("optimizer steps", opt2.state_dict()["state"][0]["step"].item())
    tmp.cleanup()


if __name__ == "__main__":
    main()
