"""The CIFAR-10 ResNets of akamaster/pytorch_resnet_cifar10 (resnet.py @ d5489e89) in torch.

He et al. 2016, section 4.2: a 3x3 conv to 16 channels, three stages of n basic blocks at 16, 32
and 64 channels (depth 6n + 2), global average pool, linear. The shortcut of a block that halves
the size is "option A": parameter-free, x[:, :, ::2, ::2] with planes/4 zero channels padded on
each side, written as a LambdaLayer. The module names are akamaster's, which are also fovea's
(include/fovea/models/resnet_cifar.hpp), so this model's state_dict is the list of tensors a
resnetN_cifar weights file must hold, and its forward is the oracle for fovea's.
"""

import torch.nn.functional as F
from torch import nn

DEPTHS = (20, 32, 44, 56, 110)
ARCHITECTURES = tuple(f"resnet{d}_cifar" for d in DEPTHS)


class LambdaLayer(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            pad = planes // 4
            self.shortcut = LambdaLayer(
                lambda x: F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, pad), "constant", 0)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    def __init__(self, blocks_per_stage, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        in_planes = 16
        for stage, planes in enumerate((16, 32, 64)):
            blocks = []
            for b in range(blocks_per_stage):
                stride = 2 if (b == 0 and stage > 0) else 1
                blocks.append(BasicBlock(in_planes, planes, stride))
                in_planes = planes
            setattr(self, f"layer{stage + 1}", nn.Sequential(*blocks))
        self.linear = nn.Linear(64, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.avg_pool2d(out, out.size()[3])
        return self.linear(out.view(out.size(0), -1))


def build_model(name, num_classes=10):
    """resnet20_cifar ... resnet110_cifar, freshly initialised by torch's defaults."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown CIFAR ResNet '{name}' (known: {', '.join(ARCHITECTURES)})")
    depth = int(name[len("resnet"):-len("_cifar")])
    return CifarResNet((depth - 2) // 6, num_classes)

