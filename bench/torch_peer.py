"""PyTorch CPU as a peer of `npm run bench -- --peers torch`, measured in the same run as ours.

The bench starts this script once and sends it one JSON command per line on stdin; each answer is
one JSON line on stdout. The bench interleaves its own runs with the commands it sends here, so load
from other work on the machine falls on both sides alike. Times are taken here, around the work
only (no pipe in the clock), in milliseconds.

The search network mirrors src/search/model.ts, the DARTS/SGAS search network with every edge
mixed, and takes the same two shortcuts ours takes, so both sides do the same arithmetic: 'none'
is left out of each weighted sum (it adds w·0), and one relu(x) per edge serves every op that begins
with it. Commands:
  {"cmd": "info"}
  {"cmd": "gemm", "n": 1024, "reps": 5}                                  sgemm GFLOP/s, best of reps
  {"cmd": "op", "id": "...", "op": "sep_conv_3x3", "shape": [N, C, H, W], "stride": 1}
  {"cmd": "search", "id": "...", "C": 16, "layers": 8, "channels": 3, "side": 32, "batch": 64, "hyper": {...}}
  {"cmd": "run", "id": "...", "part": "fwd" | "fwdBwd" | "forward" | "architectStep" | "weightStep"}
  {"cmd": "release", "id": "..."}
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRIMITIVES = ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect',
              'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5']
STEPS = 4


class DwPwBn(nn.Module):
    """depthwise k×k → 1×1 conv → BN; its ReLU is applied by the caller (shared per edge)."""

    def __init__(self, C, k, stride, dilation):
        super().__init__()
        pad = dilation * (k - 1) // 2
        self.dw = nn.Conv2d(C, C, k, stride, pad, dilation, groups=C, bias=False)
        self.pw = nn.Conv2d(C, C, 1, bias=False)
        self.bn = nn.BatchNorm2d(C, affine=False)

    def forward(self, r):
        return self.bn(self.pw(self.dw(r)))


class SepConv(nn.Module):
    opens_with_relu = True

    def __init__(self, C, k, stride):
        super().__init__()
        self.first = DwPwBn(C, k, stride, 1)
        self.second = DwPwBn(C, k, 1, 1)

    def forward(self, r):
        return self.second(F.relu(self.first(r)))


class DilConv(DwPwBn):
    opens_with_relu = True

    def __init__(self, C, k, stride):
        super().__init__(C, k, stride, 2)


class FactorizedReduce(nn.Module):
    opens_with_relu = True

    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout // 2, 1, 2, bias=False)
        self.conv2 = nn.Conv2d(cin, cout // 2, 1, 2, bias=False)
        self.bn = nn.BatchNorm2d(cout, affine=False)

    def forward(self, r):
        return self.bn(torch.cat([self.conv1(r), self.conv2(r[:, :, 1:, 1:])], dim=1))


def relu_conv_bn(cin, cout):
    return nn.Sequential(nn.ReLU(), nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout, affine=False))


def pool_bn(C, kind, stride):
    pool = nn.MaxPool2d(3, stride, 1) if kind == 'max' else nn.AvgPool2d(3, stride, 1, count_include_pad=False)
    return nn.Sequential(pool, nn.BatchNorm2d(C, affine=False))


class Zero(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return x[:, :, ::self.stride, ::self.stride].mul(0.)


def operation(name, C, stride):
    return {
        'none': lambda: Zero(stride),
        'max_pool_3x3': lambda: pool_bn(C, 'max', stride),
        'avg_pool_3x3': lambda: pool_bn(C, 'avg', stride),
        'skip_connect': lambda: nn.Identity() if stride == 1 else FactorizedReduce(C, C),
        'sep_conv_3x3': lambda: SepConv(C, 3, stride),
        'sep_conv_5x5': lambda: SepConv(C, 5, stride),
        'dil_conv_3x3': lambda: DilConv(C, 3, stride),
        'dil_conv_5x5': lambda: DilConv(C, 5, stride),
    }[name]()


def apply(op, x, r=None):
    """op on x, where ops that begin with ReLU take relu(x) (computed once by the caller, or here)."""
    if not getattr(op, 'opens_with_relu', False):
        return op(x)
    return op(r if r is not None else F.relu(x))


class MixedOp(nn.Module):
    def __init__(self, C, stride):
        super().__init__()
        self.ops = nn.ModuleList(operation(name, C, stride) for name in PRIMITIVES[1:])

    def forward(self, x, weights):
        r = F.relu(x)
        return sum(w * apply(op, x, r) for w, op in zip(weights[1:], self.ops))


class Cell(nn.Module):
    def __init__(self, Cpp, Cp, C, reduction, reduction_prev):
        super().__init__()
        self.reduction = reduction
        self.pre0 = FactorizedReduce(Cpp, C) if reduction_prev else relu_conv_bn(Cpp, C)
        self.pre1 = relu_conv_bn(Cp, C)
        self.edges = nn.ModuleList()
        for i in range(STEPS):
            for j in range(2 + i):
                self.edges.append(MixedOp(C, 2 if reduction and j < 2 else 1))

    def forward(self, s0, s1, weights):
        states = [apply(self.pre0, s0), self.pre1(s1)]
        e = 0
        for i in range(STEPS):
            states.append(sum(self.edges[e + j](h, weights[e + j]) for j, h in enumerate(states)))
            e += len(states) - 1
        return torch.cat(states[2:], dim=1)


class Network(nn.Module):
    def __init__(self, C, layers, channels, classes=10, stem_multiplier=3):
        super().__init__()
        stem_c = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(channels, stem_c, 3, padding=1, bias=False), nn.BatchNorm2d(stem_c))
        Cpp, Cp, Cc = stem_c, stem_c, C
        reduction_prev = False
        self.cells = nn.ModuleList()
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                Cc *= 2
            self.cells.append(Cell(Cpp, Cp, Cc, reduction, reduction_prev))
            reduction_prev = reduction
            Cpp, Cp = Cp, 4 * Cc
        self.classifier = nn.Linear(Cp, classes)
        edges = sum(2 + i for i in range(STEPS))
        self.alphas_normal = nn.Parameter(1e-3 * torch.randn(edges, len(PRIMITIVES)))
        self.alphas_reduce = nn.Parameter(1e-3 * torch.randn(edges, len(PRIMITIVES)))

    def weights(self):
        return [p for name, p in self.named_parameters() if not name.startswith('alphas_')]

    def forward(self, x):
        s0 = s1 = self.stem(x)
        normal = F.softmax(self.alphas_normal, dim=-1)
        reduce = F.softmax(self.alphas_reduce, dim=-1)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, reduce if cell.reduction else normal)
        return self.classifier(F.adaptive_avg_pool2d(s1, 1).flatten(1))


class SearchStep:
    """forward / Architect step (first order, grads to the alphas only, Adam) / weight step (grads, clipping, SGD)."""

    def __init__(self, C, layers, channels, side, batch, hyper):
        torch.manual_seed(1)
        self.net = Network(C, layers, channels)
        self.alphas = [self.net.alphas_normal, self.net.alphas_reduce]
        self.sgd = torch.optim.SGD(self.net.weights(), hyper['lr'], momentum=hyper['momentum'], weight_decay=hyper['weightDecay'])
        self.adam = torch.optim.Adam(self.alphas, hyper['archLr'], betas=tuple(hyper['archBetas']), weight_decay=hyper['archWeightDecay'])
        self.clip = hyper['gradClip']
        self.train = (torch.randn(batch, channels, side, side), torch.randint(0, 10, (batch,)))
        self.valid = (torch.randn(batch, channels, side, side), torch.randint(0, 10, (batch,)))

    def forward(self):
        with torch.no_grad():
            self.net(self.train[0]).numpy()

    def requires_grad(self, weights, alphas):
        for p in self.net.weights():
            p.requires_grad_(weights)
        for a in self.alphas:
            a.requires_grad_(alphas)

    def architectStep(self):
        self.requires_grad(False, True)
        self.adam.zero_grad(set_to_none=True)
        x, y = self.valid
        F.cross_entropy(self.net(x), y).backward()
        self.adam.step()

    def weightStep(self):
        self.requires_grad(True, False)
        self.sgd.zero_grad(set_to_none=True)
        x, y = self.train
        logits = self.net(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(self.net.weights(), self.clip)
        self.sgd.step()
        loss.item(), logits.detach().numpy(), norm.item()


class OpCase:
    """One primitive at one shape: forward (no grad), and forward+backward to the input and weights."""

    def __init__(self, name, shape, stride):
        torch.manual_seed(1)
        N, C, H, W = shape
        self.op = operation(name, C, stride)
        self.x = torch.randn(N, C, H, W)
        with torch.no_grad():
            self.upstream = torch.randn_like(apply(self.op, self.x))

    def fwd(self):
        with torch.no_grad():
            apply(self.op, self.x)

    def fwdBwd(self):
        x = self.x.detach().requires_grad_(True)
        y = apply(self.op, x)
        if y is x:
            y = y.clone()
        params = [x, *self.op.parameters()]
        torch.autograd.grad(y, params, self.upstream)


def gemm_gflops(n, reps):
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = float('inf')
    for _ in range(reps + 1):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--threads', type=int, required=True)
    threads = parser.parse_args().threads
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    cases = {}
    for line in sys.stdin:
        command = json.loads(line)
        try:
            kind = command['cmd']
            if kind == 'info':
                answer = {'version': torch.__version__, 'threads': torch.get_num_threads(), 'mkldnn': torch.backends.mkldnn.is_available(),
                          'ompWaitPolicy': os.environ.get('OMP_WAIT_POLICY', 'default (active)')}
            elif kind == 'gemm':
                answer = {'gflops': gemm_gflops(command['n'], command.get('reps', 5))}
            elif kind == 'op':
                cases[command['id']] = OpCase(command['op'], command['shape'], command['stride'])
                answer = {}
            elif kind == 'search':
                c = command
                cases[c['id']] = SearchStep(c['C'], c['layers'], c['channels'], c['side'], c['batch'], c['hyper'])
                answer = {}
            elif kind == 'run':
                run = getattr(cases[command['id']], command['part'])
                start = time.perf_counter()
                run()
                answer = {'ms': 1000 * (time.perf_counter() - start)}
            elif kind == 'release':
                cases.pop(command['id'], None)
                answer = {}
            else:
                raise ValueError(f'unknown command {kind!r}')
        except Exception as error:  # answered, so the bench can report it and go on
            answer = {'error': f'{type(error).__name__}: {error}'}
        print(json.dumps(answer), flush=True)


if __name__ == '__main__':
    main()
