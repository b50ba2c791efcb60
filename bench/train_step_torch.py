"""PyTorch figure for bench/train.ts: one block5 + Flatten-Dense256-Dropout-Dense fine-tuning step
(batch 16, 14x14x512 cached features, Adam update included). Prints one JSON line."""
import json
import sys
import time

import torch

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 5
torch.manual_seed(0)
torch.set_num_threads(torch.get_num_threads())
layers = []
for _ in range(3):
    layers += [torch.nn.Conv2d(512, 512, 3, padding=1), torch.nn.ReLU()]
model = torch.nn.Sequential(*layers, torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(7 * 7 * 512, 256), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(256, 5))
opt = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-7)
x = torch.randn(16, 512, 14, 14)
y = torch.randint(0, 5, (16,))
loss_fn = torch.nn.CrossEntropyLoss()

def step():
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()

for _ in range(2):
    step()
start = time.perf_counter()
for _ in range(steps):
    step()
elapsed = time.perf_counter() - start
print(json.dumps({"imagesPerSecond": 16 * steps / elapsed, "threads": torch.get_num_threads()}))
