"""The benchmark's networks in PyTorch, laid out exactly as the engine builds them from
the study's vocabulary (NCHW; regularizer layers at the study's places)."""


def build(torch, kind, variant, size=96):
    """kind mlp or cnn/cnn1 on size x size x 3 images; variant none, dropout.., noise..,
    batch_normal..."""
    nn = torch.nn

    class Noise(nn.Module):
        def __init__(self, std):
            super().__init__()
            self.std = std

        def forward(self, x):
            return x + torch.randn_like(x) * self.std if self.training else x

    def reg():
        if variant.startswith("dropout"):
            return [nn.Dropout(p=0.4)]
        if variant.startswith("noise"):
            return [Noise(0.01)]
        return []

    bn = variant.startswith("batch_normal")
    if kind == "mlp":
        layers = [nn.Flatten()]
        for a, b in ((size * size * 3, 30), (30, 10)):
            layers += [nn.Linear(a, b), nn.ReLU()] + reg()
            if bn:
                layers.append(nn.BatchNorm1d(b, eps=1e-10, momentum=0.001))
        return nn.Sequential(*layers, nn.Linear(10, 5))
    layers = []
    for cin, cout, pool in ((3, 6, nn.MaxPool2d(2)), (6, 12, nn.MaxPool2d(2)), (12, 24, nn.AvgPool2d(3))):
        if variant.startswith("noise"):
            layers.append(Noise(0.01))        # cnn3: before each conv
        if bn:
            layers.append(nn.BatchNorm2d(cin, eps=1e-10, momentum=0.001))   # cnn4
        layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), pool]
        if variant.startswith("dropout"):
            layers.append(nn.Dropout(p=0.4))  # cnn2: after each pooling
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear((size // 12) ** 2 * 24, 5))
