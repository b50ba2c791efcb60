"""PyTorch figure for bench/train.ts: one block5 + Flatten-Dense256-Dropout-Dense fine-tuning step
(batch 16, 14x14x512 cached features, Adam update included).

  train_step_torch.py [steps]   prints one JSON line {"imagesPerSecond": ...} and exits
  train_step_torch.py --serve   warms up, then for every line N read from stdin runs N steps and
                                prints {"stepMs": [...]}, so bench/train.ts can interleave rounds
                                with its own and both see the same machine load."""
import json
import os
import sys
import time

import torch

serve = sys.argv[1:2] == ["--serve"]
steps = 5 if serve or len(sys.argv) < 2 else int(sys.argv[1])
torch.manual_seed(0)
# PyTorch's own default here is 1 thread (it counts one physical core on the 2-vCPU machine);
# BENCH_TORCH_THREADS overrides it for the tuned figure.
torch.set_num_threads(int(os.environ.get("BENCH_TORCH_THREADS", torch.get_num_threads())))
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
if serve:
    print(json.dumps({"ready": True, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        times = []
        for _ in range(int(line)):
            t0 = time.perf_counter()
            step()
            times.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({"stepMs": times}), flush=True)
    sys.exit(0)
start = time.perf_counter()
for _ in range(steps):
    step()
elapsed = time.perf_counter() - start
print(json.dumps({"imagesPerSecond": 16 * steps / elapsed, "threads": torch.get_num_threads()}))
