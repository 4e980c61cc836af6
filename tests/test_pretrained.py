"""convlab.pretrained: the shipped classifier loads and classifies; its script trains and saves."""

import numpy as np
import pytest
import torch

from convlab.data import make_shape_crops
from convlab.fcn import FCN, Classifier
from convlab.pretrained import load_classifier
from convlab.pretrained.make_classifier import SETTINGS, main, save, train_classifier


def test_shipped_classifier_loads_and_recognises_fresh_crops():
    clf = load_classifier()
    assert isinstance(clf, Classifier) and not clf.training
    assert clf.history["val_accuracy"][-1] > 0.95
    images, labels = make_shape_crops(200, size=clf.input_size, seed=12345)  # never seen in training
    with torch.no_grad():
        accuracy = float((clf(torch.from_numpy(images)).argmax(1).numpy() == labels).mean())
    assert accuracy > 0.9, accuracy  # a chance classifier scores 0.25
    net = FCN.from_classifier(clf, "8s")
    assert tuple(net(torch.zeros(1, 3, 128, 128)).shape) == (1, 4, 128, 128)


def test_short_run_lowers_the_loss_and_round_trips(tmp_path):
    tiny = dict(SETTINGS, width=2, fc_channels=16)
    torch.manual_seed(0)
    clf, history = train_classifier(
        n_train=128, n_val=32, epochs=3, batch_size=32, settings=tiny, verbose=False
    )
    assert len(history["loss"]) == 3 and history["loss"][-1] < history["loss"][0]
    path = save(clf, history, tmp_path / "tiny.pt")
    again = load_classifier(path)
    x = torch.from_numpy(make_shape_crops(4, size=96, seed=1)[0])
    with torch.no_grad():
        torch.testing.assert_close(again(x), clf(x))
    assert again.history["loss"] == pytest.approx(history["loss"])


def test_command_line_writes_a_loadable_file(tmp_path, monkeypatch, capsys):
    import convlab.pretrained.make_classifier as script

    monkeypatch.setattr(script, "SETTINGS", dict(SETTINGS, width=2, fc_channels=8))
    path = main(["--out", str(tmp_path / "c.pt"), "--epochs", "1", "--n-train", "64"])
    assert "wrote" in capsys.readouterr().out
    assert np.isfinite(load_classifier(path).history["loss"][0])


def test_bad_input():
    with pytest.raises(FileNotFoundError, match="path"):
        load_classifier("/nonexistent/classifier.pt")
    with pytest.raises(ValueError, match="n_train"):
        train_classifier(n_train=0)
