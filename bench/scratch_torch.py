"""PyTorch figure for bench/scratch.ts: VGG16 from scratch at 32x32 (all 13 convs trainable) plus
the seed head Flatten-Dense256-ReLU-Dropout-Dense, Adam 1e-4, batch B, E epochs over the training
folder, validating on the test folder after every epoch as Keras' fit does. Images are decoded with
PIL (RGB, bilinear resize to 32, Keras caffe preprocessing), inside the timed span like vggkit's.
Prints one JSON line: seconds, final validation accuracy, peak RSS.

    /usr/bin/python3 bench/scratch_torch.py <train-dir> <test-dir> <epochs> <batch-size>
BENCH_TORCH_THREADS sets the thread count (PyTorch's default here is 1)."""
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torchvision
from PIL import Image

train_dir, test_dir, epochs, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(0)
torch.set_num_threads(int(os.environ.get("BENCH_TORCH_THREADS", torch.get_num_threads())))
mean = np.array([103.939, 116.779, 123.68], dtype=np.float32)


def folder(path, classes=None):
    classes = classes or sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)))
    xs, ys = [], []
    for label, name in enumerate(classes):
        for f in sorted(os.listdir(os.path.join(path, name))):
            rgb = np.asarray(Image.open(os.path.join(path, name, f)).convert("RGB").resize((32, 32), Image.BILINEAR), dtype=np.float32)
            xs.append((rgb[:, :, ::-1] - mean).transpose(2, 0, 1))
            ys.append(label)
    return torch.from_numpy(np.stack(xs)), torch.tensor(ys), classes


started = time.perf_counter()
x_train, y_train, classes = folder(train_dir)
x_test, y_test, _ = folder(test_dir, classes)
model = torch.nn.Sequential(
    torchvision.models.vgg16().features,
    torch.nn.Flatten(),
    torch.nn.Linear(512, 256),
    torch.nn.ReLU(),
    torch.nn.Dropout(0.5),
    torch.nn.Linear(256, len(classes)),
)
opt = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-7)
loss_fn = torch.nn.CrossEntropyLoss()
accuracy = 0.0
for epoch in range(epochs):
    model.train()
    order = torch.randperm(len(y_train))
    for i in range(0, len(order), batch):
        idx = order[i : i + batch]
        loss = loss_fn(model(x_train[idx]), y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y_test), batch):
            correct += (model(x_test[i : i + batch]).argmax(1) == y_test[i : i + batch]).sum().item()
    accuracy = correct / len(y_test)
print(json.dumps({
    "seconds": time.perf_counter() - started,
    "valAccuracy": accuracy,
    "threads": torch.get_num_threads(),
    "maxRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
