"""REINFORCE on a cart-pole, written for PyTorch: a two-layer policy with dropout, a
Categorical over its softmax output, discounted and normalised returns, Adam.

The environment is a small NumPy cart-pole (the classic dynamics, Euler steps of 20 ms, up to
500 steps) defined below, so the program needs no gym. The policy's initial weights come from a
seeded NumPy generator; with ``--sampler numpy`` the actions are drawn from the policy's
probabilities with a seeded NumPy generator too, so that any library running this program sees
the same episodes. Dropout draws from the library's own generator: ``--dropout 0`` turns it off.
"""

import argparse
import math
from collections import deque
from itertools import count
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import Categorical


class CartPole:
    """A pole hinged on a cart that moves along a track; keep it up by pushing left or right.

    Observation: cart position and velocity, pole angle and angular velocity. Reward 1 per step;
    the episode ends when the pole leans past 12 degrees or the cart leaves the track, and is cut
    after ``max_steps`` steps.
    """

    def __init__(self, max_steps=500):
        self.gravity, self.cart_mass, self.pole_mass = 9.8, 1.0, 0.1
        self.half_length, self.force, self.dt = 0.5, 10.0, 0.02
        self.max_angle, self.max_x = 12 * 2 * math.pi / 360, 2.4
        self.max_steps = max_steps
        self.spec = SimpleNamespace(reward_threshold=0.95 * max_steps)
        self.rng = np.random.default_rng()
        self.state = None
        self.steps = 0

    def reset(self, seed=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.state = self.rng.uniform(-0.05, 0.05, size=4)
        self.steps = 0
        return self.state.astype(np.float32), {}

    def step(self, action):
        x, x_dot, theta, theta_dot = self.state
        push = self.force if action == 1 else -self.force
        total_mass = self.cart_mass + self.pole_mass
        pole_ml = self.pole_mass * self.half_length
        cos, sin = math.cos(theta), math.sin(theta)
        tmp = (push + pole_ml * theta_dot ** 2 * sin) / total_mass
        theta_acc = (self.gravity * sin - cos * tmp) / (
            self.half_length * (4.0 / 3.0 - self.pole_mass * cos ** 2 / total_mass))
        x_acc = tmp - pole_ml * theta_acc * cos / total_mass
        x, x_dot = x + self.dt * x_dot, x_dot + self.dt * x_acc
        theta, theta_dot = theta + self.dt * theta_dot, theta_dot + self.dt * theta_acc
        self.state = np.array([x, x_dot, theta, theta_dot])
        self.steps += 1
        terminated = bool(abs(x) > self.max_x or abs(theta) > self.max_angle)
        truncated = self.steps >= self.max_steps
        return self.state.astype(np.float32), 1.0, terminated, truncated, {}


class Policy(nn.Module):
    def __init__(self, dropout=0.6):
        super().__init__()
        self.affine1 = nn.Linear(4, 128)
        self.dropout = nn.Dropout(p=dropout)
        self.affine2 = nn.Linear(128, 2)
        self.saved_log_probs = []
        self.rewards = []

    def forward(self, x):
        x = self.affine1(x)
        x = self.dropout(x)
        x = F.relu(x)
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=1)


def main():
    parser = argparse.ArgumentParser(description="PyTorch REINFORCE example")
    parser.add_argument("--gamma", type=float, default=0.99, metavar="G")
    parser.add_argument("--seed", type=int, default=543, metavar="N")
    parser.add_argument("--log-interval", type=int, default=10, metavar="N")
    parser.add_argument("--max-episodes", type=int, default=1000)
    parser.add_argument("--dropout", type=float, default=0.6)
    parser.add_argument("--sampler", choices=["torch", "numpy"], default="torch",
                        help="draw actions with Categorical.sample or with a NumPy generator")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    env = CartPole()
    env.reset(seed=args.seed)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    action_rng = np.random.default_rng(args.seed)

    policy = Policy(args.dropout)
    init = np.random.default_rng(args.seed)
    with torch.no_grad():
        for p in policy.parameters():
            bound = 1.0 / math.sqrt(p.shape[-1])
            p.copy_(torch.from_numpy(init.uniform(-bound, bound, size=tuple(p.shape))))
    policy.to(device)
    optimizer = optim.Adam(policy.parameters(), lr=1e-2)
    eps = np.finfo(np.float32).eps.item()

    def select_action(state):
        state = torch.from_numpy(state).float().unsqueeze(0).to(device)
        probs = policy(state)
        m = Categorical(probs)
        if args.sampler == "torch":
            action = m.sample()
        else:
            p = probs.detach().cpu().numpy()[0].astype(np.float64)
            action = torch.tensor([action_rng.choice(len(p), p=p / p.sum())], device=device)
        policy.saved_log_probs.append(m.log_prob(action))
        return action.item()

    def finish_episode():
        R = 0
        policy_loss = []
        returns = deque()
        for r in policy.rewards[::-1]:
            R = r + args.gamma * R
            returns.appendleft(R)
        returns = torch.tensor(returns, device=device)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for log_prob, R in zip(policy.saved_log_probs, returns):
            policy_loss.append(-log_prob * R)
        optimizer.zero_grad()
        policy_loss = torch.cat(policy_loss).sum()
        policy_loss.backward()
        optimizer.step()
        del policy.rewards[:]
        del policy.saved_log_probs[:]
        return policy_loss.item()

    running_reward = 10
    for i_episode in count(1):
        state, _ = env.reset()
        ep_reward = 0
        for t in range(1, 10000):  # noqa: B007 (t is printed when solved)
            action = select_action(state)
            state, reward, terminated, truncated, _ = env.step(action)
            policy.rewards.append(reward)
            ep_reward += reward
            if terminated or truncated:
                break

        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
        loss = finish_episode()
        if i_episode % args.log_interval == 0:
            print(f"Episode {i_episode}\tLast reward: {ep_reward:.2f}\t"
                  f"Average reward: {running_reward:.4f}\tloss: {loss:.6f}")
        if running_reward > env.spec.reward_threshold:
            print(f"Solved! Running reward is now {running_reward} and "
                  f"the last episode runs to {t} time steps!")
            break
        if i_episode >= args.max_episodes:
            break


if __name__ == "__main__":
    main()
