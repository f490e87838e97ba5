#!/usr/bin/python3
"""Small TorchScript models that libtorch refuses in unhelpful words, for
tests/test_extract_messages.c (issue 15, item 5: messages).

Usage: /usr/bin/python3 tests/ref/extract_message_models.py OUTDIR

Writes (random weights, fixed seed, no downloads; nothing committed):
  two_inputs.pt   forward(x, y): needs two tensors
  scalar_out.pt   forward(x) returns x.sum(): a 0-d tensor, no batch axis
  rgb_conv.pt     a 3-channel convolution, for grey inputs
  many_layers.pt  a Sequential of 70 named layers (block_00 .. block_69)
  ok              written last
"""
import os
import sys

import torch
import torch.nn as nn


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x, y):
        return self.fc(x.flatten(1)) + self.fc(y.flatten(1))


class ScalarOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x.flatten(1)).sum()


class RgbConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1)

    def forward(self, x):
        return self.conv(x)


class Many(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential()
        for i in range(70):
            self.body.add_module("block_%02d" % i, nn.ReLU())

    def forward(self, x):
        return self.body(x)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(15)
    for name, m in (("two_inputs", TwoInputs()), ("scalar_out", ScalarOut()),
                    ("rgb_conv", RgbConv()), ("many_layers", Many())):
        torch.jit.save(torch.jit.script(m.eval()),
                       os.path.join(out, name + ".pt"))
    open(os.path.join(out, "ok"), "w").close()


if __name__ == "__main__":
    main()
