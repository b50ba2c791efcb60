"""The seed recipe as a plain PyTorch loop, the way Keras' fit runs it: the frozen VGG16 base
runs forward on every batch of every epoch. Images are decoded once (PIL, bilinear resize to
224, Keras caffe preprocessing) so decoding is not what is measured. Prints seconds as JSON.

    /usr/bin/python3 bench/recipe_torch.py <data-dir> <epochs> <batch-size>
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torchvision
from PIL import Image

data, epochs, batch_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(0)
# PyTorch defaults to 1 thread on this 2-vCPU machine; give it every core, as vggkit's ORT has.
torch.set_num_threads(os.cpu_count() or 1)
classes = sorted(d for d in os.listdir(data) if os.path.isdir(os.path.join(data, d)))
files, labels = [], []
for label, name in enumerate(classes):
    for f in sorted(os.listdir(os.path.join(data, name))):
        files.append(os.path.join(data, name, f))
        labels.append(label)

mean = np.array([103.939, 116.779, 123.68], dtype=np.float32)
def load(path):
    rgb = np.asarray(Image.open(path).convert("RGB").resize((224, 224), Image.BILINEAR), dtype=np.float32)
    return (rgb[:, :, ::-1] - mean).transpose(2, 0, 1)

started = time.perf_counter()
x_all = torch.from_numpy(np.stack([load(f) for f in files]))
y_all = torch.tensor(labels)
decoded = time.perf_counter()

base = torchvision.models.vgg16().features
for p in base.parameters():
    p.requires_grad = False
base.eval()
head = torch.nn.Sequential(
    torch.nn.Flatten(), torch.nn.Linear(25088, 256), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(256, len(classes))
)
optimizer = torch.optim.Adam(head.parameters(), lr=1e-4, eps=1e-7)
loss_fn = torch.nn.CrossEntropyLoss()
for epoch in range(epochs):
    order = torch.randperm(len(files))
    for i in range(0, len(files), batch_size):
        idx = order[i : i + batch_size]
        with torch.no_grad():
            features = base(x_all[idx])
        loss = loss_fn(head(features), y_all[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
finished = time.perf_counter()
print(json.dumps({"decode_seconds": decoded - started, "train_seconds": finished - decoded, "total_seconds": finished - started}))
