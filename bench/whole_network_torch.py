"""PyTorch figure for bench/whole-network.ts: one training step of the whole VGG16 (all 13 convs
trainable) plus the seed head Flatten-Dense256-ReLU-Dropout-Dense, Adam, from random weights.

  whole_network_torch.py --serve SIZE BATCH CLASSES
      warms up, prints {"ready": true, "threads": T}, then for every line N on stdin runs N steps
      and prints {"stepMs": [...]}; at end of input prints {"maxRssMb": peak resident set size}.
BENCH_TORCH_THREADS sets the thread count (PyTorch's default here is 1)."""
import json
import os
import resource
import sys
import time

import torch
import torchvision

size, batch, classes = (int(a) for a in sys.argv[2:5])
torch.manual_seed(0)
torch.set_num_threads(int(os.environ.get("BENCH_TORCH_THREADS", torch.get_num_threads())))
side = size // 32
model = torch.nn.Sequential(
    torchvision.models.vgg16().features,
    torch.nn.Flatten(),
    torch.nn.Linear(side * side * 512, 256),
    torch.nn.ReLU(),
    torch.nn.Dropout(0.5),
    torch.nn.Linear(256, classes),
)
opt = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-7)
x = torch.randn(batch, 3, size, size)
y = torch.randint(0, classes, (batch,))
loss_fn = torch.nn.CrossEntropyLoss()


def step():
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


for _ in range(2):
    step()
print(json.dumps({"ready": True, "threads": torch.get_num_threads()}), flush=True)
for line in sys.stdin:
    times = []
    for _ in range(int(line)):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"stepMs": times}), flush=True)
print(json.dumps({"maxRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
