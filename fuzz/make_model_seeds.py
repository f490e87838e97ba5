"""Seed corpus of fuzz_model: tiny TorchScript files and near-misses.

Run with Debian's python3 from the repository root:
    /usr/bin/python3 fuzz/make_model_seeds.py
"""
import io
import zipfile

import torch

OUT = "fuzz/corpus/model"


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)
        self.act = torch.nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x))


class Tiny(torch.nn.Module):
    def forward(self, x):
        return x + 1


def main():
    torch.manual_seed(0)
    torch.jit.save(torch.jit.script(Net()), f"{OUT}/linear.pt")
    torch.jit.save(torch.jit.script(Tiny()), f"{OUT}/tiny.pt")
    data = open(f"{OUT}/tiny.pt", "rb").read()
    open(f"{OUT}/truncated.pt", "wb").write(data[: len(data) // 2])
    torch.save(Net().state_dict(), f"{OUT}/state_dict.pt")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:  # a zip that is not TorchScript
        z.writestr("archive/version", "3\n")
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    open(f"{OUT}/plain.zip", "wb").write(buf.getvalue())


if __name__ == "__main__":
    main()
