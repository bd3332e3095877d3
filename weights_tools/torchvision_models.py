"""The torchvision classifiers fovea can run: building them and describing their preprocessing.

Shared by export_torchvision.py and torch_logits.py. fovea's architecture names are torchvision's.
"""

import torch
import torchvision

ARCHITECTURES = (
    ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "mobilenet_v2"]
    + [f"efficientnet_b{i}" for i in range(8)]
    + [f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn")]
    + ["alexnet"]
)

# What the brief for fovea's model format promises when torchvision knows nothing better.
DEFAULT_PREPROCESSING = {
    "resize": 256,
    "crop": 224,
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
    "scale": 1 / 255,
    "channel_order": "RGB",
    "interpolation": "bilinear",
}


def check_architecture(name):
    if name not in ARCHITECTURES:
        raise SystemExit(
            f"error: unknown model '{name}'. Known models: {', '.join(ARCHITECTURES)}"
        )


def build_model(name, num_classes):
    """A freshly initialised torchvision model (torch's global RNG decides the weights)."""
    check_architecture(name)
    return getattr(torchvision.models, name)(weights=None, num_classes=num_classes)


def classifier_weight_key(model):
    """The state_dict key of the final Linear layer's weight, whose rows are the classes."""
    names = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    return names[-1] + ".weight"


def preprocessing_for(name):
    """Resize, crop, mean, std and interpolation of torchvision's IMAGENET1K_V1 weights.

    Only the weight enums are read (no download). Later weight versions (e.g. ResNet-50 V2) were
    trained with other resize sizes: override them with the exporter's --resize and --crop.
    """
    pre = dict(DEFAULT_PREPROCESSING)
    try:
        transforms = torchvision.models.get_model_weights(name)["IMAGENET1K_V1"].transforms()
    except (KeyError, ValueError, AttributeError):
        return pre
    pre["resize"] = int(transforms.resize_size[0])
    pre["crop"] = int(transforms.crop_size[0])
    pre["mean"] = [float(v) for v in transforms.mean]
    pre["std"] = [float(v) for v in transforms.std]
    pre["interpolation"] = transforms.interpolation.value
    return pre
